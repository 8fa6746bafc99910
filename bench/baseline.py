"""The baseline: the fan-out obrolan does, minus persistence, auth and ordering.

A raw ASGI app served by the same uvicorn + websockets stack as obrolan, speaking the
subset of docs/protocol.md that the load generator uses:

- `hello {token, rooms}` → `ready`. The token *is* the user id and `rooms` lists the
  rooms the connection is in (only the baseline reads `rooms`; obrolan knows
  membership from its database).
- `send {id, room_id, client_msg_id, body}` → an `event` (message.created, shaped like
  obrolan's) to every connection in the room, the sender's own included, then an
  `ack {id, position, message}` to the sender.

Like obrolan's hub, each event is serialised once and every connection has its own
outbound queue drained by a writer task, so a slow reader never stalls a sender. What
the ratio obrolan ÷ baseline then measures is the cost of the database commit, the
authentication and the ordering, not a different web server.

Run: python -m uvicorn bench.baseline:app --port 8001
"""

from __future__ import annotations

import asyncio
import itertools
from collections import defaultdict
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import orjson

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


def _dumps(frame: dict[str, Any]) -> str:
    return orjson.dumps(frame).decode()


def _now_iso() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


class _Connection:
    __slots__ = ("queue", "rooms", "user_id")

    def __init__(self, user_id: str, rooms: set[str]) -> None:
        self.user_id = user_id
        self.rooms = rooms
        self.queue: asyncio.Queue[str | None] = asyncio.Queue()


class FanOut:
    """Room → connections, and the one counter that stands in for obrolan's positions."""

    def __init__(self) -> None:
        self._by_room: dict[str, set[_Connection]] = defaultdict(set)
        self._positions = itertools.count(1)
        self.head = 0

    def register(self, conn: _Connection) -> None:
        for room_id in conn.rooms:
            self._by_room[room_id].add(conn)

    def unregister(self, conn: _Connection) -> None:
        for room_id in conn.rooms:
            subs = self._by_room.get(room_id)
            if subs is not None:
                subs.discard(conn)
                if not subs:
                    del self._by_room[room_id]

    def send_message(self, sender: _Connection, frame: dict[str, Any]) -> str:
        """Deliver one message to its room; the ack frame for the sender."""
        position = self.head = next(self._positions)
        now = _now_iso()
        room_id = frame["room_id"]
        message = {
            "id": f"m{position}",
            "room_id": room_id,
            "sender_id": sender.user_id,
            "client_msg_id": frame["client_msg_id"],
            "position": position,
            "body": frame["body"],
            "reply_to": None,
            "created_at": now,
            "edited_at": None,
            "deleted": False,
        }
        event = _dumps(
            {
                "type": "event",
                "position": position,
                "kind": "message.created",
                "room_id": room_id,
                "at": now,
                "data": message,
            }
        )
        for conn in self._by_room.get(room_id, ()):
            conn.queue.put_nowait(event)
        return _dumps({"type": "ack", "id": frame["id"], "position": position, "message": message})


def _error(request_id: Any, status: int, detail: str) -> str:
    problem = {
        "type": "https://obrolan.dev/problems/invalid",
        "title": "Invalid input",
        "status": status,
        "detail": detail,
    }
    return _dumps({"type": "error", "id": request_id, "error": problem})


async def _writer(conn: _Connection, send: Send) -> None:
    while (frame := await conn.queue.get()) is not None:
        await send({"type": "websocket.send", "text": frame})


async def _receive_frame(receive: Receive) -> dict[str, Any] | None:
    """The next text frame as a JSON object; None once the client has gone."""
    while True:
        message = await receive()
        if message["type"] == "websocket.disconnect":
            return None
        text = message.get("text")
        if text is None:
            continue
        try:
            frame = orjson.loads(text)
        except orjson.JSONDecodeError:
            continue
        if isinstance(frame, dict):
            return frame


async def _websocket(fanout: FanOut, receive: Receive, send: Send) -> None:
    await receive()  # websocket.connect
    await send({"type": "websocket.accept"})
    hello = await _receive_frame(receive)
    if hello is None or hello.get("type") != "hello" or not hello.get("token"):
        await send({"type": "websocket.close", "code": 4400})
        return
    conn = _Connection(str(hello["token"]), {str(r) for r in hello.get("rooms", ())})
    fanout.register(conn)
    ready = {"type": "ready", "user_id": conn.user_id, "session_id": "s0", "position": fanout.head}
    conn.queue.put_nowait(_dumps(ready))
    writer = asyncio.create_task(_writer(conn, send))
    try:
        while (frame := await _receive_frame(receive)) is not None:
            kind = frame.get("type")
            if kind == "send" and frame.get("room_id") in conn.rooms:
                conn.queue.put_nowait(fanout.send_message(conn, frame))
            elif kind == "ping":
                conn.queue.put_nowait(_dumps({"type": "pong", "id": frame.get("id")}))
            else:
                conn.queue.put_nowait(_error(frame.get("id"), 422, "not understood"))
    finally:
        fanout.unregister(conn)
        conn.queue.put_nowait(None)
        await asyncio.gather(writer, return_exceptions=True)


async def _http(scope: Scope, send: Send) -> None:
    # /readyz, so the runner waits for both servers the same way.
    status, body = (200, b"ok") if scope["path"] == "/readyz" else (404, b"not found")
    headers = [(b"content-type", b"text/plain"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


def create_app() -> Callable[[Scope, Receive, Send], Awaitable[None]]:
    fanout = FanOut()

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            await _websocket(fanout, receive, send)
        elif scope["type"] == "http":
            await _http(scope, send)
        elif scope["type"] == "lifespan":
            await _lifespan(receive, send)

    return app


app = create_app()
