"""Delivering webhook events (item 7): one POST per event, in order per ordering key.

Each delivery job names an ordering key and sends that key's events one by one, each
only once the one before it has been delivered (2xx) or given up.

Order across workers and processes: the key's *head* (its first event neither
delivered nor given up) is the only event that may be sent, and it is claimed with a
conditional update (its state and attempts count unchanged since it was read) that
sets a lease. The claim runs in a short write transaction serialised with every other
claim on the key (SQLite's single writer; on PostgreSQL an advisory lock on the key,
`webhook_store.lock_key`) and is refused while any event of the key has a live lease.
So at most one event per key is ever in flight, and never one after an undelivered one.

The POST runs after that transaction has committed and before the next one begins:
no transaction is open while a callback is slow, so a dead callback never holds up a
chat send. Its outcome is recorded by the claim that made it only (the attempts count
again); a worker that died mid-POST leaves a lease that runs out, and the event is
claimed again.

A failed attempt (non-2xx, timeout, connection error) is logged and retried with the
job queue's back-off (`jobs.rules.retry_at`: 2 s doubling to an hour, jittered) until
the retry period (`business_webhook_retry_days`) from the event's creation or replay
has passed; then it is given up (`dead`) and the key's later events go on.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import httpx
import structlog

from obrolan.accounts.keys import DataKeys, aad, open_text
from obrolan.business import webhook_http
from obrolan.business import webhook_store as store
from obrolan.business.webhook_store import EventRow, SubscriptionRow
from obrolan.business.webhooks import DELIVER_JOB, body_aad
from obrolan.clock import Clock
from obrolan.config import Settings
from obrolan.crypto import open_sealed
from obrolan.ids import new_id
from obrolan.jobs import Job, JobQueue, Worker
from obrolan.jobs.rules import after_failure
from obrolan.realtime.stream import EventStream, Transaction

log = structlog.get_logger("obrolan.business.webhooks")

# Events one job sends before it hands the rest of its key to a new job, so that one
# busy conversation does not keep the worker from other keys' jobs.
EVENTS_PER_JOB = 50
# A lease outlives the POST's timeout by this much, for the claim and the outcome's
# own transactions.
LEASE_MARGIN = timedelta(seconds=30)
# Retries are bounded by time (the retry period), not by a count.
_NO_COUNT_LIMIT = 1 << 30


def app_secret_aad(business_id: str) -> bytes:
    return aad("business_webhooks", "app_secret_enc", business_id)


def verify_token_aad(business_id: str) -> bytes:
    return aad("business_webhooks", "verify_token_enc", business_id)


@dataclass(frozen=True, slots=True)
class Claimed:
    event: EventRow  # as claimed: attempts counts this attempt
    subscription: SubscriptionRow


class WebhookDelivery:
    def __init__(
        self,
        settings: Settings,
        stream: EventStream,
        data_keys: DataKeys,
        jobs: JobQueue,
        clock: Clock,
        rng: random.Random | None = None,
    ) -> None:
        self.timeout = settings.business_webhook_timeout_seconds
        self.retry_period = timedelta(days=settings.business_webhook_retry_days)
        self.stream = stream
        self.data_keys = data_keys
        self.jobs = jobs
        self.clock = clock
        self.rng = rng or random.SystemRandom()

    def register(self, worker: Worker) -> None:
        worker.handle(DELIVER_JOB)(self.run)

    async def run(self, job: Job) -> None:
        await self.deliver(str(job.payload["ordering_key"]))

    async def deliver(self, ordering_key: str) -> None:
        """Send the key's due events in order, until one fails or none is due."""
        async with webhook_http.client(self.timeout) as http:
            for _ in range(EVENTS_PER_JOB):
                claimed = await self._claim(ordering_key)
                if claimed is None:
                    return
                if not await self._send(http, claimed):
                    return
        async with self.stream.transaction() as tx:
            await self.jobs.enqueue(tx, DELIVER_JOB, {"ordering_key": ordering_key})

    async def _claim(self, ordering_key: str) -> Claimed | None:
        """The key's head, now in flight for this worker; None when nothing may go now."""
        while True:
            async with self.stream.transaction() as tx:
                await store.lock_key(tx.conn, ordering_key)
                busy_until = await store.in_flight(tx.conn, ordering_key, tx.now)
                if busy_until is not None:
                    # Its sender carries on with the key; this look-in again at the end
                    # of the lease covers a sender that died.
                    await self._again(tx, ordering_key, busy_until)
                    return None
                event = await store.head(tx.conn, ordering_key)
                if event is None:
                    return None
                if event.next_attempt_at is not None and event.next_attempt_at > tx.now:
                    return None  # its retry's job is queued for then
                subscription = await store.subscription(tx.conn, event.business_id)
                if subscription is None:
                    return None  # waits: subscribing queues the waiting keys again
                if event.body_enc is None:
                    await store.give_up(tx.conn, event.id)
                    continue  # never sendable: the next event goes on
                lease_until = tx.now + timedelta(seconds=self.timeout) + LEASE_MARGIN
                if not await store.claim(tx.conn, event, tx.now, lease_until):
                    return None
            return Claimed(_claimed(event, lease_until), subscription)

    async def _send(self, http: httpx.AsyncClient, claimed: Claimed) -> bool:
        """POST the event and record the outcome; whether the key's next may go now."""
        event, subscription = claimed.event, claimed.subscription
        key = await self.data_keys.get(event.business_id)
        secret = open_text(key, subscription.app_secret_enc, app_secret_aad(event.business_id))
        if key is None or secret is None or event.body_enc is None:
            # The business was closed (its key destroyed): nothing of it can go out.
            async with self.stream.transaction() as tx:
                await store.settle(tx.conn, event.id, event.attempts, {"state": store.DEAD})
            return False
        body = open_sealed(key, event.body_enc, body_aad(event.id))
        request = webhook_http.event_request(http, subscription.callback_url, body, secret)
        answer = await webhook_http.call(http, request, seconds=self.timeout, clock=self.clock)
        values: dict[str, object]
        async with self.stream.transaction() as tx:
            await store.lock_key(tx.conn, event.ordering_key)
            if answer.ok:
                values = {"state": store.DELIVERED, "delivered_at": tx.now, "next_attempt_at": None}
            else:
                values = self._after_failure(tx.now, event)
            settled = await store.settle(tx.conn, event.id, event.attempts, values)
            if not settled:
                # Our lease ran out and another claim has the event: its outcome counts.
                return False
            await store.insert_attempt(
                tx.conn,
                {
                    "id": new_id(),
                    "event_id": event.id,
                    "at": tx.now,
                    "status_code": answer.status_code,
                    "error": answer.error[:256] if answer.error else None,
                    "duration_ms": answer.duration_ms,
                },
            )
            retry_at = values.get("next_attempt_at")
            if isinstance(retry_at, datetime):
                await self._again(tx, event.ordering_key, retry_at)
        if not answer.ok:
            log.info(
                "webhook attempt failed",
                event_id=event.id,
                attempts=event.attempts,
                error=answer.error,
                state=values["state"],
            )
        return values["state"] != store.PENDING

    def _after_failure(self, now: datetime, event: EventRow) -> dict[str, object]:
        deadline = event.expires_at or event.created_at + self.retry_period
        outcome = after_failure(
            attempts=event.attempts,
            max_attempts=_NO_COUNT_LIMIT,
            expires_at=deadline,
            now=now,
            rng=self.rng,
        )
        if outcome.state == "dead":
            return {"state": store.DEAD, "next_attempt_at": None}
        return {"state": store.PENDING, "next_attempt_at": outcome.run_at}

    async def _again(self, tx: Transaction, ordering_key: str, at: datetime) -> None:
        await self.jobs.enqueue(tx, DELIVER_JOB, {"ordering_key": ordering_key}, run_at=at)


def _claimed(event: EventRow, lease_until: datetime) -> EventRow:
    return replace(event, state=store.SENDING, attempts=event.attempts + 1, lease_until=lease_until)
