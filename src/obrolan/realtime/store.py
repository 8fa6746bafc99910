"""SQL for the event stream: allocate positions, append rows, read them back.

Positions come from a counter that only grows: SQLite's AUTOINCREMENT high-water mark
(`sqlite_sequence`) or PostgreSQL's sequence. Neither goes back when the newest events
are deleted, and `raise_floor` moves it past the wall clock at start, so that not even a
restored older copy of the database hands out positions that clients already have.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Insert,
    Row,
    Select,
    TextClause,
    bindparam,
    cast,
    column,
    func,
    insert,
    literal_column,
    or_,
    select,
    table,
    text,
)
from sqlalchemy.dialects.postgresql import REGCLASS
from sqlalchemy.ext.asyncio import AsyncConnection

from obrolan.accounts.models import auth_sessions, users
from obrolan.chat.models import memberships
from obrolan.chat.rules import State
from obrolan.db import driver
from obrolan.realtime.models import events

_PG_ALLOCATE = text(
    "SELECT nextval(pg_get_serial_sequence('events', 'position')) FROM generate_series(1, :n)"
)
_PG_HIGH_WATER = text(
    "SELECT pg_sequence_last_value(pg_get_serial_sequence('events', 'position')::regclass)"
)
_PG_SET_FLOOR = text("SELECT setval(pg_get_serial_sequence('events', 'position'), :floor)")
# The advisory lock that orders event writes across processes: "obrolan" in ASCII.
ORDER_LOCK_KEY = 0x6F62726F6C616E
_PG_LOCK = text("SELECT pg_advisory_lock(:key)")
_PG_UNLOCK = text("SELECT pg_advisory_unlock(:key)")


async def take_order_lock(conn: AsyncConnection) -> None:
    """Wait for the PostgreSQL lock that every writer of events takes (see EventStream).

    Session-level, not transaction-level: it is held past COMMIT, until the events are
    published, and PostgreSQL drops it when the connection dies.
    """
    await conn.execute(_PG_LOCK, {"key": ORDER_LOCK_KEY})


async def release_order_lock(conn: AsyncConnection) -> None:
    await conn.execute(_PG_UNLOCK, {"key": ORDER_LOCK_KEY})


async def allocate_positions(conn: AsyncConnection, count: int) -> list[int]:
    """The next `count` stream positions, in order, never used before.

    Taken in one query and then written in one multi-row insert: asking the database to
    return generated keys in insertion order makes it insert the rows one at a time.
    """
    # Every write transaction with events runs this: through the driver.
    if conn.dialect.name == "sqlite":
        # Callers hold the write lock in a BEGIN IMMEDIATE transaction, so no one else
        # reads the high-water mark until we commit; the insert moves it past our rows.
        rows = await driver.fetch(conn, driver.prepare(_sqlite_high_water_query, conn.dialect), {})
        start = int(rows[0][0] if rows and rows[0][0] else 0) + 1
        return list(range(start, start + count))
    rows = await driver.fetch(conn, driver.prepare(_pg_allocate, conn.dialect), {"n": count})
    return sorted(int(row[0]) for row in rows)


def _sqlite_high_water_query(_dialect: str) -> TextClause:
    return text("SELECT seq FROM sqlite_sequence WHERE name = 'events'")


def _pg_allocate(_dialect: str) -> TextClause:
    return _PG_ALLOCATE


def _insert_events(_dialect: str) -> Insert:
    return insert(events).values({c.name: bindparam(c.name) for c in events.c})


# The columns of an event row as `insert_events` takes it, in this order.
EVENT_COLUMNS = tuple(c.name for c in events.c)


async def insert_events(conn: AsyncConnection, rows: Sequence[Sequence[Any]]) -> None:
    """Event rows as tuples in EVENT_COLUMNS order, with driver values: every write
    transaction with events runs this, so it goes through the driver (obrolan.db.driver)."""
    await driver.execute_many(conn, driver.prepare(_insert_events, conn.dialect), rows)


async def committed_head(conn: AsyncConnection) -> int:
    """The greatest position of an event that this transaction can see."""
    value = (await conn.execute(select(func.coalesce(func.max(events.c.position), 0)))).scalar()
    return int(value or 0)


async def high_water(conn: AsyncConnection) -> int:
    """The greatest position ever handed out (committed or not); 0 before the first."""
    if conn.dialect.name == "sqlite":
        return await _sqlite_high_water(conn)
    value = (await conn.execute(_PG_HIGH_WATER)).scalar()
    return int(value or 0)


async def raise_floor(conn: AsyncConnection, floor: int) -> bool:
    """Make the next position greater than `floor`, if it is not already; True if moved."""
    if await high_water(conn) >= floor:
        return False
    if conn.dialect.name == "sqlite":
        # sqlite_sequence is an ordinary table that SQLite reads before each insert.
        moved = await conn.exec_driver_sql(
            "UPDATE sqlite_sequence SET seq = ? WHERE name = 'events'", (floor,)
        )
        if not moved.rowcount:
            await conn.exec_driver_sql(
                "INSERT INTO sqlite_sequence (name, seq) VALUES ('events', ?)", (floor,)
            )
        return True
    await conn.execute(_PG_SET_FLOOR, {"floor": floor})
    return True


@dataclass(frozen=True, slots=True)
class ConnectSnapshot:
    """What a socket needs once it is registered, all from one snapshot of the database.

    `high_water` is 0 when it was not asked for; `head` is 0 and `room_ids` empty when
    the session is no longer active.
    """

    session_active: bool
    head: int
    high_water: int
    room_ids: list[str]


_sqlite_sequence = table("sqlite_sequence", column("name"), column("seq"))


def _high_water_value(dialect: str) -> ColumnElement[Any]:
    if dialect == "sqlite":
        return (
            select(func.coalesce(_sqlite_sequence.c.seq, 0))
            .where(_sqlite_sequence.c.name == "events")
            .scalar_subquery()
        )
    sequence = cast(func.pg_get_serial_sequence("events", "position"), REGCLASS)
    return select(func.coalesce(func.pg_sequence_last_value(sequence), 0)).scalar_subquery()


def _connect_statement(dialect: str, with_high_water: bool) -> Select[Any]:
    head = select(func.coalesce(func.max(events.c.position), 0)).scalar_subquery()
    high_water = _high_water_value(dialect) if with_high_water else literal_column("0")
    joined = (memberships.c.user_id == auth_sessions.c.user_id) & (
        memberships.c.state == State.JOIN.value
    )
    return (
        select(head.label("head"), high_water.label("high_water"), memberships.c.room_id)
        .select_from(
            auth_sessions.join(users, users.c.id == auth_sessions.c.user_id).outerjoin(
                memberships, joined
            )
        )
        .where(
            auth_sessions.c.id == bindparam("session_id"),
            auth_sessions.c.user_id == bindparam("user_id"),
            auth_sessions.c.revoked_at.is_(None),
            users.c.closed_at.is_(None),
        )
    )


def _connect_with_high_water(dialect: str) -> Select[Any]:
    return _connect_statement(dialect, with_high_water=True)


def _connect_without_high_water(dialect: str) -> Select[Any]:
    return _connect_statement(dialect, with_high_water=False)


async def connect_snapshot(
    conn: AsyncConnection, user_id: str, session_id: str, *, with_high_water: bool
) -> ConnectSnapshot:
    """The stream head, the high-water mark (if asked), the joined rooms and whether the
    session is active, in ONE statement: one snapshot on both backends, so the rooms
    show exactly the changes up to the head; and one trip to the database.

    One row per joined room (one with no room when there is none), each carrying the
    head and high-water mark, which both databases compute once (uncorrelated
    subqueries); no row when the session is revoked or its account closed.
    """
    build = _connect_with_high_water if with_high_water else _connect_without_high_water
    # Every connect runs it, a storm of them after a restart: through the driver.
    rows = await driver.fetch(
        conn,
        driver.prepare(build, conn.dialect),
        {"user_id": user_id, "session_id": session_id},
    )
    if not rows:
        return ConnectSnapshot(session_active=False, head=0, high_water=0, room_ids=[])
    head, high_water, _ = rows[0]
    return ConnectSnapshot(
        session_active=True,
        head=int(head or 0),
        high_water=int(high_water or 0),
        room_ids=[room_id for _, _, room_id in rows if room_id is not None],
    )


async def events_since(
    conn: AsyncConnection, user_id: str, room_ids: Sequence[str], since: int, limit: int
) -> list[Row[Any]]:
    """Rows after `since` in these rooms or addressed to `user_id`, in position order."""
    where = events.c.target_user_id == user_id
    if room_ids:
        where = or_(where, events.c.room_id.in_(room_ids))
    rows = await conn.execute(
        select(events)
        .where(events.c.position > since, where)
        .order_by(events.c.position)
        .limit(limit)
    )
    return list(rows.all())


async def events_between(
    conn: AsyncConnection, after: int, up_to: int | None, limit: int
) -> list[Row[Any]]:
    """All rows in (after, up_to] (no upper bound when None), in position order."""
    query = select(events).where(events.c.position > after)
    if up_to is not None:
        query = query.where(events.c.position <= up_to)
    rows = await conn.execute(query.order_by(events.c.position).limit(limit))
    return list(rows.all())


async def _sqlite_high_water(conn: AsyncConnection) -> int:
    seq = (
        await conn.exec_driver_sql("SELECT seq FROM sqlite_sequence WHERE name = 'events'")
    ).scalar()
    return int(seq or 0)
