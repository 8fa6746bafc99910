"""The retention sweep (R17): a recurring job that deletes what the retention rules let go.

Sessions ended (revoked or expired) 90 days ago, sign-in failures and throttled actions
whose counting window has passed, and finished jobs past the "jobs" rule. The sweep
queues its own next run, keyed by the period it runs in, so restarts and several
processes never queue it twice.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from functools import partial

import structlog
from sqlalchemy.ext.asyncio import AsyncConnection

from obrolan.accounts import store as accounts_store
from obrolan.accounts import throttle_store
from obrolan.accounts.rules import SessionLifetime
from obrolan.accounts.throttle import action_windows
from obrolan.clock import Clock
from obrolan.config import Settings
from obrolan.jobs import Job, JobQueue, Worker
from obrolan.jobs import store as jobs_store
from obrolan.jobs.rules import DEAD_KEPT, DONE_KEPT, period_start
from obrolan.privacy.retention import session_purge, throttle_cutoff
from obrolan.realtime.stream import EventStream

SWEEP_KIND = "retention.sweep"
# Rows deleted per transaction: small enough that a send waiting for the write lock
# waits milliseconds, not the whole sweep.
DELETE_BATCH = 500

log = structlog.get_logger("obrolan.privacy.sweep")

Deletion = Callable[[AsyncConnection, int], Awaitable[int]]


def sweep_key(start: datetime) -> str:
    return f"{SWEEP_KIND}:{start.isoformat()}"


class RetentionSweep:
    def __init__(
        self,
        settings: Settings,
        stream: EventStream,
        queue: JobQueue,
        session_lifetime: SessionLifetime,
        clock: Clock,
    ) -> None:
        self.settings = settings
        self.stream = stream
        self.queue = queue
        self.session_lifetime = session_lifetime
        self.clock = clock
        self.period = timedelta(seconds=settings.retention_sweep_seconds)

    def register(self, worker: Worker) -> None:
        worker.handle(SWEEP_KIND)(self.run)

    async def schedule_first(self) -> None:
        """Queue this period's sweep, due now, unless this period's is already queued."""
        async with self.stream.transaction() as tx:
            start = period_start(tx.now, self.period)
            await self.queue.enqueue(tx, SWEEP_KIND, {}, key=sweep_key(start), run_at=tx.now)

    async def run(self, _job: Job) -> None:
        async with self.stream.transaction() as tx:
            # The next run first: a sweep that fails is retried, and the schedule goes on.
            following = period_start(tx.now, self.period) + self.period
            await self.queue.enqueue(tx, SWEEP_KIND, {}, key=sweep_key(following), run_at=following)
        removed = await self.sweep(self.clock.now())
        log.info("retention sweep", next_run=following.isoformat(), **removed)

    async def sweep(self, now: datetime) -> dict[str, int]:
        """Delete everything past its rule at `now`; rows removed per table."""
        sessions = session_purge(self.session_lifetime, now)
        failures_cutoff = throttle_cutoff(now, self.settings.login_window_seconds)
        removed = {
            "auth_sessions": await self._delete_all(
                lambda conn, limit: accounts_store.delete_ended_sessions(
                    conn, ended=sessions.ended, revoked_before=sessions.revoked_before, limit=limit
                )
            ),
            "login_failures": await self._delete_all(
                lambda conn, limit: throttle_store.delete_old_failures(conn, failures_cutoff, limit)
            ),
            "verification_codes": await self._delete_all(
                lambda conn, limit: accounts_store.delete_expired_codes(conn, now, limit)
            ),
            "throttled_actions": 0,
            "jobs": await self._delete_all(
                lambda conn, limit: jobs_store.delete_finished(
                    conn, done_before=now - DONE_KEPT, dead_before=now - DEAD_KEPT, limit=limit
                )
            ),
        }
        for scope, window in action_windows(self.settings).items():
            removed["throttled_actions"] += await self._delete_all(
                partial(
                    throttle_store.delete_old_actions,
                    scope=scope,
                    cutoff=throttle_cutoff(now, window),
                )
            )
        return removed

    async def _delete_all(self, deletion: Deletion) -> int:
        total = 0
        while True:
            async with self.stream.transaction() as tx:
                count = await deletion(tx.conn, DELETE_BATCH)
            total += count
            if count < DELETE_BATCH:
                return total
