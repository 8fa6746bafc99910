"""SQL for webhook subscriptions, the outbox of events and the delivery log.

No decisions here: the order and claim discipline is in webhook_delivery.py.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, and_, case, delete, func, insert, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from obrolan.business.models import (
    business_webhook_attempts,
    business_webhook_events,
    business_webhooks,
)

events = business_webhook_events
attempts = business_webhook_attempts

PENDING = "pending"
SENDING = "sending"
DELIVERED = "delivered"
DEAD = "dead"
STATES = (PENDING, SENDING, DELIVERED, DEAD)
# Neither delivered nor given up: the key's order waits for these.
OPEN = (PENDING, SENDING)


@dataclass(frozen=True, slots=True)
class SubscriptionRow:
    business_id: str
    callback_url: str
    verify_token_enc: bytes
    app_secret_enc: bytes
    verified_at: datetime | None
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class EventRow:
    id: str
    business_id: str
    ordering_key: str
    field: str
    body_enc: bytes | None
    state: str
    attempts: int
    created_at: datetime
    delivered_at: datetime | None
    next_attempt_at: datetime | None
    lease_until: datetime | None
    expires_at: datetime | None


@dataclass(frozen=True, slots=True)
class AttemptRow:
    id: str
    event_id: str
    at: datetime
    status_code: int | None
    error: str | None
    duration_ms: int


def _event(row: Row[Any]) -> EventRow:
    return EventRow(**row._mapping)


# -- subscriptions ------------------------------------------------------------------------
async def subscription(conn: AsyncConnection, business_id: str) -> SubscriptionRow | None:
    row = (
        await conn.execute(
            select(business_webhooks).where(business_webhooks.c.business_id == business_id)
        )
    ).first()
    return SubscriptionRow(**row._mapping) if row else None


async def put_subscription(conn: AsyncConnection, values: dict[str, Any]) -> None:
    """Insert or replace the business's subscription."""
    await conn.execute(
        delete(business_webhooks).where(business_webhooks.c.business_id == values["business_id"])
    )
    await conn.execute(insert(business_webhooks).values(**values))


async def delete_subscription(conn: AsyncConnection, business_id: str) -> bool:
    result = await conn.execute(
        delete(business_webhooks).where(business_webhooks.c.business_id == business_id)
    )
    return bool(result.rowcount)


# -- events -------------------------------------------------------------------------------
async def insert_event(conn: AsyncConnection, values: dict[str, Any]) -> None:
    await conn.execute(insert(events).values(**values))


async def lock_key(conn: AsyncConnection, ordering_key: str) -> None:
    """Serialise this transaction with every other one on the same ordering key.

    SQLite has one writer at a time (BEGIN IMMEDIATE): nothing to do. On PostgreSQL, a
    transaction-level advisory lock on the key's hash, released at commit, so that
    claims from several processes (and replays) on one key never interleave.
    """
    if conn.dialect.name != "postgresql":
        return
    lock_id = int.from_bytes(hashlib.sha256(b"webhook:" + ordering_key.encode()).digest()[:8])
    await conn.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": lock_id - (1 << 63)})


async def in_flight(conn: AsyncConnection, ordering_key: str, now: datetime) -> datetime | None:
    """The lease end of an attempt of this key still in flight, if there is one."""
    until: datetime | None = (
        await conn.execute(
            select(func.max(events.c.lease_until)).where(
                events.c.ordering_key == ordering_key,
                events.c.state == SENDING,
                events.c.lease_until > now,
            )
        )
    ).scalar()
    return until


async def head(conn: AsyncConnection, ordering_key: str) -> EventRow | None:
    """The key's first event not yet delivered nor given up: the only one that may go."""
    row = (
        await conn.execute(
            select(events)
            .where(events.c.ordering_key == ordering_key, events.c.state.in_(OPEN))
            .order_by(events.c.id)
            .limit(1)
        )
    ).first()
    return _event(row) if row else None


async def claim(
    conn: AsyncConnection, event: EventRow, now: datetime, lease_until: datetime
) -> bool:
    """Mark `event` in flight until `lease_until`, only if nobody has since (its attempts
    count is the claim's token: every claim adds one)."""
    result = await conn.execute(
        update(events)
        .where(
            events.c.id == event.id,
            events.c.attempts == event.attempts,
            or_(
                events.c.state == PENDING,
                and_(events.c.state == SENDING, events.c.lease_until <= now),
            ),
        )
        .values(state=SENDING, attempts=events.c.attempts + 1, lease_until=lease_until)
    )
    return bool(result.rowcount)


async def settle(
    conn: AsyncConnection, event_id: str, attempt_number: int, values: dict[str, Any]
) -> bool:
    """Record an attempt's outcome, only while the event is still that attempt's."""
    result = await conn.execute(
        update(events)
        .where(
            events.c.id == event_id,
            events.c.state == SENDING,
            events.c.attempts == attempt_number,
        )
        .values(lease_until=None, **values)
    )
    return bool(result.rowcount)


async def give_up(conn: AsyncConnection, event_id: str) -> None:
    """An event that cannot be sent (its body is gone) is given up without an attempt."""
    await conn.execute(
        update(events)
        .where(events.c.id == event_id, events.c.state.in_(OPEN))
        .values(state=DEAD, lease_until=None)
    )


async def insert_attempt(conn: AsyncConnection, values: dict[str, Any]) -> None:
    await conn.execute(insert(attempts).values(**values))


