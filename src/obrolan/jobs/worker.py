"""The in-process worker: claims due jobs, runs their handlers, records each outcome.

Delivery is at least once: a job whose worker dies mid-run is claimed again when its
lease runs out, so handlers must be safe to run twice. Claims and outcomes are short
write transactions of their own; handlers run outside the write lock, so background
work never holds up a chat send (which shares that lock) for longer than one of them.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import random
import socket
from collections.abc import Awaitable, Callable
from datetime import timedelta

import structlog

from obrolan.ids import new_id
from obrolan.jobs import store
from obrolan.jobs.rules import JobState, after_failure
from obrolan.jobs.service import Job, JobQueue, job_from_row
from obrolan.jobs.store import JobRow

Handler = Callable[[Job], Awaitable[None]]

log = structlog.get_logger("obrolan.jobs")

# On stop, a running handler gets this long to finish before it is cancelled (its job
# then runs again elsewhere once its lease runs out).
STOP_GRACE_SECONDS = 5.0


class Worker:
    def __init__(
        self,
        queue: JobQueue,
        *,
        poll_seconds: float,
        lease: timedelta,
        batch: int,
        name: str | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.queue = queue
        self.poll_seconds = poll_seconds
        self.lease = lease
        self.batch = batch
        # Unique per claim-holder, so an outcome is written only by the claim that ran it.
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{new_id()[-6:]}"[:64]
        self.rng = rng or random.SystemRandom()
        self.handlers: dict[str, Handler] = {}
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    def handle(self, kind: str) -> Callable[[Handler], Handler]:
        """Register the handler of one kind of job; only kinds with a handler are claimed."""

        def register(handler: Handler) -> Handler:
            self.handlers[kind] = handler
            self.queue.wake()
            return handler

        return register

    def start(self) -> None:
        self._stopping = False
        self._task = asyncio.create_task(self._run(), name=f"jobs worker {self.name}")

    async def stop(self) -> None:
        if self._task is None:
            return
        self._stopping = True
        self.queue.wake()
        done, _ = await asyncio.wait([self._task], timeout=STOP_GRACE_SECONDS)
        if not done:
            self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None

    async def _run(self) -> None:
        while not self._stopping:
            # Cleared before looking, so a job queued while we look wakes the next wait.
            self.queue.queued.clear()
            try:
                ran = await self.run_due()
            except Exception:
                # A database hiccup must not end the worker; the next poll tries again.
                log.exception("job claim failed")
                ran = 0
            if ran or self._stopping:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.queue.queued.wait(), self.poll_seconds)

    async def run_due(self) -> int:
        """Claim one batch of due jobs and run them; how many were claimed."""
        claimed = await self._claim()
        for index, row in enumerate(claimed):
            if self._stopping:
                break  # the rest are claimed again once their lease runs out
            if index:
                # A job's lease counts from when its handler starts, not from the claim:
                # else one late in the batch could run out mid-run and run twice.
                renewed = await self._renew(row)
                if renewed is None:
                    continue  # its lease ran out while it waited: another claim has it
                row = renewed
            await self._run_one(row)
        return len(claimed)

    async def _renew(self, row: JobRow) -> JobRow | None:
        async with self.queue.stream.transaction() as tx:
            lease_until = tx.now + self.lease
            if not await store.renew_lease(tx.conn, row, tx.now, lease_until):
                return None
        return dataclasses.replace(row, lease_until=lease_until)

    async def _claim(self) -> list[JobRow]:
        kinds = sorted(self.handlers)
        if not kinds:
            return []
        # Most polls find nothing: look first with a read, so that an idle worker never
        # takes the write lock that chat sends wait on.
        async with self.queue.db.read() as conn:
            if not await store.has_work(conn, kinds, self.queue.clock.now()):
                return []
        async with self.queue.stream.transaction() as tx:
            buried = await store.bury_abandoned(tx.conn, kinds, tx.now)
            if buried:
                log.warning("jobs abandoned with no attempts left", count=buried)
            return await store.claim_jobs(
                tx.conn,
                kinds,
                tx.now,
                worker=self.name,
                lease_until=tx.now + self.lease,
                limit=self.batch,
            )

    async def _run_one(self, row: JobRow) -> None:
        job = job_from_row(row)
        handler = self.handlers.get(job.kind)
        try:
            if handler is None:
                raise LookupError(f"no handler for {job.kind}")
            await handler(job)
        except Exception as exc:
            await self._record_failure(row, exc)
            return
        async with self.queue.stream.transaction() as tx:
            await store.settle_claimed(
                tx.conn, row, {"state": JobState.DONE, "finished_at": tx.now, "last_error": None}
            )

    async def _record_failure(self, row: JobRow, exc: Exception) -> None:
        # Only the type's name: an exception's message may carry personal data.
        error = type(exc).__name__[:200]
        async with self.queue.stream.transaction() as tx:
            outcome = after_failure(
                attempts=row.attempts,
                max_attempts=row.max_attempts,
                expires_at=row.expires_at,
                now=tx.now,
                rng=self.rng,
            )
            await store.settle_claimed(
                tx.conn,
                row,
                {
                    "state": outcome.state,
                    "run_at": outcome.run_at,
                    "last_error": error,
                    "finished_at": tx.now if outcome.state is JobState.DEAD else None,
                },
            )
        log.warning(
            "job failed",
            job_id=row.id,
            kind=row.kind,
            attempts=row.attempts,
            error=error,
            state=str(outcome.state),
            retry_at=outcome.run_at.isoformat() if outcome.state is JobState.FAILED else None,
        )
