"""SQL for people's data requests (privacy_requests) and the account flags they set.

No decisions here: deadlines and who may do what are in rules.py and requests.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, and_, func, insert, not_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from obrolan.accounts.models import users
from obrolan.privacy.models import privacy_requests
from obrolan.privacy.rules import OPEN_STATUSES

_OPEN = sorted(str(s) for s in OPEN_STATUSES)


@dataclass(frozen=True, slots=True)
class RequestRow:
    id: str
    user_id: str
    kind: str
    status: str
    opened_by: str
    opened_by_operator: bool
    note_enc: bytes | None
    resolution: str | None
    progress: int
    created_at: datetime
    deadline_at: datetime
    done_at: datetime | None
    due_at: datetime | None
    closed_account: bool


def _request(row: Row[Any]) -> RequestRow:
    return RequestRow(
        row.id,
        row.user_id,
        row.kind,
        row.status,
        row.opened_by,
        bool(row.opened_by_operator),
        row.note_enc,
        row.resolution,
        int(row.progress),
        row.created_at,
        row.deadline_at,
        row.done_at,
        row.due_at,
        bool(row.closed_account),
    )


_COLUMNS = [c for c in privacy_requests.c if c.name != "cancel_code_hash"]


async def insert_request(conn: AsyncConnection, values: dict[str, Any]) -> None:
    await conn.execute(insert(privacy_requests).values(**values))


async def get_request(conn: AsyncConnection, request_id: str) -> RequestRow | None:
    row = (await conn.execute(select(*_COLUMNS).where(privacy_requests.c.id == request_id))).first()
    return _request(row) if row else None


async def request_by_cancel_code(conn: AsyncConnection, code_hash: bytes) -> RequestRow | None:
    row = (
        await conn.execute(
            select(*_COLUMNS).where(privacy_requests.c.cancel_code_hash == code_hash)
        )
    ).first()
    return _request(row) if row else None


async def requests_of(conn: AsyncConnection, user_id: str) -> list[RequestRow]:
    """The person's requests, newest first."""
    rows = await conn.execute(
        select(*_COLUMNS)
        .where(privacy_requests.c.user_id == user_id)
        .order_by(privacy_requests.c.created_at.desc(), privacy_requests.c.id.desc())
    )
    return [_request(r) for r in rows]


async def open_request_of_kind(conn: AsyncConnection, user_id: str, kind: str) -> RequestRow | None:
    row = (
        await conn.execute(
            select(*_COLUMNS).where(
                privacy_requests.c.user_id == user_id,
                privacy_requests.c.kind == kind,
                privacy_requests.c.status.in_(_OPEN),
            )
        )
    ).first()
    return _request(row) if row else None


async def queue(
    conn: AsyncConnection,
    *,
    statuses: list[str] | None,
    overdue_at: datetime | None,
    overdue: bool | None,
    limit: int,
) -> list[RequestRow]:
    """Requests by deadline, soonest first: with `statuses`, and with `overdue` given,
    only those that are (or are not) overdue at `overdue_at` (rules.is_overdue, in SQL)."""
    query = select(*_COLUMNS)
    if statuses is not None:
        query = query.where(privacy_requests.c.status.in_(statuses))
    if overdue is not None and overdue_at is not None:
        is_overdue = and_(
            privacy_requests.c.status.in_(_OPEN), privacy_requests.c.deadline_at <= overdue_at
        )
        query = query.where(is_overdue if overdue else not_(is_overdue))
    rows = await conn.execute(
        query.order_by(privacy_requests.c.deadline_at, privacy_requests.c.id).limit(limit)
    )
    return [_request(r) for r in rows]


async def count_overdue(conn: AsyncConnection, now: datetime) -> int:
    """Open requests whose deadline has come (rules.is_overdue, in SQL)."""
    value = (
        await conn.execute(
            select(func.count())
            .select_from(privacy_requests)
            .where(privacy_requests.c.status.in_(_OPEN), privacy_requests.c.deadline_at <= now)
        )
    ).scalar_one()
    return int(value)


async def update_request(conn: AsyncConnection, request_id: str, values: dict[str, Any]) -> None:
    await conn.execute(
        update(privacy_requests).where(privacy_requests.c.id == request_id).values(**values)
    )


async def due_erasures(conn: AsyncConnection, now: datetime, limit: int) -> list[RequestRow]:
    """Erasure requests whose grace period has ended and whose erasure has not finished.

    `in_progress` ones too: an erasure stopped half-way (a crash) starts again; every
    step of it can run twice. Progress 90 means only the key remains, which its own job
    destroys.
    """
    rows = await conn.execute(
        select(*_COLUMNS)
        .where(
            privacy_requests.c.kind == "erasure",
            privacy_requests.c.status.in_(_OPEN),
            privacy_requests.c.due_at <= now,
            privacy_requests.c.progress < 90,
        )
        .order_by(privacy_requests.c.due_at)
        .limit(limit)
    )
    return [_request(r) for r in rows]


