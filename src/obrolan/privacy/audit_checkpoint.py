"""Audit checkpoints (R7): a recurring job that writes the audit log's head to the log.

The log output is kept apart from the database (a log collector, a journal), so an
`audit checkpoint` event there is evidence a cut-short or rebuilt table cannot match:
`obrolan audit verify --checkpoint SEQ:HEX` checks the table against it. The same job
expires lawful access requests whose window has ended (so the expiry is in the chain
before the head is written) and removes finished ones past the audit log's retention.
Like the retention sweep it queues its own next run, keyed by its period.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import structlog

from obrolan.clock import Clock
from obrolan.config import Settings
from obrolan.db import Database
from obrolan.jobs import Job, JobQueue, Worker
from obrolan.jobs.rules import period_start
from obrolan.privacy.audit import AuditLog, Head
from obrolan.privacy.lawful_access import LawfulAccessService
from obrolan.realtime.stream import EventStream

CHECKPOINT_KIND = "audit.checkpoint"
CHECKPOINT_EVENT = "audit checkpoint"

LOGGER = "obrolan.privacy.audit"


def checkpoint_key(start: datetime) -> str:
    return f"{CHECKPOINT_KIND}:{start.isoformat()}"


class AuditCheckpoints:
    def __init__(
        self,
        settings: Settings,
        db: Database,
        stream: EventStream,
        queue: JobQueue,
        audit: AuditLog,
        lawful_access: LawfulAccessService,
        clock: Clock,
    ) -> None:
        self.db = db
        self.stream = stream
        self.queue = queue
        self.audit = audit
        self.lawful_access = lawful_access
        self.clock = clock
        self.period = timedelta(seconds=settings.audit_checkpoint_seconds)

    def register(self, worker: Worker) -> None:
        worker.handle(CHECKPOINT_KIND)(self.run)

    async def schedule_first(self) -> None:
        """Queue this period's checkpoint, due now, unless this period's is already queued."""
        async with self.stream.transaction() as tx:
            start = period_start(tx.now, self.period)
            await self.queue.enqueue(
                tx, CHECKPOINT_KIND, {}, key=checkpoint_key(start), run_at=tx.now
            )

    async def run(self, _job: Job) -> None:
        async with self.stream.transaction() as tx:
            # The next run first: one that fails is retried, and the schedule goes on.
            following = period_start(tx.now, self.period) + self.period
            await self.queue.enqueue(
                tx, CHECKPOINT_KIND, {}, key=checkpoint_key(following), run_at=following
            )
        expired = await self.lawful_access.expire_lapsed()
        removed = await self.lawful_access.prune(self.clock.now())
        await self.checkpoint(
            next_run=following.isoformat(),
            lawful_access_expired=expired,
            lawful_access_removed=removed,
        )

    async def checkpoint(self, **extra: object) -> Head:
        """Write the head to the log output as `audit checkpoint`; the head."""
        head = await self.audit.head(self.db)
        # Looked up per call (once an hour): a logger cached at first use would keep the
        # configuration of that moment, and a test's capture would never see the event.
        structlog.get_logger(LOGGER).info(
            CHECKPOINT_EVENT,
            seq=head.seq,
            hash=None if head.hash is None else head.hash.hex(),
            entries=head.entries,
            checkpoint=None
            if head.seq is None or head.hash is None
            else f"{head.seq}:{head.hash.hex()}",
            **extra,
        )
        return head
