"""The ordered event stream: append inside a transaction, publish after commit, replay.

Every state change that clients see is written as one `events` row in the same
transaction as the change itself. Only after the commit is the event handed to the
broker, so a client is never told of something the database does not have, and a
client that missed live delivery reads the same event back with `since`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

import orjson
from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from obrolan.clock import Clock
from obrolan.db import Database
from obrolan.db.driver import db_time
from obrolan.realtime import store
from obrolan.realtime.frames import dumps, event_frame


@dataclass(slots=True)
class NewEvent:
    """An event to append. One addressed to a person alone (`room_id` None, a
    `target_user_id`) may still be about a room: it names it in `data["room_id"]`, and
    its frame carries that room, while the room's members never see it."""

    kind: str
    room_id: str | None
    actor_id: str | None
    data: dict[str, Any]
    target_user_id: str | None = None
    message_id: str | None = None
    # Message events keep their content in the message row only (see models.events).
    store_data: bool = True


@dataclass(slots=True, frozen=True)
class Published:
    """An event as the broker carries it: routing fields and the frame, serialised once."""

    position: int
    kind: str
    room_id: str | None
    target_user_id: str | None
    frame: str
    # The event's data as objects, for routing decisions (a membership change moves
    # subscriptions; a revoked session closes its sockets). Never sent as is.
    data: dict[str, Any]


def frame_room(room_id: str | None, data: dict[str, Any]) -> str | None:
    """The room a frame names: the event's, or the one a personal event is about."""
    if room_id is not None:
        return room_id
    named = data.get("room_id")
    return named if isinstance(named, str) else None


class Broker(Protocol):
    """Fan-out of committed events to the sockets of every node (obrolan.realtime.hub)."""

    # Whether `publish` uses `after`: reading it costs a query under the order lock.
    needs_after: bool

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def publish(self, batch: Sequence[Published], after: int | None) -> None:
        """One committed batch, in position order. `after` is the newest position
        committed before it (None where one process is the only writer, or where the
        broker does not need it)."""

    def broadcast_ephemeral(
        self, room_ids: Iterable[str], frame: str, *, exclude_user: str | None = None
    ) -> None:
        """Typing: to the rooms' sockets on every node, not stored."""

    async def online(self, user_ids: Sequence[str]) -> set[str]:
        """Those of `user_ids` with a socket on any node now (one read for all of them)."""

    def came_online(self, user_id: str, room_ids: Iterable[str]) -> None:
        """The person's first socket on this node: `online` to the rooms, unless another
        node holds them already."""

    def went_offline(self, user_id: str, room_ids: Iterable[str]) -> None:
        """The person's last socket on this node closed: `offline` to the rooms, unless
        another node still holds them."""


# Builds the `data` of replayed events of one kind family from their stored rows.
Hydrator = Callable[[AsyncConnection, Sequence[Row[Any]]], Awaitable[dict[int, dict[str, Any]]]]


@dataclass(slots=True)
class Transaction:
    conn: AsyncConnection
    now: datetime
    # Events appended but not yet written, with their stored payload (serialised when
    # appended: data completed afterwards reaches the live frame only).
    pending: list[tuple[NewEvent, bytes | None]] = field(default_factory=list)
    appended: list[tuple[int, NewEvent]] = field(default_factory=list)
    # Called once the transaction has committed (and never when it rolls back): a
    # worker woken before the commit would not yet see the job it is woken for.
    committed: list[Callable[[], None]] = field(default_factory=list)
    # Holds the order lock (PostgreSQL): released once the events are published.
    ordered: bool = False
    # Read `after` under the order lock (only the broker that uses it needs the query).
    needs_after: bool = False
    # The newest position committed before this transaction's events.
    after: int | None = None

    def after_commit(self, callback: Callable[[], None]) -> None:
        if callback not in self.committed:
            self.committed.append(callback)

    def append(self, *new_events: NewEvent) -> None:
        """Add events to this transaction; they are written at its end, then published.

        Their stored payload is serialised now; the frame only at commit, so the caller
        may still complete `data` for the live frame (a message carries its position,
        known after `write_events`).
        """
        if self.appended:
            raise RuntimeError("this transaction's events are already written")
        self.pending.extend(
            (ev, orjson.dumps(ev.data) if ev.store_data else None) for ev in new_events
        )

    async def write_events(self) -> list[int]:
        """Give the appended events their positions and write them; the positions, in order.

        The last step of a transaction with events: the stream calls it on exit when
        the code did not. On PostgreSQL it first takes the order lock, which every
        node's writer waits for until this transaction has committed and published:
        whatever runs after this call runs while all of them wait.
        """
        if not self.appended and self.pending:
            if self.conn.dialect.name != "sqlite":
                self.ordered = True  # set first: a failed attempt is released all the same
                await store.take_order_lock(self.conn)
                if self.needs_after:
                    self.after = await store.committed_head(self.conn)
            positions = await store.allocate_positions(self.conn, len(self.pending))
            now = db_time(self.conn.dialect, self.now)
            rows = [
                (
                    position,
                    ev.kind,
                    ev.room_id,
                    ev.target_user_id,
                    ev.actor_id,
                    ev.message_id,
                    payload,
                    now,
                )
                for position, (ev, payload) in zip(positions, self.pending, strict=True)
            ]
            await store.insert_events(self.conn, rows)
            self.appended = [(p, ev) for p, (ev, _) in zip(positions, self.pending, strict=True)]
            self.pending = []
        return [position for position, _ in self.appended]

    def published(self) -> list[Published]:
        return [
            _published(pos, ev.kind, ev.room_id, ev.target_user_id, self.now, ev.data)
            for pos, ev in self.appended
        ]


