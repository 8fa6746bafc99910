"""SQL for rooms, memberships, messages, reactions and blocks. No rules here: see rules.py."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

import orjson
from sqlalchemy import (
    CTE,
    Insert,
    Row,
    Select,
    String,
    and_,
    bindparam,
    column,
    delete,
    exists,
    func,
    insert,
    or_,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from obrolan.accounts.models import contact_settings, users
from obrolan.accounts.records import ContactSettings
from obrolan.chat.models import blocks, memberships, messages, reactions, rooms
from obrolan.chat.rules import Kind, Role, State
from obrolan.db import driver


@dataclass(frozen=True, slots=True)
class RoomRow:
    id: str
    kind: Kind
    name: str | None
    topic: str | None
    created_by: str | None
    created_at: datetime
    direct_key: str | None = None
    disappearing_days: int = 0


@dataclass(frozen=True, slots=True)
class MembershipRow:
    room_id: str
    user_id: str
    state: State
    role: Role
    delivered_up_to: int
    read_up_to: int


def _room(row: Row[Any]) -> RoomRow:
    return RoomRow(
        row.id,
        Kind(row.kind),
        row.name,
        row.topic,
        row.created_by,
        row.created_at,
        row.direct_key,
        row.disappearing_days,
    )


def _membership(row: Row[Any]) -> MembershipRow:
    return MembershipRow(
        row.room_id,
        row.user_id,
        State(row.state),
        Role(row.role),
        row.delivered_up_to,
        row.read_up_to,
    )


# The tuples travel as one JSON parameter, so the statement text is the same for every
# batch and SQLAlchemy compiles it once (a VALUES list of N rows is a new statement for
# every N, and compiling it took a quarter of the server's time under load).
_COLUMNS = "abc"
_ELEMENT_SQL = {
    "sqlite": "json_extract(value, '$[{i}]') AS {name}",
    "postgresql": "p->>{i} AS {name}",
}
_SOURCE_SQL = {
    "sqlite": " FROM json_each(:{param})",
    "postgresql": " FROM json_array_elements(CAST(:{param} AS json)) AS p",
}


@functools.cache
def _tuples_table(dialect: str, width: int) -> CTE:
    """Tuples as a table of columns `a`, `b`(, `c`) to join against, from one parameter.

    A batch looks rows up by two or three columns at once. SQLite cannot use an index
    for a row-value IN (`(x, y) IN (VALUES …)` scans the whole table); a join against
    the tuples can, so the cost stays the same however many rows the table holds.
    """
    names = _COLUMNS[:width]
    elements = ", ".join(_ELEMENT_SQL[dialect].format(i=i, name=n) for i, n in enumerate(names))
    sql = "SELECT " + elements + _SOURCE_SQL[dialect].format(param=f"tuples{width}")
    return text(sql).columns(*(column(n, String) for n in names)).cte(f"tuples{width}")


def _pairs_table(dialect: str) -> CTE:
    return _tuples_table(dialect, 2)


def _tuples_parameter(tuples: Iterable[tuple[str, ...]], width: int) -> dict[str, str]:
    return {f"tuples{width}": orjson.dumps(list(set(tuples))).decode()}


def _pairs_parameter(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    return _tuples_parameter(pairs, 2)


# -- people --------------------------------------------------------------------------
async def existing_user_ids(conn: AsyncConnection, user_ids: Iterable[str]) -> set[str]:
    ids = list(set(user_ids))
    if not ids:
        return set()
    rows = await conn.execute(
        select(users.c.id).where(users.c.id.in_(ids), users.c.closed_at.is_(None))
    )
    return {r[0] for r in rows}


async def wants_message_requests(conn: AsyncConnection, user_id: str) -> bool:
    """The person's `message_requests` setting (R18); the default when never changed."""
    value = (
        await conn.execute(
            select(contact_settings.c.message_requests).where(contact_settings.c.user_id == user_id)
        )
    ).scalar_one_or_none()
    return ContactSettings().message_requests if value is None else bool(value)


