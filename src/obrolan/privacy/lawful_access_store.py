"""SQL for lawful access requests (R7). No decisions here: see lawful_access_rules.py."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from obrolan.privacy.lawful_access_rules import LawfulAccessStatus
from obrolan.privacy.models import lawful_access_requests, lawful_access_rooms

_OPEN = [LawfulAccessStatus.pending.value, LawfulAccessStatus.approved.value]


@dataclass(frozen=True, slots=True)
class LawfulAccessRow:
    id: str
    requested_by: str
    reason: str
    legal_basis: str
    room_ids: list[str]
    starts_at: datetime
    ends_at: datetime
    hold_until: datetime | None
    status: LawfulAccessStatus
    decided_by: str | None
    decided_at: datetime | None
    decision_note: str | None
    created_at: datetime


def _request(row: Row[Any], room_ids: list[str]) -> LawfulAccessRow:
    values = dict(row._mapping)
    values["status"] = LawfulAccessStatus(values["status"])
    return LawfulAccessRow(room_ids=room_ids, **values)


async def insert_request(
    conn: AsyncConnection, values: dict[str, Any], room_ids: Sequence[str]
) -> None:
    await conn.execute(insert(lawful_access_requests).values(**values))
    await conn.execute(
        insert(lawful_access_rooms),
        [{"request_id": values["id"], "room_id": room_id} for room_id in room_ids],
    )


async def _rooms_of(conn: AsyncConnection, ids: Sequence[str]) -> dict[str, list[str]]:
    rows = await conn.execute(
        select(lawful_access_rooms.c.request_id, lawful_access_rooms.c.room_id)
        .where(lawful_access_rooms.c.request_id.in_(list(ids)))
        .order_by(lawful_access_rooms.c.room_id)
    )
    out: dict[str, list[str]] = {}
    for request_id, room_id in rows:
        out.setdefault(request_id, []).append(room_id)
    return out


async def get_request(conn: AsyncConnection, request_id: str) -> LawfulAccessRow | None:
    row = (
        await conn.execute(
            select(lawful_access_requests).where(lawful_access_requests.c.id == request_id)
        )
    ).first()
    if row is None:
        return None
    return _request(row, (await _rooms_of(conn, [request_id])).get(request_id, []))


async def list_requests(
    conn: AsyncConnection,
    *,
    status: LawfulAccessStatus | None,
    before_id: str | None,
    limit: int,
) -> list[LawfulAccessRow]:
    """Requests newest first (ids sort by time), optionally of one status."""
    query = select(lawful_access_requests)
    if status is not None:
        query = query.where(lawful_access_requests.c.status == status.value)
    if before_id is not None:
        query = query.where(lawful_access_requests.c.id < before_id)
    rows = list(await conn.execute(query.order_by(lawful_access_requests.c.id.desc()).limit(limit)))
    rooms = await _rooms_of(conn, [r.id for r in rows])
    return [_request(r, rooms.get(r.id, [])) for r in rows]


async def decide(
    conn: AsyncConnection,
    request_id: str,
    status: LawfulAccessStatus,
    *,
    by: str,
    at: datetime,
    note: str | None,
) -> bool:
    """Approve or refuse a pending request; False when it was no longer pending."""
    result = await conn.execute(
        update(lawful_access_requests)
        .where(
            lawful_access_requests.c.id == request_id,
            lawful_access_requests.c.status == LawfulAccessStatus.pending.value,
        )
        .values(status=status.value, decided_by=by, decided_at=at, decision_note=note)
    )
    return bool(result.rowcount)


async def expire(conn: AsyncConnection, request_ids: Sequence[str]) -> list[str]:
    """Mark these pending or approved requests expired; the ids that were changed."""
    if not request_ids:
        return []
    rows = await conn.execute(
        update(lawful_access_requests)
        .where(
            lawful_access_requests.c.id.in_(list(request_ids)),
            lawful_access_requests.c.status.in_(_OPEN),
        )
        .values(status=LawfulAccessStatus.expired.value)
        .returning(lawful_access_requests.c.id)
    )
    return sorted(r.id for r in rows)


async def lapsed_ids(conn: AsyncConnection, now: datetime, limit: int) -> list[str]:
    """Pending or approved requests whose window has ended."""
    rows = await conn.execute(
        select(lawful_access_requests.c.id)
        .where(
            lawful_access_requests.c.status.in_(_OPEN),
            lawful_access_requests.c.ends_at <= now,
        )
        .order_by(lawful_access_requests.c.id)
        .limit(limit)
    )
    return [r.id for r in rows]


async def delete_ended_before(conn: AsyncConnection, cutoff: datetime, limit: int) -> int:
    """Remove finished requests whose window (or hold) ended before `cutoff` (R5)."""
    ended = (
        select(lawful_access_requests.c.id)
        .where(
            lawful_access_requests.c.status.not_in(_OPEN),
            lawful_access_requests.c.ends_at < cutoff,
            (lawful_access_requests.c.hold_until.is_(None))
            | (lawful_access_requests.c.hold_until < cutoff),
        )
        .limit(limit)
    )
    ids = [r.id for r in await conn.execute(ended)]
    if not ids:
        return 0
    await conn.execute(delete(lawful_access_rooms).where(lawful_access_rooms.c.request_id.in_(ids)))
    await conn.execute(delete(lawful_access_requests).where(lawful_access_requests.c.id.in_(ids)))
    return len(ids)
