"""In-process fan-out: which connection is subscribed to which room, and delivery.

The hub never touches the database. Subscriptions start from the rooms a person is in
when they connect and then follow the membership events that pass through, so the room
member set needs no query per message.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Iterable, Sequence

from obrolan.realtime.frames import presence_frame
from obrolan.realtime.stream import Published

# A connection that falls this far behind is closed; it reconnects with `since`
# and catches up from the database instead of holding frames in memory.
MAX_QUEUED_FRAMES = 10_000

CLOSE_UNAUTHENTICATED = 4401
CLOSE_TOO_SLOW = 4408

# A room was removed: one event per person who was in it or invited, addressed to them
# alone (a room-wide event per person would reach every member once per member).
ROOM_REMOVED = "room.removed"


class Connection:
    """One WebSocket as the hub sees it: an outbound queue and the last position sent."""

    __slots__ = (
        "_held",
        "close_code",
        "closed",
        "last_position",
        "live",
        "max_queued",
        "queue",
        "rooms",
        "session_id",
        "user_id",
    )

    def __init__(self, user_id: str, session_id: str, max_queued: int = MAX_QUEUED_FRAMES) -> None:
        self.user_id = user_id
        self.session_id = session_id
        self.max_queued = max_queued
        self.rooms: set[str] = set()
        self.queue: asyncio.Queue[str | None] = asyncio.Queue()
        self.last_position = 0
        self.closed = False
        self.close_code = 1000
        # Until replay has caught up, live events wait here (they may overlap replay).
        # Bounded like the queue: a replay that cannot keep up ends in CLOSE_TOO_SLOW.
        self.live = False
        self._held: list[Published] = []

    def send_event(self, event: Published) -> None:
        if not self.live:
            if len(self._held) >= self.max_queued:
                self.close(CLOSE_TOO_SLOW)
            elif not self.closed:
                self._held.append(event)
            return
        if event.position <= self.last_position:
            return  # already sent (replay overlap, or both room subscriber and target)
        self.last_position = event.position
        self.send(event.frame)

    def send_replayed(self, position: int, frame: str) -> None:
        """An event read back from the database, sent before the held live ones."""
        self.last_position = position
        self.send(frame)

    def send(self, frame: str) -> None:
        if self.closed:
            return
        if self.queue.qsize() >= self.max_queued:
            self.close(CLOSE_TOO_SLOW)
            return
        self.queue.put_nowait(frame)

    def held_memberships(self, after: int) -> list[Published]:
        """The person's own membership changes held since registering, newer than `after`:
        joins and leaves, and rooms removed (addressed to each person who was in them)."""
        return [
            ev
            for ev in self._held
            if ev.position > after
            and (
                (
                    ev.kind == "membership"
                    and ev.room_id is not None
                    and ev.data["user_id"] == self.user_id
                )
                or (ev.kind == ROOM_REMOVED and ev.target_user_id == self.user_id)
            )
        ]

    def go_live(self) -> None:
        """Replay is done: flush the live events it did not already cover."""
        self.live = True
        held, self._held = self._held, []
        for event in held:
            self.send_event(event)

    def close(self, code: int = 1000) -> None:
        """Stop sending; the socket closes with `code` once queued frames are out."""
        if not self.closed:
            self.closed = True
            self.close_code = code
            self._held = []
            self.queue.put_nowait(None)


class Hub:
    def __init__(self) -> None:
        self._by_user: dict[str, set[Connection]] = defaultdict(set)
        self._by_room: dict[str, set[Connection]] = defaultdict(set)
        self.published_up_to = 0

    # -- connections ------------------------------------------------------------------
    def register(self, conn: Connection, room_ids: Iterable[str] = ()) -> bool:
        """Add a connection; True when it is the person's first (they came online).

        From here on the events addressed to the person reach it (held until it goes
        live), and so do the rooms it is subscribed to.
        """
        first = not self._by_user.get(conn.user_id)
        self._by_user[conn.user_id].add(conn)
        for room_id in room_ids:
            self._subscribe(conn, room_id)
        return first

    def subscribe(self, conn: Connection, room_ids: Iterable[str], *, as_of: int) -> None:
        """Subscribe a registered connection to the rooms a snapshot at `as_of` shows.

        Membership changes newer than the snapshot may already have passed through the
        hub while the snapshot was read: they are applied again on top of it, in order,
        so a kick or a join committed meanwhile is not undone by the older snapshot.
        """
        for room_id in room_ids:
            self._subscribe(conn, room_id)
        for ev in conn.held_memberships(after=as_of):
            if ev.kind == "membership" and ev.data["state"] == "join":
                self._subscribe(conn, ev.room_id)  # type: ignore[arg-type]
            else:
                self._unsubscribe(ev.room_id, conn)  # type: ignore[arg-type]

    def unregister(self, conn: Connection) -> bool:
        """Remove a connection; True when it was the person's last (they went offline)."""
        # conn.rooms stays as it was: the offline presence goes to those rooms.
        for room_id in conn.rooms:
            self._drop(room_id, conn)
        conns = self._by_user.get(conn.user_id)
        if conns is None:
            return False
        conns.discard(conn)
        if not conns:
            del self._by_user[conn.user_id]
            return True
        return False

    def connection_count(self) -> int:
        return sum(len(c) for c in self._by_user.values())

    def connections_of(self, user_id: str) -> set[Connection]:
        return self._by_user.get(user_id, set())

    def is_online(self, user_id: str) -> bool:
        return bool(self._by_user.get(user_id))

    # -- delivery ---------------------------------------------------------------------
    def deliver(self, batch: Sequence[Published]) -> None:
        if batch:
            # Publishing follows position order, so this says which positions a
            # connection registered from now on can no longer receive live.
            self.published_up_to = batch[-1].position
        for ev in batch:
            membership = ev.kind == "membership" and ev.room_id is not None
            if membership and ev.data["state"] == "join":
                self._subscribe_user(ev.data["user_id"], ev.room_id)  # type: ignore[arg-type]
            removed = ev.kind == ROOM_REMOVED
            if ev.room_id is not None and not removed:
                for conn in self._by_room.get(ev.room_id, ()):
                    conn.send_event(ev)
            if ev.target_user_id is not None:
                for conn in self._by_user.get(ev.target_user_id, ()):
                    conn.send_event(ev)
            if removed and ev.target_user_id is not None:
                self._unsubscribe_user(ev.target_user_id, ev.room_id)  # type: ignore[arg-type]
            if membership and ev.data["state"] != "join":
                # The person sees their own leave/kick/ban, then nothing more of the room.
                self._unsubscribe_user(ev.data["user_id"], ev.room_id)  # type: ignore[arg-type]
            if ev.kind == "session.revoked" and ev.target_user_id is not None:
                for conn in list(self._by_user.get(ev.target_user_id, ())):
                    if conn.session_id == ev.data["session_id"]:
                        conn.close(CLOSE_UNAUTHENTICATED)

    def broadcast_ephemeral(
        self, room_ids: Iterable[str], frame: str, *, exclude_user: str | None = None
    ) -> None:
        """Typing and presence: not stored, not positioned, each connection at most once."""
        seen: set[Connection] = set()
        for room_id in room_ids:
            for conn in self._by_room.get(room_id, ()):
                if conn in seen or conn.user_id == exclude_user:
                    continue
                seen.add(conn)
                conn.send(frame)

    def _subscribe_user(self, user_id: str, room_id: str) -> None:
        for conn in self._by_user.get(user_id, ()):
            self._subscribe(conn, room_id)

    def _unsubscribe_user(self, user_id: str, room_id: str) -> None:
        for conn in list(self._by_user.get(user_id, ())):
            self._unsubscribe(room_id, conn)

    def _subscribe(self, conn: Connection, room_id: str) -> None:
        conn.rooms.add(room_id)
        self._by_room[room_id].add(conn)

    def _unsubscribe(self, room_id: str, conn: Connection) -> None:
        conn.rooms.discard(room_id)
        self._drop(room_id, conn)

    def _drop(self, room_id: str, conn: Connection) -> None:
        subs = self._by_room.get(room_id)
        if subs is not None:
            subs.discard(conn)
            if not subs:
                del self._by_room[room_id]


class LocalBroker:
    """The embedded broker: hands events straight to this process's hub."""

    needs_after = False

    def __init__(self, hub: Hub) -> None:
        self.hub = hub

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        pass

    async def publish(self, batch: Sequence[Published], after: int | None) -> None:
        self.hub.deliver(batch)

    def broadcast_ephemeral(
        self, room_ids: Iterable[str], frame: str, *, exclude_user: str | None = None
    ) -> None:
        self.hub.broadcast_ephemeral(room_ids, frame, exclude_user=exclude_user)

    async def online(self, user_ids: Sequence[str]) -> set[str]:
        return {u for u in user_ids if self.hub.is_online(u)}

    # One process: the hub's first and last connection are the person's first and last.
    def came_online(self, user_id: str, room_ids: Iterable[str]) -> None:
        self.hub.broadcast_ephemeral(
            room_ids, presence_frame(user_id, "online"), exclude_user=user_id
        )

    def went_offline(self, user_id: str, room_ids: Iterable[str]) -> None:
        self.hub.broadcast_ephemeral(
            room_ids, presence_frame(user_id, "offline"), exclude_user=user_id
        )
