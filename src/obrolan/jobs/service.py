"""The job queue: enqueue in the caller's transaction; list, retry and cancel for operators."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson

from obrolan.clock import Clock
from obrolan.db import Database
from obrolan.errors import Conflict, NotFound
from obrolan.ids import new_id
from obrolan.jobs import store
from obrolan.jobs.rules import DEFAULT_MAX_ATTEMPTS, RETRYABLE, JobState
from obrolan.jobs.store import JobRow
from obrolan.realtime.stream import EventStream, Transaction

LIST_MAX = 1000


@dataclass(frozen=True, slots=True)
class Job:
    """A job as handlers and operators see it; `payload` is the decoded JSON."""

    id: str
    kind: str
    payload: dict[str, Any]
    state: JobState
    attempts: int
    max_attempts: int
    run_at: datetime
    created_at: datetime
    last_error: str | None
    finished_at: datetime | None


def job_from_row(row: JobRow) -> Job:
    return Job(
        id=row.id,
        kind=row.kind,
        payload=orjson.loads(row.payload),
        state=JobState(row.state),
        attempts=row.attempts,
        max_attempts=row.max_attempts,
        run_at=row.run_at,
        created_at=row.created_at,
        last_error=row.last_error,
        finished_at=row.finished_at,
    )


@dataclass(frozen=True, slots=True)
class QueueCounts:
    """What /metrics reports: unfinished jobs per state, and how late the oldest due one is."""

    by_state: dict[JobState, int]
    oldest_due_age_seconds: float


class JobQueue:
    def __init__(self, db: Database, stream: EventStream, clock: Clock) -> None:
        self.db = db
        self.stream = stream
        self.clock = clock
        # Set after a commit that queued a job; the in-process worker waits on it.
        self.queued = asyncio.Event()

    def wake(self) -> None:
        """Make the worker look for due jobs now rather than at its next poll."""
        self.queued.set()

    async def enqueue(
        self,
        tx: Transaction,
        kind: str,
        payload: dict[str, Any],
        *,
        key: str | None = None,
        run_at: datetime | None = None,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        max_age: timedelta | None = None,
    ) -> bool:
        """Queue a job in `tx`, so it exists exactly when the change causing it commits.

        `payload` names what to work on by id, never personal content. A `key` already
        queued (in any state) means this one is not: returns False.
        """
        inserted = await store.insert_job(
            tx.conn,
            {
                "id": new_id(),
                "kind": kind,
                "payload": orjson.dumps(payload),
                "idempotency_key": key,
                "state": JobState.QUEUED,
                "attempts": 0,
                "max_attempts": max_attempts,
                "expires_at": tx.now + max_age if max_age is not None else None,
                "run_at": run_at or tx.now,
                "created_at": tx.now,
            },
        )
        if inserted:
            tx.after_commit(self.wake)
        return inserted

    async def get(self, job_id: str) -> Job:
        async with self.db.read() as conn:
            row = await store.job_by_id(conn, job_id)
        if row is None:
            raise NotFound("no such job", field="id")
        return job_from_row(row)

    async def get_by_key(self, key: str) -> Job | None:
        async with self.db.read() as conn:
            row = await store.job_by_key(conn, key)
        return job_from_row(row) if row else None

    async def list(self, state: JobState | None = None, limit: int = 100) -> list[Job]:
        """The newest jobs first, of one state or all."""
        async with self.db.read() as conn:
            rows = await store.list_jobs(conn, state, min(max(limit, 1), LIST_MAX))
        return [job_from_row(r) for r in rows]

    async def retry(self, job_id: str) -> Job:
        """Put a failed or dead job back in the queue, due now, with fresh attempts."""
        async with self.stream.transaction() as tx:
            changed = await store.set_state(
                tx.conn,
                job_id,
                RETRYABLE,
                {
                    "state": JobState.QUEUED,
                    "attempts": 0,
                    "run_at": tx.now,
                    "expires_at": None,
                    "finished_at": None,
                },
            )
            if not changed:
                await self._refuse(tx, job_id, "only a failed or dead job can be retried")
            tx.after_commit(self.wake)
        return await self.get(job_id)

    async def cancel(self, job_id: str) -> Job:
        """Cancel a job that waits to run; a running one finishes its attempt."""
        async with self.stream.transaction() as tx:
            changed = await store.set_state(
                tx.conn,
                job_id,
                (JobState.QUEUED, JobState.FAILED),
                {"state": JobState.CANCELLED, "finished_at": tx.now},
            )
            if not changed:
                await self._refuse(tx, job_id, "only a queued or failed job can be cancelled")
        return await self.get(job_id)

    async def _refuse(self, tx: Transaction, job_id: str, detail: str) -> None:
        row = await store.job_by_id(tx.conn, job_id)
        if row is None:
            raise NotFound("no such job", field="id")
        raise Conflict(f"{detail}; this one is {row.state}", field="id")

    async def counts(self) -> QueueCounts:
        async with self.db.read() as conn:
            rows = await store.count_by_state(conn)
        now = self.clock.now()
        by_state: dict[JobState, int] = {
            state: 0 for state in JobState if state not in (JobState.DONE, JobState.CANCELLED)
        }
        oldest: datetime | None = None
        for row in rows:
            by_state[JobState(row.state)] = row.count
            if row.state in (JobState.QUEUED, JobState.FAILED) and row.oldest_run_at is not None:
                oldest = row.oldest_run_at if oldest is None else min(oldest, row.oldest_run_at)
        # The earliest run_at of all waiting jobs is the oldest due one's, if it is due.
        age = max(0.0, (now - oldest).total_seconds()) if oldest is not None else 0.0
        return QueueCounts(by_state, age)
