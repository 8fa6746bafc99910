"""Webhook subscriptions, the delivery log and replay (item 7).

A business has at most one subscription: a callback URL, the verify token it was
checked with and the app secret its POSTs are signed with, both sealed under the
business's data key. The callback's own verification (the Cloud API's `hub.challenge`
GET) runs before anything is stored. Pending events go to whichever subscription is
current when they are sent: after a change, to the new URL, signed with the new secret.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from obrolan.accounts.keys import DataKeys, seal_text
from obrolan.accounts.principal import Principal
from obrolan.business import webhook_http
from obrolan.business import webhook_store as store
from obrolan.business.service import BusinessService
from obrolan.business.webhook_delivery import app_secret_aad, verify_token_aad
from obrolan.business.webhook_http import Answer
from obrolan.business.webhook_store import AttemptRow, EventRow, SubscriptionRow
from obrolan.business.webhooks import DELIVER_JOB
from obrolan.clock import Clock
from obrolan.config import Settings
from obrolan.db import Database
from obrolan.errors import Invalid, NotFound
from obrolan.jobs import JobQueue
from obrolan.realtime.stream import EventStream, Transaction

LOG_PAGE_MAX = 500
# How much of a refusing callback's answer a problem quotes.
QUOTED_CHARS = 200


class VerificationFailed(Invalid):
    """The callback did not answer the hub.challenge GET with 200 and the challenge."""

    type_slug = "webhook-verification-failed"

    def __init__(self, answer: Answer) -> None:
        if answer.status_code is None:
            detail = f"the callback could not be reached ({answer.error})"
        elif answer.status_code != 200:
            detail = f"the callback answered HTTP {answer.status_code}, not 200 with the challenge"
        else:
            detail = "the callback answered 200 but its body was not the challenge"
        super().__init__(
            detail,
            field="callback_url",
            extra={
                "callback_status": answer.status_code,
                "callback_answer": answer.text[:QUOTED_CHARS],
            },
        )
        self.answer = answer


@dataclass(frozen=True, slots=True)
class Delivery:
    event: EventRow
    attempts: list[AttemptRow]


class WebhookSubscriptions:
    def __init__(
        self,
        settings: Settings,
        db: Database,
        stream: EventStream,
        data_keys: DataKeys,
        jobs: JobQueue,
        business: BusinessService,
        clock: Clock,
    ) -> None:
        self.timeout = settings.business_webhook_timeout_seconds
        self.retry_period = timedelta(days=settings.business_webhook_retry_days)
        self.db = db
        self.stream = stream
        self.data_keys = data_keys
        self.jobs = jobs
        self.business = business
        self.clock = clock

    # -- people, through obrolan's API (owner and admins) --------------------------------------
    async def put(
        self,
        actor: Principal,
        business_id: str,
        callback_url: str,
        verify_token: str,
        app_secret: str,
    ) -> SubscriptionRow:
        await self.business.require_manager(actor, business_id)
        return await self.subscribe(business_id, callback_url, verify_token, app_secret)

    async def get(self, actor: Principal, business_id: str) -> SubscriptionRow | None:
        await self.business.require_manager(actor, business_id)
        return await self.current(business_id)

    async def remove(self, actor: Principal, business_id: str) -> None:
        await self.business.require_manager(actor, business_id)
        if not await self.unsubscribe(business_id):
            raise NotFound("this business has no webhook subscription", field="business_id")

    async def deliveries(
        self,
        actor: Principal,
        business_id: str,
        *,
        since: datetime | None,
        until: datetime | None,
        state: str | None,
        before: str | None,
        limit: int,
    ) -> list[Delivery]:
        """The delivery log, newest first: events with their attempts, never their bodies."""
        await self.business.require_manager(actor, business_id)
        return await self.log(
            business_id, since=since, until=until, state=state, before=before, limit=limit
        )

    async def replay(
        self, actor: Principal, business_id: str, since: datetime, until: datetime
    ) -> int:
        await self.business.require_manager(actor, business_id)
        return await self.resend(business_id, since, until)

    # -- for callers that have authorised (and operators, `obrolan business webhooks`) ---------
    async def log(
        self,
        business_id: str,
        *,
        since: datetime | None,
        until: datetime | None,
        state: str | None,
        before: str | None,
        limit: int,
    ) -> list[Delivery]:
        async with self.db.read() as conn:
            found = await store.logged_events(
                conn,
                business_id,
                since=since,
                until=until,
                state=state,
                before=before,
                limit=min(max(limit, 1), LOG_PAGE_MAX),
            )
            tries = await store.attempts_of(conn, [e.id for e in found])
        return [Delivery(e, tries[e.id]) for e in found]

    async def resend(self, business_id: str, since: datetime, until: datetime) -> int:
        """Send again every event made in [since, until): in order per key, with the same
        bodies (so the same signatures while the app secret is the same); how many."""
        if until <= since:
            raise Invalid("until must be after since", field="until")
        queued = 0
        async with self.stream.transaction() as tx:
            keys = await store.replayable_keys(tx.conn, business_id, since, until)
            for key in keys:  # sorted: two replays lock keys in the same order
                await store.lock_key(tx.conn, key)
                count = await store.requeue(
                    tx.conn, business_id, key, since, until, tx.now + self.retry_period
                )
                if count:
                    queued += count
                    await self._queue_key(tx, key)
        return queued

    # -- the subscription itself (both APIs) -------------------------------------------------
    async def current(self, business_id: str) -> SubscriptionRow | None:
        async with self.db.read() as conn:
            return await store.subscription(conn, business_id)

    async def subscribe(
        self,
        business_id: str,
        callback_url: str,
        verify_token: str,
        app_secret: str | None,
    ) -> SubscriptionRow:
        """Verify the callback, then make it the business's; `app_secret` None keeps the
        one already set (the Cloud API's own route has no field for it)."""
        key = await self.data_keys.get(business_id)
        if key is None:
            raise NotFound("no such business", field="business_id")
        existing = await self.current(business_id)
        if app_secret is None and existing is None:
            raise Invalid(
                "set the app secret through PUT /api/v1/businesses/{id}/webhook first",
                field="app_secret",
                type_slug="webhook-app-secret-missing",
            )
        challenge = secrets.token_urlsafe(24)
        answer = await webhook_http.verify(
            callback_url, verify_token, challenge, seconds=self.timeout, clock=self.clock
        )
        if answer.status_code != 200 or answer.text.strip() != challenge:
            raise VerificationFailed(answer)
        async with self.stream.transaction() as tx:
            if app_secret is None:
                current = await store.subscription(tx.conn, business_id)
                if current is None:  # removed while we verified
                    raise NotFound("this business has no webhook subscription", field="app_secret")
                sealed_secret = current.app_secret_enc
            else:
                sealed_secret = seal_text(key, app_secret, app_secret_aad(business_id))
            await store.put_subscription(
                tx.conn,
                {
                    "business_id": business_id,
                    "callback_url": callback_url,
                    "verify_token_enc": seal_text(key, verify_token, verify_token_aad(business_id)),
                    "app_secret_enc": sealed_secret,
                    "verified_at": tx.now,
                    "updated_at": tx.now,
                },
            )
            # Events that waited for a subscription (or for this one) go now.
            for waiting in await store.waiting_keys(tx.conn, business_id):
                await self._queue_key(tx, waiting)
            row = await store.subscription(tx.conn, business_id)
        assert row is not None
        return row

    async def unsubscribe(self, business_id: str) -> bool:
        """No more POSTs; pending events wait for the next subscription."""
        async with self.stream.transaction() as tx:
            return await store.delete_subscription(tx.conn, business_id)

    async def _queue_key(self, tx: Transaction, ordering_key: str) -> None:
        await self.jobs.enqueue(tx, DELIVER_JOB, {"ordering_key": ordering_key})
