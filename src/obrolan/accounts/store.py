"""SQL for people, sessions, contact settings, sign-in failures and throttled actions."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import ColumnElement, Row, delete, func, insert, or_, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncConnection

from obrolan.accounts.models import (
    auth_sessions,
    contact_settings,
    users,
    verification_codes,
)
from obrolan.accounts.records import ContactSettings
from obrolan.accounts.rules import SessionCutoffs

Channel = Literal["email", "phone"]


@dataclass(frozen=True, slots=True)
class CodeRow:
    address_index: bytes
    code_hash: bytes
    attempts: int
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class UserRow:
    id: str
    username: str
    display_name_enc: bytes
    email_enc: bytes | None
    phone_enc: bytes | None
    password_hash: str
    totp_secret_enc: bytes | None
    totp_enabled: bool
    totp_last_step: int | None
    is_admin: bool
    created_at: datetime
    email_verified_at: datetime | None
    phone_verified_at: datetime | None


@dataclass(frozen=True, slots=True)
class SessionRow:
    id: str
    user_id: str
    device_name_enc: bytes | None
    created_at: datetime
    last_seen_at: datetime


@dataclass(frozen=True, slots=True)
class ActiveToken:
    """What a bearer token resolves to: its session, its person, and when it was last used."""

    session_id: str
    user_id: str
    is_admin: bool
    created_at: datetime
    last_seen_at: datetime


def _user(row: Row[Any]) -> UserRow:
    return UserRow(
        row.id,
        row.username,
        row.display_name_enc,
        row.email_enc,
        row.phone_enc,
        row.password_hash,
        row.totp_secret_enc,
        bool(row.totp_enabled),
        row.totp_last_step,
        bool(row.is_admin),
        row.created_at,
        row.email_verified_at,
        row.phone_verified_at,
    )


def _session(row: Row[Any]) -> SessionRow:
    return SessionRow(row.id, row.user_id, row.device_name_enc, row.created_at, row.last_seen_at)


# -- people --------------------------------------------------------------------------
async def insert_user(conn: AsyncConnection, values: dict[str, Any]) -> None:
    await conn.execute(insert(users).values(**values))


async def user_by_id(conn: AsyncConnection, user_id: str) -> UserRow | None:
    row = (
        await conn.execute(select(users).where(users.c.id == user_id, users.c.closed_at.is_(None)))
    ).first()
    return _user(row) if row else None


async def user_by_username(conn: AsyncConnection, username: str) -> UserRow | None:
    row = (
        await conn.execute(
            select(users).where(users.c.username == username, users.c.closed_at.is_(None))
        )
    ).first()
    return _user(row) if row else None


async def username_taken(conn: AsyncConnection, username: str) -> bool:
    """Closed accounts keep their username (R3 keeps the row 90 days after closing)."""
    found = await conn.execute(select(users.c.id).where(users.c.username == username))
    return found.first() is not None


async def user_by_verified_address(
    conn: AsyncConnection, channel: Channel, index: bytes
) -> UserRow | None:
    """The open account whose verified email or phone has this blind index (F1, F14)."""
    row = (
        await conn.execute(
            select(users).where(
                users.c[f"{channel}_index"] == index,
                users.c[f"{channel}_verified_at"].is_not(None),
                users.c.closed_at.is_(None),
            )
        )
    ).first()
    return _user(row) if row else None


async def phone_index_of(conn: AsyncConnection, user_id: str) -> bytes | None:
    """The blind index of the person's verified phone number, if they verified one."""
    value = (
        await conn.execute(
            select(users.c.phone_index).where(
                users.c.id == user_id, users.c.phone_verified_at.is_not(None)
            )
        )
    ).scalar()
    return bytes(value) if value is not None else None


async def release_address(
    conn: AsyncConnection, channel: Channel, index: bytes, keep_user_id: str
) -> None:
    """Every other account holding this address's index loses the index and its verification."""
    await conn.execute(
        update(users)
        .where(users.c[f"{channel}_index"] == index, users.c.id != keep_user_id)
        .values({f"{channel}_index": None, f"{channel}_verified_at": None})
    )


# -- verification codes (F1) ---------------------------------------------------------------
async def replace_code(conn: AsyncConnection, values: dict[str, Any]) -> None:
    """The person's pending code for a channel becomes this one (one pending code each)."""
    await delete_code(conn, values["user_id"], values["channel"])
    await conn.execute(insert(verification_codes).values(**values))


async def pending_code(conn: AsyncConnection, user_id: str, channel: Channel) -> CodeRow | None:
    c = verification_codes.c
    row = (
        await conn.execute(
            select(c.address_index, c.code_hash, c.attempts, c.expires_at).where(
                c.user_id == user_id, c.channel == channel
            )
        )
    ).first()
    return CodeRow(row.address_index, row.code_hash, row.attempts, row.expires_at) if row else None


