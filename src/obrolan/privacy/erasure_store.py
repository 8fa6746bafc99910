"""SQL of the erasure (R3, R4): a person's rows, removed or emptied, `limit` at a time.

Each function changes at most `limit` rows and says how many, so the erasure works in
short transactions that never keep a chat send waiting for the write lock for long.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Select, Table, delete, func, or_, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncConnection

from obrolan.accounts.models import auth_sessions, contact_settings, users, verification_codes
from obrolan.chat.models import blocks, memberships, messages, reactions
from obrolan.profile.models import profile_photos, profiles
from obrolan.realtime.models import events


async def tombstone_messages(conn: AsyncConnection, user_id: str, now: datetime, limit: int) -> int:
    """The person's messages become deleted ones, as an author's delete leaves them: no
    text, a `deleted_at`; they keep their place in other people's history."""
    batch = (
        select(messages.c.id)
        .where(messages.c.sender_id == user_id, messages.c.body_enc.is_not(None))
        .limit(limit)
        .scalar_subquery()
    )
    result = await conn.execute(
        update(messages)
        .where(messages.c.id.in_(batch))
        .values(body_enc=None, deleted_at=now, edited_at=None)
    )
    return int(result.rowcount)


async def delete_reactions_on_messages_of(conn: AsyncConnection, user_id: str, limit: int) -> int:
    """Reactions on the person's messages go with their text, as with an author's delete."""
    theirs = select(messages.c.id).where(messages.c.sender_id == user_id)
    batch = (
        select(reactions.c.message_id, reactions.c.user_id, reactions.c.emoji)
        .where(reactions.c.message_id.in_(theirs))
        .limit(limit)
    )
    return await _delete_batch(conn, reactions, batch)


async def delete_reactions_by(conn: AsyncConnection, user_id: str, limit: int) -> int:
    batch = (
        select(reactions.c.message_id, reactions.c.user_id, reactions.c.emoji)
        .where(reactions.c.user_id == user_id)
        .limit(limit)
    )
    return await _delete_batch(conn, reactions, batch)


async def _delete_batch(conn: AsyncConnection, table: Table, batch: Select[Any]) -> int:
    """Delete the rows whose primary key `batch` selects (composite keys included)."""
    key = tuple_(*table.primary_key.columns)
    result = await conn.execute(delete(table).where(key.in_(batch)))
    return int(result.rowcount)


async def delete_memberships(conn: AsyncConnection, user_id: str, limit: int) -> int:
    """Memberships, and with them the receipts (delivered/read markers) they hold."""
    batch = (
        select(memberships.c.room_id, memberships.c.user_id)
        .where(memberships.c.user_id == user_id)
        .limit(limit)
    )
    return await _delete_batch(conn, memberships, batch)


async def delete_blocks(conn: AsyncConnection, user_id: str, limit: int) -> int:
    batch = (
        select(blocks.c.blocker_id, blocks.c.blocked_id)
        .where(or_(blocks.c.blocker_id == user_id, blocks.c.blocked_id == user_id))
        .limit(limit)
    )
    return await _delete_batch(conn, blocks, batch)


async def delete_events_for(conn: AsyncConnection, user_id: str, limit: int) -> int:
    """Events addressed to the person alone (their membership changes, device alerts)."""
    batch = (
        select(events.c.position).where(events.c.target_user_id == user_id).limit(limit)
    ).scalar_subquery()
    result = await conn.execute(delete(events).where(events.c.position.in_(batch)))
    return int(result.rowcount)


async def delete_sessions(conn: AsyncConnection, user_id: str, limit: int) -> int:
    batch = (
        select(auth_sessions.c.id).where(auth_sessions.c.user_id == user_id).limit(limit)
    ).scalar_subquery()
    result = await conn.execute(delete(auth_sessions).where(auth_sessions.c.id.in_(batch)))
    return int(result.rowcount)


async def delete_owned_row(conn: AsyncConnection, table: Table, user_id: str) -> int:
    """A table with at most a few rows per person, keyed by `user_id`."""
    result = await conn.execute(delete(table).where(table.c.user_id == user_id))
    return int(result.rowcount)


# One row (or one per channel) per person: deleted in one statement each.
OWNED_TABLES: tuple[Table, ...] = (verification_codes, profiles, profile_photos, contact_settings)


def tombstone_username(user_id: str) -> str:
    """A placeholder no sign-up can take ("~" is not allowed in usernames), so the real
    username is free again and the row still satisfies NOT NULL and UNIQUE."""
    return "~" + user_id.lower()


async def tombstone_user(conn: AsyncConnection, user_id: str, now: datetime) -> None:
    """The users row keeps its id (other rows refer to it) and nothing personal."""
    await conn.execute(
        update(users)
        .where(users.c.id == user_id)
        .values(
            username=tombstone_username(user_id),
            display_name_enc=b"",
            email_enc=None,
            email_index=None,
            phone_enc=None,
            phone_index=None,
            # No password can match an empty hash; the account is closed anyway.
            password_hash="",
            totp_secret_enc=None,
            totp_enabled=False,
            totp_last_step=None,
            email_verified_at=None,
            phone_verified_at=None,
            restricted_at=None,
            objected_at=None,
            closed_at=func.coalesce(users.c.closed_at, now),
            erased_at=now,
        )
    )


async def unerased_user_ids(conn: AsyncConnection, after: str, limit: int) -> list[str]:
    """Ids of accounts not erased, in id order from after `after`."""
    rows = await conn.execute(
        select(users.c.id)
        .where(users.c.erased_at.is_(None), users.c.id > after)
        .order_by(users.c.id)
        .limit(limit)
    )
    return [r[0] for r in rows]
