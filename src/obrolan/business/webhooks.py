"""The webhook outbox (item 7): events for a business's systems, written in the
transaction of the change they report, and delivered by a job after it commits.

The POST body is fixed when the event is made (and sealed under the business's data
key), so that every retry sends the same bytes with the same signature. Events that
share an `ordering_key` (one conversation, one template) go out in the order made:
their ids, which grow in the order this process makes them (`EventIds`).
Delivery itself is webhook_delivery.py.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson

from obrolan.accounts.keys import DataKeys, aad
from obrolan.business import webhook_store as store
from obrolan.crypto import seal
from obrolan.ids import new_id
from obrolan.jobs import JobQueue
from obrolan.realtime.stream import Transaction

DELIVER_JOB = "business.webhook"


def envelope(business_id: str, field: str, value: dict[str, Any], at: datetime) -> dict[str, Any]:
    """The Cloud API's webhook body: one change per POST. Entries of fields other than
    `messages` carry the change's `time`, as Meta's do (pywa reads it)."""
    entry: dict[str, Any] = {"id": business_id, "changes": [{"field": field, "value": value}]}
    if field != "messages":
        entry["time"] = int(at.timestamp())
    return {"object": "whatsapp_business_account", "entry": [entry]}


def body_aad(event_id: str) -> bytes:
    return aad("business_webhook_events", "body_enc", event_id)


_CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz"


class EventIds:
    """Ids that grow strictly in the order they are made here.

    Deliveries go in id order, but two ids made in the same millisecond by `new_id`
    differ only in their random part: the second could sort first. So an id not
    greater than the last one is replaced by the last one's successor.
    """

    def __init__(self) -> None:
        self.last = ""

    def next(self) -> str:
        made = new_id()
        if made <= self.last:
            made = id_after(self.last)
        self.last = made
        return made


def id_after(event_id: str) -> str:
    # 26 base32 digits hold 128 bits and 2 zero bits at the end: one more is 4 more.
    value = 0
    for char in event_id:
        value = value * 32 + _CROCKFORD.index(char)
    value += 4
    digits = []
    for _ in event_id:
        value, digit = divmod(value, 32)
        digits.append(_CROCKFORD[digit])
    return "".join(reversed(digits))


class WebhookOutbox:
    def __init__(self, data_keys: DataKeys, jobs: JobQueue) -> None:
        self.data_keys = data_keys
        self.jobs = jobs
        self.ids = EventIds()

    async def emit(
        self,
        tx: Transaction,
        business_id: str,
        ordering_key: str,
        field: str,
        value: dict[str, Any],
    ) -> str:
        """Queue one webhook event in `tx`; its id. Nothing is queued for a business
        whose key is gone (closed)."""
        key = await self.data_keys.get(business_id)
        if key is None:
            return ""
        event_id = self.ids.next()
        body = orjson.dumps(envelope(business_id, field, value, tx.now))
        await store.insert_event(
            tx.conn,
            {
                "id": event_id,
                "business_id": business_id,
                "ordering_key": ordering_key,
                "field": field,
                "body_enc": seal(key, body, body_aad(event_id)),
                "state": store.PENDING,
                "attempts": 0,
                "created_at": tx.now,
            },
        )
        await self.jobs.enqueue(tx, DELIVER_JOB, {"ordering_key": ordering_key})
        return event_id
