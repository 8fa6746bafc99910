"""The webhook outbox (item 7): events for a business's systems, written in the
transaction of the change they report, and delivered by a job after it commits.

The POST body is fixed when the event is made (and sealed under the business's data
key), so that every retry sends the same bytes with the same signature. Events that
share an `ordering_key` (one conversation, one template) go out in the order made.
"""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import insert

from obrolan.accounts.keys import DataKeys, aad
from obrolan.business.models import business_webhook_events
from obrolan.crypto import seal
from obrolan.ids import new_id
from obrolan.jobs import JobQueue
from obrolan.realtime.stream import Transaction

DELIVER_JOB = "business.webhook"


def envelope(business_id: str, field: str, value: dict[str, Any]) -> dict[str, Any]:
    """The Cloud API's webhook body: one change per POST."""
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": business_id, "changes": [{"field": field, "value": value}]}],
    }


def body_aad(event_id: str) -> bytes:
    return aad("business_webhook_events", "body_enc", event_id)


class WebhookOutbox:
    def __init__(self, data_keys: DataKeys, jobs: JobQueue) -> None:
        self.data_keys = data_keys
        self.jobs = jobs

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
        event_id = new_id()
        body = orjson.dumps(envelope(business_id, field, value))
        await tx.conn.execute(
            insert(business_webhook_events).values(
                id=event_id,
                business_id=business_id,
                ordering_key=ordering_key,
                field=field,
                body_enc=seal(key, body, body_aad(event_id)),
                state="pending",
                attempts=0,
                created_at=tx.now,
            )
        )
        await self.jobs.enqueue(tx, DELIVER_JOB, {"ordering_key": ordering_key})
        return event_id
