"""SQL for exports: their parts and rows, the request they answer, and the pages they read.

No decisions here. Every read of a person's data comes in bounded pages with a keyset
(the last key of the page before), so an export of a person with 100k messages never
holds more than one page in memory.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, delete, exists, func, insert, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncConnection

from obrolan.accounts.models import auth_sessions, users
from obrolan.chat.models import blocks, memberships, messages, reactions, rooms
from obrolan.chat.rules import State
from obrolan.privacy.export.models import privacy_export_parts, privacy_exports
from obrolan.privacy.models import privacy_requests
from obrolan.privacy.rules import OPEN_STATUSES, RequestStatus

# Parts of a build that never finished are left alone this long (a build in progress
# writes its parts before its row), then removed by `delete_expired_exports`.
UNFINISHED_PARTS_KEPT = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class ExportRow:
    id: str
    request_id: str
    user_id: str
    key_enc: bytes
    size: int
    parts: int
    created_at: datetime
    expires_at: datetime
    downloaded_at: datetime | None


@dataclass(frozen=True, slots=True)
class ExportRequest:
    id: str
    user_id: str
    kind: str
    status: str

    @property
    def open(self) -> bool:
        return self.status in OPEN_STATUSES


def _export(row: Row[Any]) -> ExportRow:
    return ExportRow(**row._mapping)


# -- the export's parts and row -------------------------------------------------------
async def insert_part(
    conn: AsyncConnection, export_id: str, seq: int, sealed: bytes, now: datetime
) -> None:
    await conn.execute(
        insert(privacy_export_parts).values(
            export_id=export_id, seq=seq, data=sealed, created_at=now
        )
    )


async def part(conn: AsyncConnection, export_id: str, seq: int) -> bytes | None:
    found = await conn.execute(
        select(privacy_export_parts.c.data).where(
            privacy_export_parts.c.export_id == export_id, privacy_export_parts.c.seq == seq
        )
    )
    value: bytes | None = found.scalar_one_or_none()
    return value


async def delete_parts(conn: AsyncConnection, export_id: str) -> int:
    result = await conn.execute(
        delete(privacy_export_parts).where(privacy_export_parts.c.export_id == export_id)
    )
    return int(result.rowcount or 0)


async def insert_export(conn: AsyncConnection, row: ExportRow) -> None:
    await conn.execute(
        insert(privacy_exports).values(
            id=row.id,
            request_id=row.request_id,
            user_id=row.user_id,
            key_enc=row.key_enc,
            size=row.size,
            parts=row.parts,
            created_at=row.created_at,
            expires_at=row.expires_at,
            downloaded_at=row.downloaded_at,
        )
    )


async def export_by_id(conn: AsyncConnection, export_id: str) -> ExportRow | None:
    row = (
        await conn.execute(select(privacy_exports).where(privacy_exports.c.id == export_id))
    ).first()
    return _export(row) if row else None


async def export_of_request(conn: AsyncConnection, request_id: str) -> ExportRow | None:
    row = (
        await conn.execute(
            select(privacy_exports).where(privacy_exports.c.request_id == request_id)
        )
    ).first()
    return _export(row) if row else None


async def exports_of(conn: AsyncConnection, user_id: str, limit: int = 100) -> list[ExportRow]:
    """The person's exports, newest first."""
    rows = await conn.execute(
        select(privacy_exports)
        .where(privacy_exports.c.user_id == user_id)
        .order_by(privacy_exports.c.created_at.desc(), privacy_exports.c.id.desc())
        .limit(limit)
    )
    return [_export(r) for r in rows]


async def mark_downloaded(conn: AsyncConnection, export_id: str, at: datetime) -> None:
    await conn.execute(
        update(privacy_exports).where(privacy_exports.c.id == export_id).values(downloaded_at=at)
    )


