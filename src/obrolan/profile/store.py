"""SQL for profiles and their photos, and the one query that says who is a contact."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table, and_, delete, exists, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from obrolan.chat.models import blocks, memberships, rooms
from obrolan.chat.rules import Kind, State, direct_key
from obrolan.profile.models import profile_photos, profiles


@dataclass(frozen=True, slots=True)
class ProfileRow:
    user_id: str
    gender_enc: bytes | None
    date_of_birth_enc: bytes | None
    bio_enc: bytes | None
    language_enc: bytes | None
    photo_visibility: str
    gender_visibility: str
    date_of_birth_visibility: str
    bio_visibility: str
    has_photo: bool


async def profile_of(conn: AsyncConnection, user_id: str) -> ProfileRow | None:
    """The person's profile row and whether they have a photo, in one query."""
    has_photo = exists().where(profile_photos.c.user_id == profiles.c.user_id)
    row = (
        await conn.execute(
            select(profiles, has_photo.label("has_photo")).where(profiles.c.user_id == user_id)
        )
    ).first()
    if row is None:
        return None
    return ProfileRow(
        row.user_id,
        row.gender_enc,
        row.date_of_birth_enc,
        row.bio_enc,
        row.language_enc,
        row.photo_visibility,
        row.gender_visibility,
        row.date_of_birth_visibility,
        row.bio_visibility,
        bool(row.has_photo),
    )


def _upsert(
    conn: AsyncConnection, table: Table, values: dict[str, Any], update: dict[str, Any]
) -> Any:
    """INSERT ... ON CONFLICT (user_id) DO UPDATE, which both backends speak."""
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    return (
        insert(table)
        .values(**values)
        .on_conflict_do_update(index_elements=[table.c.user_id], set_=update)
    )


async def put_profile(
    conn: AsyncConnection, user_id: str, values: dict[str, Any], *, defaults: dict[str, Any]
) -> None:
    """Write these columns of the person's profile; a new row takes `defaults` for the rest."""
    await conn.execute(_upsert(conn, profiles, {"user_id": user_id, **defaults, **values}, values))


async def photo_of(conn: AsyncConnection, user_id: str) -> bytes | None:
    """The sealed photo, or None."""
    found = await conn.execute(
        select(profile_photos.c.image_enc).where(profile_photos.c.user_id == user_id)
    )
    return found.scalar_one_or_none()


async def put_photo(conn: AsyncConnection, user_id: str, image_enc: bytes, at: datetime) -> None:
    update = {"image_enc": image_enc, "updated_at": at}
    await conn.execute(_upsert(conn, profile_photos, {"user_id": user_id, **update}, update))


async def delete_photo(conn: AsyncConnection, user_id: str) -> bool:
    result = await conn.execute(delete(profile_photos).where(profile_photos.c.user_id == user_id))
    return result.rowcount == 1


async def are_contacts(conn: AsyncConnection, a: str, b: str) -> bool:
    """Whether both people are joined members of their direct chat and neither blocked the other.

    One query: the direct chat is found by its key (chat.rules.direct_key).
    """
    mine, theirs = memberships.alias("mine"), memberships.alias("theirs")
    joined = State.JOIN.value
    blocked = exists().where(
        or_(
            and_(blocks.c.blocker_id == a, blocks.c.blocked_id == b),
            and_(blocks.c.blocker_id == b, blocks.c.blocked_id == a),
        )
    )
    found = await conn.execute(
        select(rooms.c.id)
        .join(mine, and_(mine.c.room_id == rooms.c.id, mine.c.user_id == a))
        .join(theirs, and_(theirs.c.room_id == rooms.c.id, theirs.c.user_id == b))
        .where(
            rooms.c.direct_key == direct_key(a, b),
            rooms.c.kind == Kind.DIRECT.value,
            mine.c.state == joined,
            theirs.c.state == joined,
            ~blocked,
        )
    )
    return found.first() is not None