async def share_a_room(conn: AsyncConnection, a: str, b: str) -> bool:
    """Whether some room has both people joined."""
    other = memberships.alias("other")
    found = await conn.execute(
        select(memberships.c.room_id)
        .join(other, other.c.room_id == memberships.c.room_id)
        .where(
            memberships.c.user_id == a,
            memberships.c.state == State.JOIN.value,
            other.c.user_id == b,
            other.c.state == State.JOIN.value,
        )
        .limit(1)
    )
    return found.first() is not None


# -- rooms ---------------------------------------------------------------------------
async def insert_room(conn: AsyncConnection, room: RoomRow) -> None:
    await conn.execute(
        insert(rooms).values(
            id=room.id,
            kind=room.kind.value,
            name=room.name,
            topic=room.topic,
            direct_key=room.direct_key,
            created_by=room.created_by,
            created_at=room.created_at,
            disappearing_days=room.disappearing_days,
        )
    )


async def get_room(conn: AsyncConnection, room_id: str) -> RoomRow | None:
    row = (await conn.execute(select(rooms).where(rooms.c.id == room_id))).first()
    return _room(row) if row else None


async def get_direct_room(conn: AsyncConnection, key: str) -> RoomRow | None:
    row = (await conn.execute(select(rooms).where(rooms.c.direct_key == key))).first()
    return _room(row) if row else None


async def update_room(conn: AsyncConnection, room_id: str, values: dict[str, Any]) -> None:
    await conn.execute(update(rooms).where(rooms.c.id == room_id).values(**values))


async def search_public_rooms(
    conn: AsyncConnection, query: str, limit: int, after_name: str | None, after_id: str | None
) -> list[tuple[RoomRow, int]]:
    """Public rooms whose name contains `query` (case-insensitive), with member counts."""
    member_count = (
        select(func.count())
        .where(memberships.c.room_id == rooms.c.id, memberships.c.state == State.JOIN.value)
        .scalar_subquery()
    )
    stmt = select(rooms, member_count.label("member_count")).where(
        rooms.c.kind == Kind.PUBLIC.value
    )
    if query:
        stmt = stmt.where(func.lower(rooms.c.name).contains(query.lower(), autoescape=True))
    if after_name is not None and after_id is not None:
        stmt = stmt.where(tuple_(rooms.c.name, rooms.c.id) > tuple_(after_name, after_id))
    stmt = stmt.order_by(rooms.c.name, rooms.c.id).limit(limit)
    return [(_room(r), int(r.member_count)) for r in await conn.execute(stmt)]


# -- memberships ---------------------------------------------------------------------
async def get_membership(conn: AsyncConnection, room_id: str, user_id: str) -> MembershipRow | None:
    row = (
        await conn.execute(
            select(memberships).where(
                memberships.c.room_id == room_id, memberships.c.user_id == user_id
            )
        )
    ).first()
    return _membership(row) if row else None


async def get_memberships(
    conn: AsyncConnection, room_id: str, user_ids: Iterable[str]
) -> dict[str, MembershipRow]:
    rows = await conn.execute(
        select(memberships).where(
            memberships.c.room_id == room_id, memberships.c.user_id.in_(list(user_ids))
        )
    )
    return {r.user_id: _membership(r) for r in rows}


async def put_memberships(
    conn: AsyncConnection,
    room_id: str,
    changes: Sequence[tuple[str, State, Role]],
    *,
    by: str | None,
    now: datetime,
) -> None:
    """Set each (person, state, role) in the room, inserting rows that do not exist yet."""
    existing = await get_memberships(conn, room_id, [c[0] for c in changes])
    new_rows = []
    for user_id, state, role in changes:
        if user_id in existing:
            await conn.execute(
                update(memberships)
                .where(memberships.c.room_id == room_id, memberships.c.user_id == user_id)
                .values(state=state.value, role=role.value, invited_by=by, updated_at=now)
            )
        else:
            new_rows.append(
                {
                    "room_id": room_id,
                    "user_id": user_id,
                    "state": state.value,
                    "role": role.value,
                    "invited_by": by,
                    "delivered_up_to": 0,
                    "read_up_to": 0,
                    "updated_at": now,
                }
            )
    if new_rows:
        await conn.execute(insert(memberships), new_rows)


async def joined_room_ids(conn: AsyncConnection, user_id: str) -> list[str]:
    rows = await conn.execute(
        select(memberships.c.room_id).where(
            memberships.c.user_id == user_id, memberships.c.state == State.JOIN.value
        )
    )
    return [r[0] for r in rows]