async def waiting_keys(conn: AsyncConnection, business_id: str) -> list[str]:
    """The ordering keys with events waiting to go, of one business."""
    rows = await conn.execute(
        select(events.c.ordering_key)
        .where(events.c.business_id == business_id, events.c.state.in_(OPEN))
        .distinct()
    )
    return [r[0] for r in rows]


# -- the delivery log and replay -------------------------------------------------------------
async def logged_events(
    conn: AsyncConnection,
    business_id: str,
    *,
    since: datetime | None,
    until: datetime | None,
    state: str | None,
    before: str | None,
    limit: int,
) -> list[EventRow]:
    """Newest first; `before` is the last id of the previous page."""
    query = (
        select(events)
        .where(events.c.business_id == business_id)
        .order_by(events.c.id.desc())
        .limit(limit)
    )
    if since is not None:
        query = query.where(events.c.created_at >= since)
    if until is not None:
        query = query.where(events.c.created_at < until)
    if state is not None:
        query = query.where(events.c.state == state)
    if before is not None:
        query = query.where(events.c.id < before)
    return [_event(r) for r in await conn.execute(query)]


async def attempts_of(conn: AsyncConnection, event_ids: list[str]) -> dict[str, list[AttemptRow]]:
    found: dict[str, list[AttemptRow]] = {event_id: [] for event_id in event_ids}
    if not event_ids:
        return found
    rows = await conn.execute(
        select(attempts)
        .where(attempts.c.event_id.in_(event_ids))
        .order_by(attempts.c.at, attempts.c.id)
    )
    for row in rows:
        found[row.event_id].append(AttemptRow(**row._mapping))
    return found


async def replayable_keys(
    conn: AsyncConnection, business_id: str, since: datetime, until: datetime
) -> list[str]:
    rows = await conn.execute(
        select(events.c.ordering_key)
        .where(
            events.c.business_id == business_id,
            events.c.created_at >= since,
            events.c.created_at < until,
        )
        .distinct()
        .order_by(events.c.ordering_key)
    )
    return [r[0] for r in rows]


async def requeue(
    conn: AsyncConnection,
    business_id: str,
    ordering_key: str,
    since: datetime,
    until: datetime,
    expires_at: datetime,
) -> int:
    """Put the key's events of the range back to pending, due now; how many.

    One being sent at this moment is left alone (it is going out); one whose body is
    gone cannot be sent again.
    """
    result = await conn.execute(
        update(events)
        .where(
            events.c.business_id == business_id,
            events.c.ordering_key == ordering_key,
            events.c.created_at >= since,
            events.c.created_at < until,
            events.c.state != SENDING,
            events.c.body_enc.is_not(None),
        )
        .values(
            state=PENDING,
            next_attempt_at=None,
            lease_until=None,
            delivered_at=None,
            expires_at=expires_at,
        )
    )
    return int(result.rowcount)


# -- retention (the sweep calls these) -------------------------------------------------------
async def drop_bodies_older_than(conn: AsyncConnection, cutoff: datetime, limit: int) -> int:
    """R2: no message text kept past the period. Bodies of events made before `cutoff`
    are deleted (at most `limit`); one still waiting is given up with it, since without
    its body it can never be sent."""
    ids = select(events.c.id).where(
        events.c.created_at < cutoff,
        events.c.body_enc.is_not(None),
        # One in flight keeps its body until its attempt settles.
        events.c.state != SENDING,
    )
    chosen = [r[0] for r in await conn.execute(ids.order_by(events.c.id).limit(limit))]
    if not chosen:
        return 0
    await conn.execute(
        update(events)
        .where(events.c.id.in_(chosen))
        .values(body_enc=None, state=case((events.c.state == PENDING, DEAD), else_=events.c.state))
    )
    return len(chosen)


async def delete_log_older_than(conn: AsyncConnection, cutoff: datetime, limit: int) -> int:
    """Events made before `cutoff` and their attempts (at most `limit` events)."""
    chosen = [
        r[0]
        for r in await conn.execute(
            select(events.c.id)
            .where(events.c.created_at < cutoff, events.c.state != SENDING)
            .order_by(events.c.id)
            .limit(limit)
        )
    ]
    if not chosen:
        return 0
    await conn.execute(delete(attempts).where(attempts.c.event_id.in_(chosen)))
    await conn.execute(delete(events).where(events.c.id.in_(chosen)))
    return len(chosen)


async def count_bodies_older_than(conn: AsyncConnection, cutoff: datetime) -> int:
    value = (
        await conn.execute(
            select(func.count()).where(
                events.c.created_at < cutoff,
                events.c.body_enc.is_not(None),
                events.c.state != SENDING,
            )
        )
    ).scalar_one()
    return int(value)


async def oldest_body(conn: AsyncConnection) -> datetime | None:
    value: datetime | None = (
        await conn.execute(
            select(func.min(events.c.created_at)).where(events.c.body_enc.is_not(None))
        )
    ).scalar()
    return value


async def count_log_older_than(conn: AsyncConnection, cutoff: datetime) -> int:
    value = (
        await conn.execute(
            select(func.count()).where(events.c.created_at < cutoff, events.c.state != SENDING)
        )
    ).scalar_one()
    return int(value)


async def oldest_event(conn: AsyncConnection) -> datetime | None:
    value: datetime | None = (await conn.execute(select(func.min(events.c.created_at)))).scalar()
    return value
