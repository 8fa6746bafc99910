"""Request bodies and typed answers of the webhook routes of obrolan's business API."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, Field, HttpUrl

from obrolan.api.inputs import RequestBody
from obrolan.business.webhook_service import Delivery
from obrolan.business.webhook_store import AttemptRow, SubscriptionRow

DeliveryState = Literal["pending", "sending", "delivered", "dead"]


class PutWebhook(RequestBody):
    callback_url: HttpUrl = Field(max_length=1024)
    # Sent back to the callback in the hub.challenge GET.
    verify_token: str = Field(min_length=1, max_length=256)
    # Signs every POST (X-Hub-Signature-256).
    app_secret: str = Field(min_length=1, max_length=256)


class WebhookOut(BaseModel):
    """The subscription, without its secrets."""

    callback_url: str
    verified_at: datetime | None
    updated_at: datetime

    @classmethod
    def of(cls, row: SubscriptionRow) -> WebhookOut:
        return cls(
            callback_url=row.callback_url, verified_at=row.verified_at, updated_at=row.updated_at
        )


class AttemptOut(BaseModel):
    at: datetime
    # None: no answer (timeout, connection error: see `error`).
    status_code: int | None
    error: str | None
    duration_ms: int

    @classmethod
    def of(cls, row: AttemptRow) -> AttemptOut:
        return cls(
            at=row.at, status_code=row.status_code, error=row.error, duration_ms=row.duration_ms
        )


class DeliveryOut(BaseModel):
    id: str
    ordering_key: str
    field: str
    state: DeliveryState
    attempts: int
    created_at: datetime
    delivered_at: datetime | None
    # When a pending event is tried next (None: as soon as its turn comes).
    next_attempt_at: datetime | None
    # False once retention has deleted the body: it can be neither sent nor replayed.
    has_body: bool
    attempt_log: list[AttemptOut]

    @classmethod
    def of(cls, delivery: Delivery) -> DeliveryOut:
        event = delivery.event
        return cls(
            id=event.id,
            ordering_key=event.ordering_key,
            field=event.field,
            state=event.state,
            attempts=event.attempts,
            created_at=event.created_at,
            delivered_at=event.delivered_at,
            next_attempt_at=event.next_attempt_at if event.state == "pending" else None,
            has_body=event.body_enc is not None,
            attempt_log=[AttemptOut.of(a) for a in delivery.attempts],
        )


class DeliveriesOut(BaseModel):
    deliveries: list[DeliveryOut]
    # Pass as `before` for the next (older) page; None on the last page.
    next_before: str | None


class Replay(RequestBody):
    since: AwareDatetime
    until: AwareDatetime


class ReplayOut(BaseModel):
    # Events queued to be sent again.
    queued: int
