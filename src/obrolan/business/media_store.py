"""SQL for a business's media and the rooms it was sent into."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, exists, func, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from obrolan.business.media_models import business_media, business_media_rooms
from obrolan.chat.models import memberships


@dataclass(frozen=True, slots=True)
class StoredMedia:
    id: str
    business_id: str
    mime_type: str
    sha256: str
    file_size: int
    filename_enc: bytes | None
    file_path: str
    created_at: datetime


def _media(row: Row[tuple[object, ...]]) -> StoredMedia:
    m = row._mapping
    return StoredMedia(
        m["id"],
        m["business_id"],
        m["mime_type"],
        m["sha256"],
        m["file_size"],
        m["filename_enc"],
        m["file_path"],
        m["created_at"],
    )


async def insert_media(conn: AsyncConnection, media: StoredMedia) -> None:
    await conn.execute(
        insert(business_media).values(
            id=media.id,
            business_id=media.business_id,
            mime_type=media.mime_type,
            sha256=media.sha256,
            file_size=media.file_size,
            filename_enc=media.filename_enc,
            file_path=media.file_path,
            created_at=media.created_at,
        )
    )


async def media_by_id(conn: AsyncConnection, media_id: str) -> StoredMedia | None:
    row = (
        await conn.execute(select(business_media).where(business_media.c.id == media_id))
    ).first()
    return _media(row) if row is not None else None


async def delete_media(conn: AsyncConnection, media_id: str) -> None:
    # The room grants go with it (ON DELETE CASCADE; SQLite too, foreign keys are on).
    await conn.execute(
        delete(business_media_rooms).where(business_media_rooms.c.media_id == media_id)
    )
    await conn.execute(delete(business_media).where(business_media.c.id == media_id))


async def media_older_than(
    conn: AsyncConnection, cutoff: datetime, limit: int
) -> Sequence[StoredMedia]:
    rows = await conn.execute(
        select(business_media)
        .where(business_media.c.created_at < cutoff)
        .order_by(business_media.c.created_at)
        .limit(limit)
    )
    return [_media(r) for r in rows]


async def count_older_than(conn: AsyncConnection, cutoff: datetime) -> int:
    value = (
        await conn.execute(
            select(func.count())
            .select_from(business_media)
            .where(business_media.c.created_at < cutoff)
        )
    ).scalar_one()
    return int(value)


async def oldest_media(conn: AsyncConnection) -> datetime | None:
    value: datetime | None = (
        await conn.execute(select(func.min(business_media.c.created_at)))
    ).scalar()
    return value


async def grant_room(conn: AsyncConnection, media_id: str, room_id: str, now: datetime) -> None:
    """Let the room's members download the media (again: the first grant's time stays)."""
    values = {"media_id": media_id, "room_id": room_id, "granted_at": now}
    insert_stmt = (
        postgresql.insert(business_media_rooms)
        if conn.dialect.name == "postgresql"
        else sqlite.insert(business_media_rooms)
    )
    await conn.execute(insert_stmt.values(**values).on_conflict_do_nothing())


async def member_may_download(conn: AsyncConnection, media_id: str, user_id: str) -> bool:
    """Whether the person is a joined member of a room the media was granted to."""
    granted = (
        select(business_media_rooms.c.room_id)
        .join(memberships, memberships.c.room_id == business_media_rooms.c.room_id)
        .where(
            business_media_rooms.c.media_id == media_id,
            memberships.c.user_id == user_id,
            memberships.c.state == "join",
        )
    )
    return bool(await conn.scalar(select(exists(granted))))
