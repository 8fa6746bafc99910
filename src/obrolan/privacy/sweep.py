"""The retention sweep (R5, R17): a recurring job that deletes what the retention rules let go.

Sessions ended (revoked or expired) 90 days ago (less when logs are kept less, R5),
sign-in failures and throttled actions whose counting window has passed, expired
verification codes, finished jobs past the "jobs" rule, the messages of rooms with
disappearing messages on, once their room's period has passed, exports past their
download period (R1), audit-log entries past
the log period (R5) and backups past theirs (R4, R5). The sweep queues its own
next run, keyed by the period it runs in, so restarts and several processes never queue
it twice.

What it deletes is a list of named deletions (`Deletion`), each a batch at a time in a
short transaction of its own, so that sends waiting for the write lock wait
milliseconds, never the whole sweep. Each run leaves evidence in the audit log
(`retention.run`): per rule, the rows removed per table and the age of the oldest row
still kept.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncConnection

from obrolan.accounts import store as accounts_store
from obrolan.accounts import throttle_store
from obrolan.accounts.rules import SessionLifetime
from obrolan.accounts.throttle import action_windows
from obrolan.business import conversation_store as business_store
from obrolan.business import webhook_store
from obrolan.business.media import MediaService
from obrolan.chat import store as chat_store
from obrolan.clock import Clock
from obrolan.config import Settings
from obrolan.jobs import Job, JobQueue, Worker
from obrolan.jobs import store as jobs_store
from obrolan.jobs.rules import DEAD_KEPT, DONE_KEPT, period_start
from obrolan.privacy import store as privacy_store
from obrolan.privacy.audit import ActorRole, AuditEvent, AuditLog
from obrolan.privacy.backups import prune_backups
from obrolan.privacy.export import store as export_store
from obrolan.privacy.retention import session_kept_after_end, session_purge, throttle_cutoff
from obrolan.realtime.stream import EventStream

SWEEP_KIND = "retention.sweep"
RUN_ACTION = "retention.run"

log = structlog.get_logger("obrolan.privacy.sweep")

# One batch: delete at most `limit` rows in this transaction; rows deleted per table.
DeleteBatch = Callable[[AsyncConnection, int], Awaitable[dict[str, int]]]
# What would go now, per table (a dry run); read outside any write transaction.
CountDue = Callable[[AsyncConnection], Awaitable[dict[str, int]]]
# When the oldest row still kept was written, per table (the run's evidence).
Oldest = Callable[[AsyncConnection], Awaitable[dict[str, datetime | None]]]


@dataclass(frozen=True, slots=True)
class Deletion:
    """One named deletion: the rows of `table` (and their dependants) past `rule`.

    The sweep calls `delete` in a transaction of its own until a batch removes fewer
    than the batch size of `table`'s rows. Add one to `RetentionSweep.deletions`.
    """

    name: str
    rule: str
    table: str
    delete: DeleteBatch
    count: CountDue
    oldest: Oldest


def rows_deletion(
    name: str,
    rule: str,
    table: str,
    delete: Callable[[AsyncConnection, int], Awaitable[int]],
    count: Callable[[AsyncConnection], Awaitable[int]],
    oldest: Callable[[AsyncConnection], Awaitable[datetime | None]],
) -> Deletion:
    """A deletion of one table's rows, from store functions that answer plain numbers."""

    async def delete_batch(conn: AsyncConnection, limit: int) -> dict[str, int]:
        return {table: await delete(conn, limit)}

    async def count_due(conn: AsyncConnection) -> dict[str, int]:
        return {table: await count(conn)}

    async def oldest_kept(conn: AsyncConnection) -> dict[str, datetime | None]:
        return {table: await oldest(conn)}

    return Deletion(name, rule, table, delete_batch, count_due, oldest_kept)