async def joined_room_ids_of(
    conn: AsyncConnection, user_ids: Sequence[str]
) -> dict[str, list[str]]:
    """The rooms each of `user_ids` is in (someone in none is left out)."""
    found: dict[str, list[str]] = {}
    if not user_ids:
        return found
    rows = await conn.execute(
        select(memberships.c.user_id, memberships.c.room_id).where(
            memberships.c.user_id.in_(user_ids), memberships.c.state == State.JOIN.value
        )
    )
    for user_id, room_id in rows:
        found.setdefault(user_id, []).append(room_id)
    return found


async def sharing_a_room(conn: AsyncConnection, user_id: str, others: Sequence[str]) -> set[str]:
    """Those of `others` who are joined to a room `user_id` is joined to (one query)."""
    if not others:
        return set()
    mine = memberships.alias("mine")
    theirs = memberships.alias("theirs")
    rows = await conn.execute(
        select(theirs.c.user_id)
        .distinct()
        .join(mine, mine.c.room_id == theirs.c.room_id)
        .where(
            mine.c.user_id == user_id,
            mine.c.state == State.JOIN.value,
            theirs.c.user_id.in_(others),
            theirs.c.user_id != user_id,
            theirs.c.state == State.JOIN.value,
        )
    )
    return {r[0] for r in rows}


async def rooms_of(
    conn: AsyncConnection, user_id: str, states: Sequence[State]
) -> list[tuple[RoomRow, MembershipRow]]:
    rows = await conn.execute(
        select(rooms, memberships)
        .join(memberships, memberships.c.room_id == rooms.c.id)
        .where(memberships.c.user_id == user_id, memberships.c.state.in_([s.value for s in states]))
        .order_by(rooms.c.created_at)
    )
    return [(_room(r), _membership(r)) for r in rows]


async def room_members(
    conn: AsyncConnection, room_id: str, states: Sequence[State]
) -> list[MembershipRow]:
    rows = await conn.execute(
        select(memberships)
        .where(memberships.c.room_id == room_id, memberships.c.state.in_([s.value for s in states]))
        .order_by(memberships.c.user_id)
    )
    return [_membership(r) for r in rows]


def _sends_query(dialect: str) -> Select[Any]:
    wanted = _tuples_table(dialect, 3)  # (room, sender, client_msg_id)
    other = memberships.alias("other")
    me, them = memberships.c.user_id, other.c.user_id
    blocked = exists().where(
        other.c.room_id == memberships.c.room_id,
        them != me,
        or_(
            and_(blocks.c.blocker_id == me, blocks.c.blocked_id == them),
            and_(blocks.c.blocker_id == them, blocks.c.blocked_id == me),
        ),
    )
    return (
        select(
            wanted.c.a,
            wanted.c.b,
            wanted.c.c,
            rooms.c.kind,
            and_(
                or_(rooms.c.kind == Kind.DIRECT.value, rooms.c.kind == Kind.BUSINESS.value),
                blocked,
            ).label("blocked"),
            users.c.restricted_at.is_not(None).label("restricted"),
            messages.c.id,
        )
        .select_from(wanted)
        .join(memberships, and_(memberships.c.room_id == wanted.c.a, me == wanted.c.b))
        .join(rooms, rooms.c.id == memberships.c.room_id)
        .join(users, users.c.id == me)
        .outerjoin(
            messages,
            and_(
                messages.c.sender_id == wanted.c.b,
                messages.c.room_id == wanted.c.a,
                messages.c.client_msg_id == wanted.c.c,
            ),
        )
        .where(memberships.c.state == State.JOIN.value)
    )


class SenderRoom(NamedTuple):
    kind: Kind
    # A block stands between the two people of a direct chat (R18).
    blocked: bool
    # The sender restricted the processing of their data: they send nothing (R8).
    restricted: bool
    # The message already stored with this client_msg_id (a retry), if any.
    earlier_id: str | None


