"""SQL for the privacy tables. No decisions here: see rules.py."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from sqlalchemy import Row, delete, func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from obrolan.privacy.models import audit_log
from obrolan.privacy.rules import AuditEntry

# PostgreSQL transaction-level advisory lock ("obrolan audit"): appends to the chain
# from several nodes take turns, released by COMMIT or ROLLBACK.
AUDIT_LOCK_KEY = 0x6F62_6175_6469_74
_PG_XACT_LOCK = text("SELECT pg_advisory_xact_lock(:key)")


def _entry(row: Row[Any]) -> AuditEntry:
    return AuditEntry(**row._mapping)


async def lock_audit_chain(conn: AsyncConnection) -> None:
    """Take turns appending (PostgreSQL; SQLite has one writer at a time anyway)."""
    if conn.dialect.name != "sqlite":
        await conn.execute(_PG_XACT_LOCK, {"key": AUDIT_LOCK_KEY})


async def audit_head(conn: AsyncConnection) -> tuple[int, bytes] | None:
    """The newest entry's seq and hash."""
    row = (
        await conn.execute(
            select(audit_log.c.seq, audit_log.c.hash).order_by(audit_log.c.seq.desc()).limit(1)
        )
    ).first()
    return None if row is None else (row.seq, row.hash)


async def insert_audit_entries(conn: AsyncConnection, entries: list[AuditEntry]) -> None:
    await conn.execute(
        insert(audit_log),
        [
            {
                "seq": e.seq,
                "id": e.id,
                "at": e.at,
                "actor_id": e.actor_id,
                "actor_role": e.actor_role,
                "action": e.action,
                "subject_id": e.subject_id,
                "detail": e.detail,
                "prev_hash": e.prev_hash,
                "hash": e.hash,
            }
            for e in entries
        ],
    )


async def audit_entries(
    conn: AsyncConnection, after_seq: int = 0, limit: int = 1000
) -> list[AuditEntry]:
    """Entries in chain order, from the one after `after_seq`."""
    rows = await conn.execute(
        select(audit_log).where(audit_log.c.seq > after_seq).order_by(audit_log.c.seq).limit(limit)
    )
    return [_entry(r) for r in rows]


async def all_audit_entries(conn: AsyncConnection, page: int = 1000) -> AsyncIterator[AuditEntry]:
    after = 0
    while True:
        entries = await audit_entries(conn, after, page)
        for entry in entries:
            yield entry
        if len(entries) < page:
            return
        after = entries[-1].seq


async def audit_entries_about(
    conn: AsyncConnection, subject_id: str, *, before_seq: int | None, limit: int
) -> list[AuditEntry]:
    """Entries about one person, newest first."""
    query = select(audit_log).where(audit_log.c.subject_id == subject_id)
    if before_seq is not None:
        query = query.where(audit_log.c.seq < before_seq)
    rows = await conn.execute(query.order_by(audit_log.c.seq.desc()).limit(limit))
    return [_entry(r) for r in rows]


async def audit_count(conn: AsyncConnection) -> int:
    return int((await conn.execute(select(func.count()).select_from(audit_log))).scalar_one())


async def newest_audit_entry(conn: AsyncConnection, action: str) -> AuditEntry | None:
    """The newest entry with this action (the last `audit.pruned` marker)."""
    row = (
        await conn.execute(
            select(audit_log)
            .where(audit_log.c.action == action)
            .order_by(audit_log.c.seq.desc())
            .limit(1)
        )
    ).first()
    return None if row is None else _entry(row)


async def delete_audit_entries_through(conn: AsyncConnection, seq: int) -> int:
    """Remove the oldest entries, up to and including `seq` (the retention rule, R5)."""
    result = await conn.execute(delete(audit_log).where(audit_log.c.seq <= seq))
    return result.rowcount or 0


async def count_audit_before(conn: AsyncConnection, cutoff: datetime) -> int:
    """Entries written before `cutoff` but the newest: what pruning the log would remove
    (a dry run; the newest entry always stays, AuditLog.prune)."""
    newest = select(func.max(audit_log.c.seq)).scalar_subquery()
    query = (
        select(func.count())
        .select_from(audit_log)
        .where(audit_log.c.at < cutoff, audit_log.c.seq < newest)
    )
    return int((await conn.execute(query)).scalar_one())


async def oldest_audit_at(conn: AsyncConnection) -> datetime | None:
    oldest: datetime | None = (await conn.execute(select(func.min(audit_log.c.at)))).scalar_one()
    return oldest