async def claim_erasure(conn: AsyncConnection, request_id: str, now: datetime) -> bool:
    """Mark a due erasure as running, once it can no longer be cancelled; False when it
    was cancelled or refused meanwhile (read as due, then cancelled before this)."""
    result = await conn.execute(
        update(privacy_requests)
        .where(
            privacy_requests.c.id == request_id,
            privacy_requests.c.status.in_(_OPEN),
            privacy_requests.c.due_at <= now,
        )
        .values(status="in_progress", progress=10, cancel_code_hash=None)
    )
    return bool(result.rowcount)


async def close_open_requests(
    conn: AsyncConnection, user_id: str, *, keep_id: str | None, now: datetime, resolution: str
) -> int:
    """The person's other open requests end with the account (none can be answered now)."""
    query = update(privacy_requests).where(
        privacy_requests.c.user_id == user_id, privacy_requests.c.status.in_(_OPEN)
    )
    if keep_id is not None:
        query = query.where(privacy_requests.c.id != keep_id)
    result = await conn.execute(
        query.values(status="cancelled", resolution=resolution, done_at=now)
    )
    return int(result.rowcount)


async def clear_notes(conn: AsyncConnection, user_id: str) -> int:
    """The person's own words in their requests go with the erasure; the answers stay (R13)."""
    result = await conn.execute(
        update(privacy_requests)
        .where(
            privacy_requests.c.user_id == user_id,
            or_(
                privacy_requests.c.note_enc.is_not(None),
                privacy_requests.c.cancel_code_hash.is_not(None),
            ),
        )
        .values(note_enc=None, cancel_code_hash=None)
    )
    return int(result.rowcount)


# -- the account flags -----------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class AccountFlags:
    exists: bool
    closed_at: datetime | None
    restricted_at: datetime | None
    objected_at: datetime | None
    erased_at: datetime | None


async def account_flags(conn: AsyncConnection, user_id: str, *, lock: bool = False) -> AccountFlags:
    """The account's privacy flags. `lock`: hold the person's row until the transaction
    ends (PostgreSQL; SQLite's writer is one at a time anyway), so that two requests of
    one person, on two nodes at once, take turns."""
    query = select(
        users.c.closed_at, users.c.restricted_at, users.c.objected_at, users.c.erased_at
    ).where(users.c.id == user_id)
    if lock:
        query = query.with_for_update()
    row = (await conn.execute(query)).first()
    if row is None:
        return AccountFlags(False, None, None, None, None)
    return AccountFlags(True, row.closed_at, row.restricted_at, row.objected_at, row.erased_at)


async def is_restricted(conn: AsyncConnection, user_id: str) -> bool:
    found = await conn.execute(
        select(users.c.id).where(users.c.id == user_id, users.c.restricted_at.is_not(None))
    )
    return found.first() is not None


async def set_flags(conn: AsyncConnection, user_id: str, values: dict[str, Any]) -> None:
    """Set `restricted_at`, `objected_at` or `closed_at` (None clears one)."""
    await conn.execute(update(users).where(users.c.id == user_id).values(**values))


async def closed_accounts_due(
    conn: AsyncConnection, closed_before: datetime, limit: int
) -> list[str]:
    """Accounts closed before `closed_before` and not erased yet, without an open erasure
    request (that one erases them when its own grace period ends)."""
    open_erasure = (
        select(privacy_requests.c.id)
        .where(
            privacy_requests.c.user_id == users.c.id,
            privacy_requests.c.kind == "erasure",
            privacy_requests.c.status.in_(_OPEN),
        )
        .exists()
    )
    rows = await conn.execute(
        select(users.c.id)
        .where(
            users.c.closed_at <= closed_before,
            users.c.erased_at.is_(None),
            ~open_erasure,
        )
        .order_by(users.c.closed_at)
        .limit(limit)
    )
    return [r[0] for r in rows]


@dataclass(frozen=True, slots=True)
class MailContact:
    """What a notice to the person needs, open or closed account alike."""

    username: str
    email_enc: bytes | None
    email_verified: bool


async def mail_contact(conn: AsyncConnection, user_id: str) -> MailContact | None:
    row = (
        await conn.execute(
            select(users.c.username, users.c.email_enc, users.c.email_verified_at).where(
                users.c.id == user_id, users.c.erased_at.is_(None)
            )
        )
    ).first()
    if row is None:
        return None
    return MailContact(row.username, row.email_enc, row.email_verified_at is not None)


async def set_username(conn: AsyncConnection, user_id: str, username: str) -> None:
    await conn.execute(update(users).where(users.c.id == user_id).values(username=username))