async def senders_rooms(
    conn: AsyncConnection, sends: Iterable[tuple[str, str, str]]
) -> dict[tuple[str, str, str], SenderRoom]:
    """Of these sends (room, sender, client_msg_id), those whose sender has joined the
    room: its kind, a block in a direct chat, the sender's restriction, and the id of
    the message stored earlier under the same client_msg_id. One query for a whole batch
    of sends, through the driver (obrolan.db.driver)."""
    statement = driver.prepare(_sends_query, conn.dialect)
    rows = await driver.fetch(conn, statement, _tuples_parameter(sends, 3))
    return {
        (room_id, user_id, client_msg_id): SenderRoom(
            Kind(kind), bool(blocked), bool(restricted), earlier_id
        )
        for room_id, user_id, client_msg_id, kind, blocked, restricted, earlier_id in rows
    }


async def rooms_by_ids(conn: AsyncConnection, room_ids: Iterable[str]) -> dict[str, RoomRow]:
    wanted = list(set(room_ids))
    if not wanted:
        return {}
    rows = await conn.execute(select(rooms).where(rooms.c.id.in_(wanted)))
    return {r.id: _room(r) for r in rows}


async def set_receipts(
    conn: AsyncConnection, room_id: str, user_id: str, delivered_up_to: int, read_up_to: int
) -> None:
    await conn.execute(
        update(memberships)
        .where(memberships.c.room_id == room_id, memberships.c.user_id == user_id)
        .values(delivered_up_to=delivered_up_to, read_up_to=read_up_to)
    )


async def unread_counts(conn: AsyncConnection, user_id: str) -> dict[str, int]:
    rows = await conn.execute(
        select(messages.c.room_id, func.count())
        .join(
            memberships,
            and_(memberships.c.room_id == messages.c.room_id, memberships.c.user_id == user_id),
        )
        .where(
            memberships.c.state == State.JOIN.value,
            messages.c.position > memberships.c.read_up_to,
            messages.c.sender_id != user_id,
            messages.c.deleted_at.is_(None),
        )
        .group_by(messages.c.room_id)
    )
    return {r[0]: int(r[1]) for r in rows}


async def last_messages(conn: AsyncConnection, user_id: str) -> list[Row[Any]]:
    """The newest message (a tombstone too) of each room the person has joined, in one
    query for all their rooms: a room without messages is left out."""
    mine = select(memberships.c.room_id).where(
        memberships.c.user_id == user_id, memberships.c.state == State.JOIN.value
    )
    newest = (
        select(messages.c.room_id, func.max(messages.c.position).label("position"))
        .where(messages.c.room_id.in_(mine))
        .group_by(messages.c.room_id)
        .subquery("newest")
    )
    rows = await conn.execute(
        select(messages).join(
            newest,
            and_(messages.c.room_id == newest.c.room_id, messages.c.position == newest.c.position),
        )
    )
    return list(rows.all())


async def request_message_counts(conn: AsyncConnection, user_id: str) -> dict[str, int]:
    """Messages waiting in each room where the person has a pending message request."""
    rows = await conn.execute(
        select(messages.c.room_id, func.count())
        .join(
            memberships,
            and_(memberships.c.room_id == messages.c.room_id, memberships.c.user_id == user_id),
        )
        .where(memberships.c.state == State.REQUEST.value, messages.c.deleted_at.is_(None))
        .group_by(messages.c.room_id)
    )
    return {r[0]: int(r[1]) for r in rows}


# -- blocks --------------------------------------------------------------------------
async def blocked_pairs(
    conn: AsyncConnection, pairs: Iterable[tuple[str, str]]
) -> set[tuple[str, str]]:
    """Of these (blocker, blocked) pairs, the ones that exist."""
    unique = list(set(pairs))
    if not unique:
        return set()
    wanted = _pairs_table(conn.dialect.name)
    rows = await conn.execute(
        select(blocks.c.blocker_id, blocks.c.blocked_id).join(
            wanted, and_(blocks.c.blocker_id == wanted.c.a, blocks.c.blocked_id == wanted.c.b)
        ),
        _pairs_parameter(unique),
    )
    return {(r[0], r[1]) for r in rows}


async def either_blocked(conn: AsyncConnection, a: str, b: str) -> bool:
    return bool(await blocked_pairs(conn, [(a, b), (b, a)]))