class EventStream:
    def __init__(self, db: Database, broker: Broker, clock: Clock) -> None:
        self.db = db
        self.broker = broker
        self.clock = clock
        self._hydrators: dict[str, Hydrator] = {}

    def set_broker(self, broker: Broker) -> None:
        self.broker = broker

    def register_hydrator(self, kind_prefix: str, hydrator: Hydrator) -> None:
        """Events whose kind starts with `kind_prefix` get their data from `hydrator`."""
        self._hydrators[kind_prefix] = hydrator

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:
        """One write transaction; its events are published after commit, in order.

        In this process `write_lock` orders transactions (and lets the message writer
        commit many sends at once). Across processes on PostgreSQL the order lock that
        `write_events` takes does: positions are handed out, committed and published
        one transaction at a time, so no position is published while a smaller one may
        still commit (ARCHITECTURE 1).
        """
        async with self.db.write_lock, self.db.writer() as conn:
            tx = Transaction(conn, self.clock.now(), needs_after=self.broker.needs_after)
            try:
                async with conn.begin():
                    yield tx
                    await tx.write_events()
                # Committed. Publishing before the lock is released keeps publish
                # order = position order.
                if tx.appended:
                    await self.broker.publish(tx.published(), tx.after)
            finally:
                if tx.ordered:
                    await _release_order_lock(conn)
        for callback in tx.committed:
            callback()

    async def head(self, conn: AsyncConnection) -> int:
        """The newest committed position this transaction sees."""
        return await store.committed_head(conn)

    async def high_water(self, conn: AsyncConnection) -> int:
        """The greatest position ever handed out: no client can hold a greater one."""
        return await store.high_water(conn)

    async def raise_floor(self) -> None:
        """Make every position from now on greater than any handed out before, even after a restore.

        Positions count on from the database's counter, and at start the counter moves
        up to the wall clock in microseconds. A restored older copy of the database has
        an older counter; without this, it would hand out again positions that clients
        already processed, and a client resuming with its last position would miss them.
        A clock reading is greater than every position handed out before it as long as
        the clock does not go back and no run averaged a million events a second.
        """
        floor = int(self.clock.now().timestamp() * 1_000_000)
        async with self.db.write_lock, self.db.writer() as conn:
            # Under the order lock on PostgreSQL: another node allocating between the
            # check and the move could otherwise be moved back below its own positions.
            ordered = conn.dialect.name != "sqlite"
            try:
                async with conn.begin():
                    if ordered:
                        await store.take_order_lock(conn)
                    await store.raise_floor(conn, floor)
            finally:
                if ordered:
                    await _release_order_lock(conn)

    async def read_since(
        self, conn: AsyncConnection, user_id: str, room_ids: Sequence[str], since: int, limit: int
    ) -> list[tuple[int, str]]:
        """Events after `since` that `user_id` may see, as (position, frame), in order.

        `room_ids` are the rooms the person is in now; events addressed to the person
        (their own invites, kicks, new-device alerts) come through `target_user_id`.
        """
        rows = await store.events_since(conn, user_id, room_ids, since, limit)
        return [(ev.position, ev.frame) for ev in await self._hydrate(conn, rows)]

    async def read_published(
        self, conn: AsyncConnection, after: int, up_to: int | None, limit: int
    ) -> list[Published]:
        """Every event in (after, up_to], whoever it is for, as the broker carries it.

        For a node that missed batches on the broker: it reads them back from the
        database and delivers them itself (ARCHITECTURE 1: the broker only makes it fast).
        """
        return await self._hydrate(conn, await store.events_between(conn, after, up_to, limit))

    async def _hydrate(self, conn: AsyncConnection, rows: Sequence[Row[Any]]) -> list[Published]:
        hydrated: dict[int, dict[str, Any]] = {}
        for prefix, hydrator in self._hydrators.items():
            family = [r for r in rows if r.kind.startswith(prefix)]
            if family:
                hydrated.update(await hydrator(conn, family))
        out = []
        for r in rows:
            payload = hydrated.get(r.position)
            if payload is None:
                payload = orjson.loads(r.payload) if r.payload else {}
            out.append(
                _published(r.position, r.kind, r.room_id, r.target_user_id, r.created_at, payload)
            )
        return out


def _published(
    position: int,
    kind: str,
    room_id: str | None,
    target_user_id: str | None,
    created_at: datetime,
    data: dict[str, Any],
) -> Published:
    """An event as the broker carries it, its frame serialised here (live or replayed alike)."""
    frame = dumps(event_frame(position, kind, frame_room(room_id, data), created_at, data))
    return Published(position, kind, room_id, target_user_id, frame, data)


async def _release_order_lock(conn: AsyncConnection) -> None:
    try:
        await store.release_order_lock(conn)
    except BaseException:
        # A connection that may still hold the lock must never serve another
        # transaction (every writer would wait on it): dropped, PostgreSQL frees it.
        await conn.invalidate()
        raise