async def count_code_attempt(conn: AsyncConnection, user_id: str, channel: Channel) -> None:
    c = verification_codes.c
    await conn.execute(
        update(verification_codes)
        .where(c.user_id == user_id, c.channel == channel)
        .values(attempts=c.attempts + 1)
    )


async def delete_code(conn: AsyncConnection, user_id: str, channel: Channel) -> None:
    c = verification_codes.c
    await conn.execute(delete(verification_codes).where(c.user_id == user_id, c.channel == channel))


def _expired_codes(now: datetime) -> ColumnElement[bool]:
    return verification_codes.c.expires_at <= now


async def delete_expired_codes(conn: AsyncConnection, now: datetime, limit: int) -> int:
    """At most `limit` codes whose time is up (retention rule "verification-code")."""
    c = verification_codes.c
    old = select(c.user_id, c.channel).where(_expired_codes(now)).limit(limit)
    result = await conn.execute(
        delete(verification_codes).where(tuple_(c.user_id, c.channel).in_(old))
    )
    return int(result.rowcount)


async def update_user(conn: AsyncConnection, user_id: str, values: dict[str, Any]) -> None:
    await conn.execute(update(users).where(users.c.id == user_id).values(**values))


async def use_totp_step(conn: AsyncConnection, user_id: str, step: int) -> bool:
    """Record `step` as the last TOTP step used; False when it is not after the last one.

    One conditional UPDATE, so two requests with the same code cannot both get through.
    """
    result = await conn.execute(
        update(users)
        .where(
            users.c.id == user_id,
            or_(users.c.totp_last_step.is_(None), users.c.totp_last_step < step),
        )
        .values(totp_last_step=step)
    )
    return result.rowcount == 1


# -- contact settings (F14, R18) ----------------------------------------------------
_SETTINGS = [f.name for f in fields(ContactSettings)]


async def get_contact_settings(conn: AsyncConnection, user_id: str) -> ContactSettings:
    """The person's settings; the defaults when they never changed one."""
    row = (
        await conn.execute(
            select(*(contact_settings.c[n] for n in _SETTINGS)).where(
                contact_settings.c.user_id == user_id
            )
        )
    ).first()
    if row is None:
        return ContactSettings()
    return ContactSettings(**{n: bool(getattr(row, n)) for n in _SETTINGS})


async def put_contact_settings(
    conn: AsyncConnection, user_id: str, settings: ContactSettings, now: datetime
) -> None:
    values = {n: getattr(settings, n) for n in _SETTINGS} | {"updated_at": now}
    updated = await conn.execute(
        update(contact_settings).where(contact_settings.c.user_id == user_id).values(**values)
    )
    if not updated.rowcount:
        await conn.execute(insert(contact_settings).values(user_id=user_id, **values))


# -- sessions ------------------------------------------------------------------------
async def insert_session(conn: AsyncConnection, values: dict[str, Any]) -> None:
    await conn.execute(insert(auth_sessions).values(**values))


async def active_token(conn: AsyncConnection, token_hash: bytes) -> ActiveToken | None:
    row = (
        await conn.execute(
            select(
                auth_sessions.c.id,
                auth_sessions.c.user_id,
                auth_sessions.c.created_at,
                auth_sessions.c.last_seen_at,
                users.c.is_admin,
            )
            .join(users, users.c.id == auth_sessions.c.user_id)
            .where(
                auth_sessions.c.token_hash == token_hash,
                auth_sessions.c.revoked_at.is_(None),
                users.c.closed_at.is_(None),
            )
        )
    ).first()
    if row is None:
        return None
    return ActiveToken(row.id, row.user_id, bool(row.is_admin), row.created_at, row.last_seen_at)


async def touch_session(conn: AsyncConnection, session_id: str, at: datetime) -> None:
    await conn.execute(
        update(auth_sessions).where(auth_sessions.c.id == session_id).values(last_seen_at=at)
    )


def _live(user_id: str, live: SessionCutoffs) -> list[Any]:
    return [
        auth_sessions.c.user_id == user_id,
        auth_sessions.c.revoked_at.is_(None),
        auth_sessions.c.created_at > live.created_after,
        auth_sessions.c.last_seen_at > live.seen_after,
    ]


async def active_sessions(
    conn: AsyncConnection, user_id: str, live: SessionCutoffs
) -> list[SessionRow]:
    """The person's sessions that are neither revoked nor expired, oldest first."""
    rows = await conn.execute(
        select(auth_sessions)
        .where(*_live(user_id, live))
        .order_by(auth_sessions.c.created_at, auth_sessions.c.id)
    )
    return [_session(r) for r in rows]