@dataclass(slots=True)
class RuleReport:
    """What one rule's deletions did in a run."""

    removed: dict[str, int] = field(default_factory=dict)
    # Age in whole seconds of the oldest row still kept, per table (None: table empty).
    oldest_seconds: dict[str, int | None] = field(default_factory=dict)

    def add_removed(self, removed: dict[str, int]) -> None:
        for table, n in removed.items():
            self.removed[table] = self.removed.get(table, 0) + n

    def add_oldest(self, now: datetime, oldest: dict[str, datetime | None]) -> None:
        for table, at in oldest.items():
            age = None if at is None else max(0, int((now - at).total_seconds()))
            known = self.oldest_seconds.get(table)
            self.oldest_seconds[table] = age if known is None else max(known, age or 0)


@dataclass(frozen=True, slots=True)
class SweepReport:
    """A run's evidence: per rule, rows removed (or, in a dry run, due) and oldest ages."""

    at: datetime
    dry_run: bool
    rules: dict[str, RuleReport]

    @property
    def removed(self) -> dict[str, int]:
        """Rows removed per table, all rules together."""
        total: dict[str, int] = {}
        for report in self.rules.values():
            for table, n in report.removed.items():
                total[table] = total.get(table, 0) + n
        return total

    def detail(self) -> dict[str, Any]:
        """The audit entry's detail: counts, ages and rule names only."""
        return {
            "dry_run": self.dry_run,
            "rules": {
                name: {"removed": r.removed, "oldest_seconds": r.oldest_seconds}
                for name, r in sorted(self.rules.items())
            },
        }


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
        audit: AuditLog,
        business_media: MediaService,
    ) -> None:
        self.settings = settings
        self.business_media = business_media
        self.stream = stream
        self.queue = queue
        self.session_lifetime = session_lifetime
        self.clock = clock
        self.audit = audit
        self.period = timedelta(seconds=settings.retention_sweep_seconds)
        self.batch = settings.retention_batch_rows

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

    async def deletions(self, now: datetime) -> list[Deletion]:
        """Everything the rules let go at `now`, as named deletions, in the order run.

        One line per deletion. The audit log and the backups are pruned after these
        (`_prune_audit_log`, `_prune_backups`): they are not rows deleted in batches here.
        """
        return [
            self._ended_sessions(now),
            self._old_failures(now),
            self._expired_codes(now),
            *self._old_actions(now),
            self._finished_jobs(now),
            *await self._disappearing_messages(now),
            self._expired_exports(now),
            self._business_messages(now),
            self._webhook_bodies(now),
            self._webhook_log(now),
        ]

    async def sweep(self, now: datetime) -> dict[str, int]:
        """Delete everything past its rule at `now` and record the run; rows removed per table."""
        return (await self.run_once(now)).removed

    async def run_once(self, now: datetime, *, dry_run: bool = False) -> SweepReport:
        """Delete everything past its rule at `now` and record the run (R5): the report.

        With `dry_run`, count what would go instead, delete nothing and record nothing.
        """
        rules: dict[str, RuleReport] = {}
        for deletion in await self.deletions(now):
            report = rules.setdefault(deletion.rule, RuleReport())
            if dry_run:
                async with self.stream.db.read() as conn:
                    report.add_removed(await deletion.count(conn))
            else:
                report.add_removed(await self._delete_all(deletion))
            async with self.stream.db.read() as conn:
                report.add_oldest(now, await deletion.oldest(conn))
        await self._prune_audit_log(now, dry_run, rules.setdefault("audit-log", RuleReport()))
        await self._prune_backups(now, dry_run, rules.setdefault("backup", RuleReport()))
        await self._prune_business_media(
            now, dry_run, rules.setdefault("business-messages", RuleReport())
        )
        result = SweepReport(now, dry_run, rules)
        if not dry_run:
            async with self.stream.transaction() as tx:
                await self.audit.record(
                    tx.conn,
                    AuditEvent(RUN_ACTION, None, ActorRole.system, detail=result.detail()),
                    at=now,
                )
        return result

    async def _delete_all(self, deletion: Deletion) -> dict[str, int]:
        total: dict[str, int] = {}
        while True:
            async with self.stream.transaction() as tx:
                removed = await deletion.delete(tx.conn, self.batch)
            for table, n in removed.items():
                total[table] = total.get(table, 0) + n
            if removed.get(deletion.table, 0) < self.batch:
                return total
            # Let the sends (and everything else on this loop) waiting for the write
            # lock go before the next batch takes it.
            await asyncio.sleep(0)

    # -- what is not rows deleted in batches here ----------------------------------------
    async def _prune_audit_log(self, now: datetime, dry_run: bool, report: RuleReport) -> None:
        """The audit log's oldest entries past the log period (R5), each run of them
        removed with the marker that keeps the chain verifiable (AuditLog.prune)."""
        if dry_run:
            async with self.stream.db.read() as conn:
                due = await privacy_store.count_audit_before(conn, now - self.audit.kept)
            report.add_removed({"audit_log": due})
        else:
            report.add_removed({"audit_log": await self.audit.prune(self.stream.db, now)})
        async with self.stream.db.read() as conn:
            report.add_oldest(now, {"audit_log": await privacy_store.oldest_audit_at(conn)})

    async def _prune_backups(self, now: datetime, dry_run: bool, report: RuleReport) -> None:
        """Backups past their retention (R5; key-store copies sooner, R4). Files, not
        rows: deleted in a thread, outside any transaction."""
        result = await asyncio.to_thread(prune_backups, self.settings, now, dry_run=dry_run)
        report.add_removed({"backups": len(result.deleted)})
        oldest = min((b.created_at for b in result.kept), default=None)
        report.add_oldest(now, {"backups": oldest})

    async def _prune_business_media(self, now: datetime, dry_run: bool, report: RuleReport) -> None:
        """R2: a business's media 30 days after it was uploaded, rows and files (the
        files removed once the rows' deletion has committed)."""
        cutoff = now - timedelta(days=self.settings.business_message_days)
        if dry_run:
            due = await self.business_media.count_older_than(cutoff)
        else:
            due = 0
            while True:
                removed = await self.business_media.delete_older_than(cutoff, self.batch)
                due += removed
                if removed < self.batch:
                    break
                await asyncio.sleep(0)
        report.add_removed({"business_media": due})
        report.add_oldest(now, {"business_media": await self.business_media.oldest()})

    # -- the deletions -----------------------------------------------------------------
    def _ended_sessions(self, now: datetime) -> Deletion:
        purge = session_purge(self.session_lifetime, now, session_kept_after_end(self.settings))
        return rows_deletion(
            "ended-sessions",
            "session",
            "auth_sessions",
            lambda conn, limit: accounts_store.delete_ended_sessions(
                conn, ended=purge.ended, revoked_before=purge.revoked_before, limit=limit
            ),
            partial(
                accounts_store.count_ended_sessions,
                ended=purge.ended,
                revoked_before=purge.revoked_before,
            ),
            accounts_store.oldest_session,
        )

    def _old_failures(self, now: datetime) -> Deletion:
        # Counted only while their window lasts, and never past the log period (R5).
        window = min(self.settings.login_window_seconds, self.settings.privacy_log_days * 86_400)
        cutoff = throttle_cutoff(now, window)
        return rows_deletion(
            "old-login-failures",
            "throttle",
            "login_failures",
            lambda conn, limit: throttle_store.delete_old_failures(conn, cutoff, limit),
            lambda conn: throttle_store.count_old_failures(conn, cutoff),
            throttle_store.oldest_failure,
        )

    def _expired_codes(self, now: datetime) -> Deletion:
        return rows_deletion(
            "expired-codes",
            "verification-code",
            "verification_codes",
            lambda conn, limit: accounts_store.delete_expired_codes(conn, now, limit),
            lambda conn: accounts_store.count_expired_codes(conn, now),
            accounts_store.oldest_code,
        )

    def _old_actions(self, now: datetime) -> Iterable[Deletion]:
        for scope, window in action_windows(self.settings).items():
            cutoff = throttle_cutoff(now, window)
            yield rows_deletion(
                f"old-actions:{scope}",
                "throttle",
                "throttled_actions",
                partial(throttle_store.delete_old_actions, scope=scope, cutoff=cutoff),
                partial(throttle_store.count_old_actions, scope=scope, cutoff=cutoff),
                throttle_store.oldest_action,
            )

    def _finished_jobs(self, now: datetime) -> Deletion:
        done_before, dead_before = now - DONE_KEPT, now - DEAD_KEPT
        return rows_deletion(
            "finished-jobs",
            "jobs",
            "jobs",
            lambda conn, limit: jobs_store.delete_finished(
                conn, done_before=done_before, dead_before=dead_before, limit=limit
            ),
            partial(jobs_store.count_finished, done_before=done_before, dead_before=dead_before),
            jobs_store.oldest_finished,
        )

    def _expired_exports(self, now: datetime) -> Deletion:
        return rows_deletion(
            "expired-exports",
            "export",
            "privacy_exports",
            lambda conn, limit: export_store.delete_expired_exports(conn, now, limit),
            lambda conn: export_store.count_expired_exports(conn, now),
            export_store.oldest_export,
        )

    def _business_messages(self, now: datetime) -> Deletion:
        """R2: business messages 30 days after delivery, with the chat messages that carry
        their content (and those messages' reactions)."""
        cutoff = now - timedelta(days=self.settings.business_message_days)
        return Deletion(
            "business-messages",
            "business-messages",
            "business_messages",
            lambda conn, limit: business_store.delete_expired_messages(conn, cutoff, limit),
            lambda conn: business_store.count_expired_messages(conn, cutoff),
            business_store.oldest_message,
        )

    def _webhook_bodies(self, now: datetime) -> Deletion:
        """R2: the bodies of webhook events (which hold message text) after the business
        messages' period; the log of the deliveries stays."""
        cutoff = now - timedelta(days=self.settings.business_message_days)
        return rows_deletion(
            "webhook-bodies",
            "webhook-log",
            "business_webhook_events",
            lambda conn, limit: webhook_store.drop_bodies_older_than(conn, cutoff, limit),
            lambda conn: webhook_store.count_bodies_older_than(conn, cutoff),
            webhook_store.oldest_body,
        )

    def _webhook_log(self, now: datetime) -> Deletion:
        """R5: webhook deliveries and their attempts after the logs' period."""
        cutoff = now - timedelta(days=self.settings.privacy_log_days)
        return rows_deletion(
            "webhook-log",
            "webhook-log",
            "business_webhook_events",
            lambda conn, limit: webhook_store.delete_log_older_than(conn, cutoff, limit),
            lambda conn: webhook_store.count_log_older_than(conn, cutoff),
            webhook_store.oldest_event,
        )

    async def _disappearing_messages(self, now: datetime) -> list[Deletion]:
        """One deletion per room with disappearing messages on: its messages sent more
        than the room's period ago, with their reactions."""
        async with self.stream.db.read() as conn:
            rooms = await chat_store.disappearing_rooms(conn)
        return [_room_messages(room_id, now - timedelta(days=days)) for room_id, days in rooms]


def _room_messages(room_id: str, sent_before: datetime) -> Deletion:
    async def delete_batch(conn: AsyncConnection, limit: int) -> dict[str, int]:
        messages, reactions = await chat_store.delete_disappeared(conn, room_id, sent_before, limit)
        return {"messages": messages, "reactions": reactions}

    async def count_due(conn: AsyncConnection) -> dict[str, int]:
        return {"messages": await chat_store.count_disappeared(conn, room_id, sent_before)}

    async def oldest_kept(conn: AsyncConnection) -> dict[str, datetime | None]:
        return {"messages": await chat_store.oldest_message_sent(conn, room_id)}

    return Deletion(
        f"disappearing:{room_id}", "messages", "messages", delete_batch, count_due, oldest_kept
    )