async def delete_expired_exports(conn: AsyncConnection, now: datetime, limit: int) -> int:
    """Delete up to `limit` exports past `expires_at`, with their parts, and up to `limit`
    parts left by builds that never finished; the rows removed (exports + such parts).

    For the retention sweep (rule "export"): called until it returns less than `limit`.
    """
    expired = [
        r[0]
        for r in await conn.execute(
            select(privacy_exports.c.id)
            .where(privacy_exports.c.expires_at <= now)
            .order_by(privacy_exports.c.expires_at)
            .limit(limit)
        )
    ]
    if expired:
        await conn.execute(
            delete(privacy_export_parts).where(privacy_export_parts.c.export_id.in_(expired))
        )
        await conn.execute(delete(privacy_exports).where(privacy_exports.c.id.in_(expired)))
    finished = exists().where(privacy_exports.c.id == privacy_export_parts.c.export_id)
    unfinished = (
        select(privacy_export_parts.c.export_id, privacy_export_parts.c.seq)
        .where(
            privacy_export_parts.c.created_at < now - UNFINISHED_PARTS_KEPT,
            ~finished,
        )
        .limit(limit)
    )
    leftovers = [(r[0], r[1]) for r in await conn.execute(unfinished)]
    for export_id, seq in leftovers:
        await conn.execute(
            delete(privacy_export_parts).where(
                privacy_export_parts.c.export_id == export_id, privacy_export_parts.c.seq == seq
            )
        )
    return len(expired) + len(leftovers)


async def count_expired_exports(conn: AsyncConnection, now: datetime) -> int:
    """Exports past `expires_at`: what the sweep would delete (a dry run)."""
    query = (
        select(func.count()).select_from(privacy_exports).where(privacy_exports.c.expires_at <= now)
    )
    return int((await conn.execute(query)).scalar_one())


async def oldest_export(conn: AsyncConnection) -> datetime | None:
    oldest: datetime | None = (
        await conn.execute(select(func.min(privacy_exports.c.created_at)))
    ).scalar_one()
    return oldest


# -- the request it answers (R13: progress and completion) ------------------------------
async def export_request(conn: AsyncConnection, request_id: str) -> ExportRequest | None:
    row = (
        await conn.execute(
            select(
                privacy_requests.c.id,
                privacy_requests.c.user_id,
                privacy_requests.c.kind,
                privacy_requests.c.status,
            ).where(privacy_requests.c.id == request_id)
        )
    ).first()
    return ExportRequest(row.id, row.user_id, row.kind, row.status) if row else None


async def set_request_progress(conn: AsyncConnection, request_id: str, progress: int) -> None:
    """The request is being worked on, this far (0..100); a closed request is left alone."""
    await conn.execute(
        update(privacy_requests)
        .where(
            privacy_requests.c.id == request_id,
            privacy_requests.c.status.in_([str(s) for s in OPEN_STATUSES]),
        )
        .values(status=str(RequestStatus.in_progress), progress=max(0, min(100, progress)))
    )


# -- what an export reads, page by page -------------------------------------------------
async def account_row(conn: AsyncConnection, user_id: str) -> Row[Any] | None:
    """The person's `users` row, closed or not."""
    return (await conn.execute(select(users).where(users.c.id == user_id))).first()


async def users_by_ids(conn: AsyncConnection, user_ids: Iterable[str]) -> list[Any]:
    """Open accounts among these ids: id and sealed display name only."""
    ids = list(set(user_ids))
    if not ids:
        return []
    rows = await conn.execute(
        select(users.c.id, users.c.display_name_enc).where(
            users.c.id.in_(ids), users.c.closed_at.is_(None)
        )
    )
    return list(rows)


async def sessions_page(
    conn: AsyncConnection, user_id: str, after: str | None, limit: int
) -> list[Row[Any]]:
    stmt = select(auth_sessions).where(auth_sessions.c.user_id == user_id)
    if after is not None:
        stmt = stmt.where(auth_sessions.c.id > after)
    return list(await conn.execute(stmt.order_by(auth_sessions.c.id).limit(limit)))