async def active_session_ids(
    conn: AsyncConnection, user_id: str, live: SessionCutoffs
) -> list[str]:
    rows = await conn.execute(select(auth_sessions.c.id).where(*_live(user_id, live)))
    return [r[0] for r in rows]


async def sessions_by_ids(conn: AsyncConnection, session_ids: Iterable[str]) -> list[SessionRow]:
    ids = list(set(session_ids))
    if not ids:
        return []
    rows = await conn.execute(select(auth_sessions).where(auth_sessions.c.id.in_(ids)))
    return [_session(r) for r in rows]


async def revoke_sessions(conn: AsyncConnection, session_ids: Sequence[str], at: datetime) -> None:
    if session_ids:
        await conn.execute(
            update(auth_sessions)
            .where(auth_sessions.c.id.in_(session_ids), auth_sessions.c.revoked_at.is_(None))
            .values(revoked_at=at)
        )


# -- site administration -------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class AccountSummaryRow:
    """What a site administrator sees of any account, closed ones included."""

    id: str
    username: str
    display_name_enc: bytes
    is_admin: bool
    created_at: datetime
    closed_at: datetime | None


def _summary(row: Row[Any]) -> AccountSummaryRow:
    return AccountSummaryRow(
        row.id,
        row.username,
        row.display_name_enc,
        bool(row.is_admin),
        row.created_at,
        row.closed_at,
    )


_SUMMARY_COLUMNS: Sequence[Any] = (
    users.c.id,
    users.c.username,
    users.c.display_name_enc,
    users.c.is_admin,
    users.c.created_at,
    users.c.closed_at,
)


async def list_accounts(
    conn: AsyncConnection, *, after_username: str | None, limit: int
) -> list[AccountSummaryRow]:
    """Every account, open or closed, by username, after `after_username`."""
    stmt = select(*_SUMMARY_COLUMNS).order_by(users.c.username).limit(limit)
    if after_username is not None:
        stmt = stmt.where(users.c.username > after_username)
    return [_summary(r) for r in await conn.execute(stmt)]


async def account_summary(
    conn: AsyncConnection, *, user_id: str | None = None, username: str | None = None
) -> AccountSummaryRow | None:
    """One account, open or closed, by id or by username."""
    column, value = (users.c.id, user_id) if user_id is not None else (users.c.username, username)
    row = (await conn.execute(select(*_SUMMARY_COLUMNS).where(column == value))).first()
    return _summary(row) if row else None


async def close_user(conn: AsyncConnection, user_id: str, at: datetime) -> None:
    await conn.execute(
        update(users).where(users.c.id == user_id, users.c.closed_at.is_(None)).values(closed_at=at)
    )


# -- retention sweep (R17) -------------------------------------------------------------
# Each deletes at most `limit` rows and says how many, so the sweep works in short
# transactions that never keep the write lock from a chat send for long.
def _ended_sessions(ended: SessionCutoffs, revoked_before: datetime) -> ColumnElement[bool]:
    return or_(
        auth_sessions.c.revoked_at <= revoked_before,
        auth_sessions.c.created_at <= ended.created_after,
        auth_sessions.c.last_seen_at <= ended.seen_after,
    )


async def delete_ended_sessions(
    conn: AsyncConnection, *, ended: SessionCutoffs, revoked_before: datetime, limit: int
) -> int:
    """Sessions revoked before `revoked_before`, or expired by the `ended` cutoffs."""
    old = select(auth_sessions.c.id).where(_ended_sessions(ended, revoked_before)).limit(limit)
    result = await conn.execute(
        delete(auth_sessions).where(auth_sessions.c.id.in_(old.scalar_subquery()))
    )
    return int(result.rowcount)


# -- the retention sweep's dry run and evidence --------------------------------------
async def count_ended_sessions(
    conn: AsyncConnection, *, ended: SessionCutoffs, revoked_before: datetime
) -> int:
    """How many sessions `delete_ended_sessions` would delete."""
    found = select(func.count()).where(_ended_sessions(ended, revoked_before))
    return int((await conn.execute(found)).scalar_one())


async def count_expired_codes(conn: AsyncConnection, now: datetime) -> int:
    found = select(func.count()).select_from(verification_codes).where(_expired_codes(now))
    return int((await conn.execute(found)).scalar_one())


async def oldest_session(conn: AsyncConnection) -> datetime | None:
    """When the oldest session still kept was created."""
    value: datetime | None = (
        await conn.execute(select(func.min(auth_sessions.c.created_at)))
    ).scalar_one()
    return value


async def oldest_code(conn: AsyncConnection) -> datetime | None:
    value: datetime | None = (
        await conn.execute(select(func.min(verification_codes.c.created_at)))
    ).scalar_one()
    return value
