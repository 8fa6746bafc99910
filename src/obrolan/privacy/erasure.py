"""The erasure (R3, R4): a recurring job that erases the people whose time has come.

Who: people whose erasure request's grace period has ended, and accounts closed more
than `privacy_closed_account_days` ago (R3). What, per person, in short transactions
of at most ERASE_BATCH rows each (a chat send never waits long for the write lock):

1. their messages become tombstones (no text, deleted, like an author's delete) and
   stay in other people's rooms; reactions on them and by them, memberships (with
   their receipts), blocks, sessions, verification codes, profile, photo, contact
   settings and the events addressed to them alone are deleted; the users row keeps
   its id and nothing else of theirs (the username becomes a placeholder, so the name
   can be taken again); the notes in their requests are removed;
2. the "done" mail is queued, sealed under their key like all their mail;
3. a `privacy.erasure.key` job, run ERASURE_MAIL_WAIT later so the mail can go out
   first, destroys their data key (crypto-shredding: everything sealed under it, in
   this database and in every backup, becomes unreadable) and records
   `privacy.erasure.done` and `key.destroyed` in the audit log.

Each step can run twice (a crash half-way starts the person again). The same job also
raises the overdue alarm (R13): a warning per overdue request, without personal data.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

import structlog
from sqlalchemy.ext.asyncio import AsyncConnection

from obrolan.accounts import store as accounts_store
from obrolan.accounts.keys import DataKeys, aad, open_text
from obrolan.business import conversation_store as business_store
from obrolan.clock import Clock
from obrolan.config import Settings
from obrolan.jobs import Job, JobQueue, Worker
from obrolan.jobs.rules import period_start
from obrolan.notifications import Language, Notifications
from obrolan.ops.metrics import Metrics
from obrolan.privacy import erasure_store
from obrolan.privacy import requests_store as store
from obrolan.privacy.audit import ActorRole, AuditEvent, AuditLog
from obrolan.privacy.requests import PrivacyRequests
from obrolan.privacy.rules import RequestStatus
from obrolan.profile import fields as profiles
from obrolan.realtime.stream import EventStream, Transaction

ERASURE_KIND = "privacy.erasure"
KEY_KIND = "privacy.erasure.key"
# Rows changed per transaction.
ERASE_BATCH = 500
# People taken per query; the run goes on until none is left.
PEOPLE_BATCH = 20
# Accounts whose key presence is checked per key-store read after a restore.
KEYLESS_BATCH = 500
# Between queueing the "done" mail and destroying the key the mail is sealed under.
ERASURE_MAIL_WAIT = timedelta(minutes=10)

ACCOUNT_ERASED = "the account was erased"

log = structlog.get_logger("obrolan.privacy.erasure")

Step = Callable[[AsyncConnection, int], Awaitable[int]]


def erasure_key(start: datetime) -> str:
    return f"{ERASURE_KIND}:{start.isoformat()}"


def key_job_key(user_id: str) -> str:
    return f"{KEY_KIND}:{user_id}"


class Erasure:
    def __init__(
        self,
        settings: Settings,
        stream: EventStream,
        queue: JobQueue,
        data_keys: DataKeys,
        notifications: Notifications,
        requests: PrivacyRequests,
        audit: AuditLog,
        metrics: Metrics,
        clock: Clock,
    ) -> None:
        self.settings = settings
        self.stream = stream
        self.queue = queue
        self.data_keys = data_keys
        self.notifications = notifications
        self.requests = requests
        self.audit = audit
        self.metrics = metrics
        self.clock = clock
        # As often as the retention sweep: the config check that grace + one sweep fits
        # in the erasure deadline (R4) covers this job too.
        self.period = timedelta(seconds=settings.retention_sweep_seconds)

    def register(self, worker: Worker) -> None:
        worker.handle(ERASURE_KIND)(self.run)
        worker.handle(KEY_KIND)(self.destroy_key)

    async def schedule_first(self) -> None:
        async with self.stream.transaction() as tx:
            start = period_start(tx.now, self.period)
            await self.queue.enqueue(tx, ERASURE_KIND, {}, key=erasure_key(start), run_at=tx.now)

    async def run(self, _job: Job) -> None:
        async with self.stream.transaction() as tx:
            following = period_start(tx.now, self.period) + self.period
            await self.queue.enqueue(
                tx, ERASURE_KIND, {}, key=erasure_key(following), run_at=following
            )
        erased = await self.erase_due(self.clock.now())
        overdue = await self.alarm_overdue(self.clock.now())
        log.info("erasure run", erased=erased, overdue=overdue, next_run=following.isoformat())

    async def alarm_overdue(self, now: datetime) -> int:
        """R13: one warning per overdue request (ids and hours only); the gauge too."""
        overdue = await self.requests.overdue(now)
        for request in overdue:
            log.warning(
                "privacy request overdue",
                request_id=request.id,
                kind=str(request.kind),
                hours_overdue=round((now - request.deadline_at).total_seconds() / 3600, 1),
            )
        self.metrics.privacy_requests_overdue.set(len(overdue))
        return len(overdue)

    async def erase_due(self, now: datetime) -> int:
        """Erase everyone whose time has come at `now`; how many people."""
        erased = 0
        closed_before = now - timedelta(days=self.settings.privacy_closed_account_days)
        while True:
            async with self.stream.db.read() as conn:
                due = await store.due_erasures(conn, now, PEOPLE_BATCH)
                closed = (
                    []
                    if due
                    else await store.closed_accounts_due(conn, closed_before, PEOPLE_BATCH)
                )
            if not due and not closed:
                return erased
            for request in due:
                await self.erase(request.user_id, request_id=request.id)
            for user_id in closed:
                await self.erase(user_id, request_id=None)
            erased += len(due) + len(closed)

    async def erase_keyless(self) -> list[str]:
        """Erase again everyone the database holds whose key the key store does not: people
        erased after the data backup this database was restored from (R4). Nothing of them
        can be read (their key is gone), but their restored sessions and password would
        still sign them in and their rows would stay; the erasure runs again, at once.
        The ids erased."""
        erased: list[str] = []
        after = ""
        while True:
            async with self.stream.db.read() as conn:
                ids = await erasure_store.unerased_user_ids(conn, after, KEYLESS_BATCH)
            if not ids:
                return erased
            keyed = await self.data_keys.store.wrapped_many(ids)
            for user_id in ids:
                if user_id not in keyed:
                    await self.erase(user_id, request_id=None, rule="R4, after a restore")
                    erased.append(user_id)
            after = ids[-1]

    async def erase(
        self, user_id: str, *, request_id: str | None, rule: str | None = None
    ) -> dict[str, int]:
        """Steps 1 and 2 for one person (module docstring); rows changed per table.

        `rule` names why in the audit entry: by default R4 for a request, R3 without one.
        """
        if request_id is not None:
            async with self.stream.transaction() as tx:
                # Running from here: no longer cancellable. A cancel or refusal that
                # committed since the request was read as due wins, and nothing is erased.
                if not await store.claim_erasure(tx.conn, request_id, tx.now):
                    return {}
        now = self.clock.now()
        async with self.stream.db.read() as conn:
            # Read before the profile goes: the "done" mail is in the person's language.
            key = await self.data_keys.get(user_id)
            own = await profiles.own_profile(conn, key, user_id, self.settings.default_language)
            language = own.language
            phone_index = await accounts_store.phone_index_of(conn, user_id)
        steps: dict[str, Step] = {
            "messages": lambda c, n: erasure_store.tombstone_messages(c, user_id, now, n),
            "reactions": lambda c, n: erasure_store.delete_reactions_by(c, user_id, n),
            "reactions_on_messages": lambda c, n: erasure_store.delete_reactions_on_messages_of(
                c, user_id, n
            ),
            "memberships": lambda c, n: erasure_store.delete_memberships(c, user_id, n),
            "blocks": lambda c, n: erasure_store.delete_blocks(c, user_id, n),
            "events": lambda c, n: erasure_store.delete_events_for(c, user_id, n),
            "auth_sessions": lambda c, n: erasure_store.delete_sessions(c, user_id, n),
            # Business messaging (F9, R16): the conversations with businesses (their
            # Cloud API message rows go with them) and every opt-in held for the number.
            "business_conversations": lambda c, n: business_store.delete_conversations_of(
                c, user_id, n
            ),
            "business_opt_ins": lambda c, n: business_store.delete_opt_ins_of_phone(
                c, phone_index, n
            ),
        }
        removed = {name: await self._in_batches(step) for name, step in steps.items()}
        async with self.stream.transaction() as tx:
            for table in erasure_store.OWNED_TABLES:
                removed[str(table.name)] = await erasure_store.delete_owned_row(
                    tx.conn, table, user_id
                )
            removed["privacy_request_notes"] = await store.clear_notes(tx.conn, user_id)
            # An access request still open would otherwise turn overdue for ever (R13).
            removed["privacy_requests_closed"] = await store.close_open_requests(
                tx.conn, user_id, keep_id=request_id, now=tx.now, resolution=ACCOUNT_ERASED
            )
        async with self.stream.transaction() as tx:
            key = await self.data_keys.get(user_id)
            mailed = False
            if request_id is not None and key is not None:
                mailed = await self._mail_done(tx, key, user_id, language)
            await erasure_store.tombstone_user(tx.conn, user_id, tx.now)
            if request_id is not None:
                await store.update_request(tx.conn, request_id, {"progress": 90})
            await self.queue.enqueue(
                tx,
                KEY_KIND,
                {"user_id": user_id, "request_id": request_id, "removed": removed, "rule": rule},
                key=key_job_key(user_id),
                run_at=tx.now + ERASURE_MAIL_WAIT if mailed else tx.now,
            )
        return removed

    async def destroy_key(self, job: Job) -> None:
        """Step 3: the key goes, the request is done, the audit says so."""
        user_id = str(job.payload["user_id"])
        request_id = job.payload.get("request_id")
        removed = job.payload.get("removed", {})
        # R4: the one place a data key is destroyed. Without it every value sealed under
        # it, here and in every backup, is unreadable. The key store commits on its own,
        # first: should what follows fail, the job runs again and destroying is a no-op.
        await self.data_keys.destroy(user_id)
        async with self.stream.transaction() as tx:
            if request_id is not None:
                await store.update_request(
                    tx.conn,
                    str(request_id),
                    {"status": RequestStatus.done, "progress": 100, "done_at": tx.now},
                )
            detail = {
                "request_id": request_id,
                "rule": job.payload.get("rule") or ("R4" if request_id is not None else "R3"),
                "removed": removed,
                "key_destroyed": True,
            }
            await self.audit.record(
                tx.conn,
                AuditEvent("privacy.erasure.done", None, ActorRole.system, user_id, detail),
                AuditEvent("key.destroyed", None, ActorRole.system, user_id, {}),
                at=tx.now,
            )
        log.info("erasure done", request_id=request_id, **{k: int(v) for k, v in removed.items()})

    async def _mail_done(
        self, tx: Transaction, key: bytes, user_id: str, language: Language
    ) -> bool:
        contact = await store.mail_contact(tx.conn, user_id)
        if contact is None or not contact.email_verified:
            return False
        email = open_text(key, contact.email_enc, aad("users", "email_enc", user_id))
        if email is None:
            return False
        await self.notifications.mail(
            tx,
            key,
            user_id,
            to=email,
            template="erasure_done",
            language=language,
            params={"username": contact.username},
        )
        return True

    async def _in_batches(self, step: Step) -> int:
        total = 0
        while True:
            async with self.stream.transaction() as tx:
                count = await step(tx.conn, ERASE_BATCH)
            total += count
            if count < ERASE_BATCH:
                return total