async def insert_block(conn: AsyncConnection, blocker: str, blocked: str, now: datetime) -> bool:
    if await blocked_pairs(conn, [(blocker, blocked)]):
        return False
    await conn.execute(
        insert(blocks).values(blocker_id=blocker, blocked_id=blocked, created_at=now)
    )
    return True


async def delete_block(conn: AsyncConnection, blocker: str, blocked: str) -> None:
    await conn.execute(
        delete(blocks).where(blocks.c.blocker_id == blocker, blocks.c.blocked_id == blocked)
    )


async def list_blocks(conn: AsyncConnection, blocker: str) -> list[tuple[str, datetime]]:
    rows = await conn.execute(
        select(blocks.c.blocked_id, blocks.c.created_at)
        .where(blocks.c.blocker_id == blocker)
        .order_by(blocks.c.created_at)
    )
    return [(r[0], r[1]) for r in rows]


# -- messages ------------------------------------------------------------------------
def _insert_messages(_dialect: str) -> Insert:
    return insert(messages).values({c.name: bindparam(c.name) for c in messages.c})


# The columns of a message row as `insert_messages` takes it, in this order.
MESSAGE_COLUMNS = tuple(c.name for c in messages.c)


async def insert_messages(conn: AsyncConnection, rows: Sequence[Sequence[Any]]) -> None:
    """Message rows as tuples in MESSAGE_COLUMNS order, with driver values (the hot
    path: obrolan.db.driver); `created_at` and the other times as `driver.db_time`."""
    await driver.execute_many(conn, driver.prepare(_insert_messages, conn.dialect), rows)


async def messages_by_ids(conn: AsyncConnection, ids: Iterable[str]) -> dict[str, Row[Any]]:
    wanted = list(set(ids))
    if not wanted:
        return {}
    rows = await conn.execute(select(messages).where(messages.c.id.in_(wanted)))
    return {r.id: r for r in rows}


async def get_message(conn: AsyncConnection, message_id: str) -> Row[Any] | None:
    return (await conn.execute(select(messages).where(messages.c.id == message_id))).first()


async def update_message(conn: AsyncConnection, message_id: str, values: dict[str, Any]) -> None:
    await conn.execute(update(messages).where(messages.c.id == message_id).values(**values))


async def history(
    conn: AsyncConnection, room_id: str, *, before: int | None, after: int | None, limit: int
) -> list[Row[Any]]:
    """Up to `limit` messages of the room, oldest first, before or after a position."""
    stmt = select(messages).where(messages.c.room_id == room_id)
    if after is not None:
        stmt = stmt.where(messages.c.position > after).order_by(messages.c.position).limit(limit)
        return list((await conn.execute(stmt)).all())
    if before is not None:
        stmt = stmt.where(messages.c.position < before)
    stmt = stmt.order_by(messages.c.position.desc()).limit(limit)
    return list(reversed((await conn.execute(stmt)).all()))


async def last_position(conn: AsyncConnection, room_id: str) -> int:
    value = (
        await conn.execute(
            select(func.max(messages.c.position)).where(messages.c.room_id == room_id)
        )
    ).scalar_one()
    return int(value or 0)


# -- reactions -----------------------------------------------------------------------
async def add_reaction(
    conn: AsyncConnection, message_id: str, user_id: str, emoji: str, now: datetime
) -> bool:
    exists = (
        await conn.execute(
            select(reactions.c.emoji).where(
                reactions.c.message_id == message_id,
                reactions.c.user_id == user_id,
                reactions.c.emoji == emoji,
            )
        )
    ).first()
    if exists:
        return False
    await conn.execute(
        insert(reactions).values(
            message_id=message_id, user_id=user_id, emoji=emoji, created_at=now
        )
    )
    return True


async def remove_reaction(conn: AsyncConnection, message_id: str, user_id: str, emoji: str) -> bool:
    result = await conn.execute(
        delete(reactions).where(
            reactions.c.message_id == message_id,
            reactions.c.user_id == user_id,
            reactions.c.emoji == emoji,
        )
    )
    return bool(result.rowcount)


async def clear_reactions(conn: AsyncConnection, message_id: str) -> None:
    await conn.execute(delete(reactions).where(reactions.c.message_id == message_id))


