"""The ordered event stream: append inside a transaction, publish after commit, replay.

Every state change that clients see is written as one `events` row in the same
transaction as the change itself. Only after the commit is the event handed to the
broker, so a client is never told of something the database does not have, and a
client that missed live delivery reads the same event back with `since`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

import orjson
from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from obrolan.clock import Clock
from obrolan.db import Database
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
    def publish(self, batch: Sequence[Published]) -> None: ...


# Builds the `data` of replayed events of one kind family from their stored rows.
Hydrator = Callable[[AsyncConnection, Sequence[Row[Any]]], Awaitable[dict[int, dict[str, Any]]]]


@dataclass(slots=True)
class Transaction:
    conn: AsyncConnection
    now: datetime
    appended: list[tuple[int, NewEvent]] = field(default_factory=list)
    # Called once the transaction has committed (and never when it rolls back): a
    # worker woken before the commit would not yet see the job it is woken for.
    committed: list[Callable[[], None]] = field(default_factory=list)

    def after_commit(self, callback: Callable[[], None]) -> None:
        if callback not in self.committed:
            self.committed.append(callback)

    async def append(self, *new_events: NewEvent) -> list[int]:
        """Write events in this transaction; they are published after it commits.

        An event's `data` is serialised at commit, so the caller may still complete it
        with what the positions tell (a message carries its own position).
        """
        positions = await store.allocate_positions(self.conn, len(new_events))
        rows = [
            {
                "position": position,
                "kind": ev.kind,
                "room_id": ev.room_id,
                "target_user_id": ev.target_user_id,
                "actor_id": ev.actor_id,
                "message_id": ev.message_id,
                "payload": orjson.dumps(ev.data) if ev.store_data else None,
                "created_at": self.now,
            }
            for position, ev in zip(positions, new_events, strict=True)
        ]
        await store.insert_events(self.conn, rows)
        self.appended.extend(zip(positions, new_events, strict=True))
        return positions

    def published(self) -> list[Published]:
        return [
            Published(
                position=pos,
                kind=ev.kind,
                room_id=ev.room_id,
                target_user_id=ev.target_user_id,
                frame=dumps(
                    event_frame(pos, ev.kind, frame_room(ev.room_id, ev.data), self.now, ev.data)
                ),
                data=ev.data,
            )
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
        """One write transaction; its events are published after commit, in order."""
        async with self.db.write_lock:
            async with self.db.write() as conn:
                tx = Transaction(conn, self.clock.now())
                yield tx
            # Committed. Publishing under the lock keeps publish order = position order.
            if tx.appended:
                self.broker.publish(tx.published())
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
        async with self.db.write_lock, self.db.write() as conn:
            await store.raise_floor(conn, floor)

    async def read_since(
        self, conn: AsyncConnection, user_id: str, room_ids: Sequence[str], since: int, limit: int
    ) -> list[tuple[int, str]]:
        """Events after `since` that `user_id` may see, as (position, frame), in order.

        `room_ids` are the rooms the person is in now; events addressed to the person
        (their own invites, kicks, new-device alerts) come through `target_user_id`.
        """
        rows = await store.events_since(conn, user_id, room_ids, since, limit)
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
                (
                    r.position,
                    dumps(
                        event_frame(
                            r.position,
                            r.kind,
                            frame_room(r.room_id, payload),
                            r.created_at,
                            payload,
                        )
                    ),
                )
            )
        return out