async def memberships_page(
    conn: AsyncConnection,
    user_id: str,
    after: str | None,
    limit: int,
    states: Iterable[State] | None = None,
) -> list[Row[Any]]:
    """The person's memberships with their rooms, by room id."""
    stmt = (
        select(
            memberships.c.room_id,
            memberships.c.state,
            memberships.c.role,
            memberships.c.invited_by,
            memberships.c.delivered_up_to,
            memberships.c.read_up_to,
            memberships.c.updated_at,
            rooms.c.kind,
            rooms.c.name,
            rooms.c.topic,
            rooms.c.direct_key,
            rooms.c.created_by,
            rooms.c.created_at,
        )
        .join(rooms, rooms.c.id == memberships.c.room_id)
        .where(memberships.c.user_id == user_id)
    )
    if states is not None:
        stmt = stmt.where(memberships.c.state.in_([s.value for s in states]))
    if after is not None:
        stmt = stmt.where(memberships.c.room_id > after)
    return list(await conn.execute(stmt.order_by(memberships.c.room_id).limit(limit)))


async def count_messages(conn: AsyncConnection, user_id: str) -> int:
    value = (
        await conn.execute(select(func.count()).where(messages.c.sender_id == user_id))
    ).scalar_one()
    return int(value)


async def messages_page(
    conn: AsyncConnection, user_id: str, after: tuple[str, str] | None, limit: int
) -> list[Row[Any]]:
    """Messages the person wrote, by (room, client_msg_id): the order of the unique index
    on (sender_id, room_id, client_msg_id), so every page is an index range scan."""
    stmt = select(messages).where(messages.c.sender_id == user_id)
    if after is not None:
        # A row value, which both backends seek to in the index; the same condition
        # spelled with OR made SQLite read the person's messages from the first each page.
        stmt = stmt.where(tuple_(messages.c.room_id, messages.c.client_msg_id) > tuple_(*after))
    stmt = stmt.order_by(messages.c.room_id, messages.c.client_msg_id).limit(limit)
    return list(await conn.execute(stmt))


async def reactions_page(
    conn: AsyncConnection, user_id: str, after: tuple[str, str] | None, limit: int
) -> list[Row[Any]]:
    """The person's reactions, with the room of the message each is on.

    No index starts with `reactions.user_id`: the pages walk the primary key from where
    the last one ended, so one export reads the reactions table once in all.
    """
    stmt = (
        select(
            reactions.c.message_id,
            reactions.c.emoji,
            reactions.c.created_at,
            messages.c.room_id,
        )
        .join(messages, messages.c.id == reactions.c.message_id)
        .where(reactions.c.user_id == user_id)
    )
    if after is not None:
        stmt = stmt.where(tuple_(reactions.c.message_id, reactions.c.emoji) > tuple_(*after))
    stmt = stmt.order_by(reactions.c.message_id, reactions.c.emoji).limit(limit)
    return list(await conn.execute(stmt))


async def blocks_page(
    conn: AsyncConnection, user_id: str, after: str | None, limit: int
) -> list[Any]:
    """The blocks the person made (not those made against them: those are the blocker's)."""
    stmt = select(blocks.c.blocked_id, blocks.c.created_at).where(blocks.c.blocker_id == user_id)
    if after is not None:
        stmt = stmt.where(blocks.c.blocked_id > after)
    return list(await conn.execute(stmt.order_by(blocks.c.blocked_id).limit(limit)))


async def requests_page(
    conn: AsyncConnection, user_id: str, after: str | None, limit: int
) -> list[Row[Any]]:
    """The person's data requests."""
    stmt = select(privacy_requests).where(privacy_requests.c.user_id == user_id)
    if after is not None:
        stmt = stmt.where(privacy_requests.c.id > after)
    return list(await conn.execute(stmt.order_by(privacy_requests.c.id).limit(limit)))