async def reactions_of(
    conn: AsyncConnection, message_ids: Sequence[str]
) -> dict[str, dict[str, list[str]]]:
    """{message id: {emoji: [user ids]}} for these messages."""
    if not message_ids:
        return {}
    rows = await conn.execute(
        select(reactions.c.message_id, reactions.c.emoji, reactions.c.user_id)
        .where(reactions.c.message_id.in_(list(message_ids)))
        .order_by(reactions.c.created_at)
    )
    out: dict[str, dict[str, list[str]]] = {}
    for message_id, emoji, user_id in rows:
        out.setdefault(message_id, {}).setdefault(emoji, []).append(user_id)
    return out


# -- site administration -------------------------------------------------------------
async def room_audience(conn: AsyncConnection, room_id: str) -> list[str]:
    """The people in a room or invited to it: who must hear that it is gone."""
    rows = await conn.execute(
        select(memberships.c.user_id)
        .where(
            memberships.c.room_id == room_id,
            memberships.c.state.in_([State.JOIN.value, State.INVITE.value]),
        )
        .order_by(memberships.c.user_id)
    )
    return [r[0] for r in rows]


async def delete_room(conn: AsyncConnection, room_id: str) -> None:
    """A room and everything in it: reactions, messages, memberships.

    Spelled out rather than left to ON DELETE CASCADE, so it holds on a SQLite
    connection that did not turn foreign keys on.
    """
    room_messages = select(messages.c.id).where(messages.c.room_id == room_id)
    await conn.execute(delete(reactions).where(reactions.c.message_id.in_(room_messages)))
    await conn.execute(delete(messages).where(messages.c.room_id == room_id))
    await conn.execute(delete(memberships).where(memberships.c.room_id == room_id))
    await conn.execute(delete(rooms).where(rooms.c.id == room_id))


# -- disappearing messages (the retention sweep) -------------------------------------
async def disappearing_rooms(conn: AsyncConnection) -> list[tuple[str, int]]:
    """(room id, days) of every room with disappearing messages on."""
    rows = await conn.execute(
        select(rooms.c.id, rooms.c.disappearing_days)
        .where(rooms.c.disappearing_days > 0)
        .order_by(rooms.c.id)
    )
    return [(r[0], int(r[1])) for r in rows]


def _oldest_of_room(room_id: str, limit: int) -> Select[Any]:
    # The room's oldest messages by position, through ix_messages_room_id_position:
    # a range read of `limit` rows, however many messages the room holds.
    return (
        select(messages.c.id, messages.c.created_at)
        .where(messages.c.room_id == room_id)
        .order_by(messages.c.position)
        .limit(limit)
    )


async def delete_disappeared(
    conn: AsyncConnection, room_id: str, sent_before: datetime, limit: int
) -> tuple[int, int]:
    """Delete up to `limit` of the room's oldest messages sent before `sent_before`, with
    their reactions; (messages, reactions) deleted.

    Walks the room's oldest messages in position order and stops at the first one sent
    at or after `sent_before`. Positions follow sending order, so a message sent a few
    milliseconds out of order waits at most one sweep more.
    """
    ids = []
    for message_id, created_at in await conn.execute(_oldest_of_room(room_id, limit)):
        if created_at >= sent_before:
            break
        ids.append(message_id)
    if not ids:
        return 0, 0
    gone_reactions = await conn.execute(delete(reactions).where(reactions.c.message_id.in_(ids)))
    gone = await conn.execute(delete(messages).where(messages.c.id.in_(ids)))
    return int(gone.rowcount), int(gone_reactions.rowcount)


async def count_disappeared(conn: AsyncConnection, room_id: str, sent_before: datetime) -> int:
    """How many of the room's messages were sent before `sent_before` (a dry run)."""
    value = (
        await conn.execute(
            select(func.count()).where(
                messages.c.room_id == room_id, messages.c.created_at < sent_before
            )
        )
    ).scalar_one()
    return int(value)


async def oldest_message_sent(conn: AsyncConnection, room_id: str) -> datetime | None:
    """When the room's first remaining message (by position) was sent; None when empty."""
    row = (await conn.execute(_oldest_of_room(room_id, 1))).first()
    return None if row is None else row[1]
