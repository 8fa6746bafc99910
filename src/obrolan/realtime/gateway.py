"""The WebSocket endpoint `/ws`: hello, replay, live events and client requests.

The protocol is written down in docs/protocol.md. This module only speaks it: every
decision (who may send where, what a receipt may say) is made by the services.

It is a plain ASGI application that app.py puts in front of FastAPI: every frame of
every socket passes here, and the framework's routing and middleware, made for HTTP
requests, would wrap each one again (they cost a fifth of the server's time under load).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import orjson
import structlog
from starlette.types import Receive, Scope, Send

from obrolan.accounts.principal import Principal
from obrolan.accounts.service import LAST_SEEN_RESOLUTION
from obrolan.api.inputs import NUL, NUL_MESSAGE, POSITION_MAX
from obrolan.chat.service import MAX_PRESENCE_IDS
from obrolan.chat.writer import SendResult
from obrolan.errors import (
    InternalError,
    Invalid,
    NotFound,
    ObrolanError,
    PayloadTooLarge,
    Unauthenticated,
)
from obrolan.realtime.connecting import read_connect_snapshot
from obrolan.realtime.frames import dumps, error_frame
from obrolan.realtime.hub import CLOSE_UNAUTHENTICATED, Connection
from obrolan.services import Services

log = structlog.get_logger("obrolan.ws")
PATH = "/ws"

# What answers one kind of frame: (connection, request id, frame).
Handler = Callable[[Connection, Any, dict[str, Any]], Awaitable[None]]

HELLO_TIMEOUT_SECONDS = 10.0
CLOSE_NO_HELLO = 4400
MAX_IN_FLIGHT = 64  # concurrent requests per socket; more wait their turn


class Disconnected(Exception):
    """The client went away."""


async def serve_websocket(services: Services, scope: Scope, receive: Receive, send: Send) -> None:
    """The ASGI entry point for one socket at /ws."""
    await Gateway(services, receive, send).run()


class Gateway:
    def __init__(self, services: Services, receive: Receive, send: Send) -> None:
        self.services = services
        self._asgi_receive = receive
        self._asgi_send = send
        self.conn: Connection | None = None
        self.principal: Principal | None = None
        self._in_flight = asyncio.Semaphore(MAX_IN_FLIGHT)
        self._tasks: set[asyncio.Task[None]] = set()
        self._missed_live = False
        # When this socket last recorded its session as in use (the hello did).
        self._last_touch: datetime | None = None

    async def run(self) -> None:
        if (await self._asgi_receive())["type"] != "websocket.connect":
            return
        await self._asgi_send({"type": "websocket.accept"})
        hello = await self._hello()
        if hello is None:
            return
        principal, since = hello
        conn = await self._register(principal, since)
        if conn is None:
            return
        pump = asyncio.create_task(self._pump(conn))
        session_end = self._close_when_the_session_ends(conn, principal)
        try:
            await self._replay(conn, since)
            await self._receive_loop(conn)
        finally:
            if session_end is not None:
                session_end.cancel()
            conn.close()
            for task in list(self._tasks):
                task.cancel()
            if self.services.hub.unregister(conn):
                self.services.broker.went_offline(conn.user_id, conn.rooms)
            self.services.metrics.open_connections.set(self.services.hub.connection_count())
            with contextlib.suppress(Exception):
                await pump

    # -- connecting --------------------------------------------------------------------
    async def _hello(self) -> tuple[Principal, int | None] | None:
        frame: Any = None
        try:
            text = await asyncio.wait_for(self._receive_text(), HELLO_TIMEOUT_SECONDS)
            frame = orjson.loads(text)
            if not isinstance(frame, dict) or frame.get("type") != "hello":
                raise Invalid("the first frame must be hello", field="type")
            token = frame.get("token")
            if not isinstance(token, str) or not token or len(token) > 512:
                raise Invalid("hello needs a token", field="token")
            since = _position(frame, "since")
        except (TimeoutError, Disconnected):
            await self._close(CLOSE_NO_HELLO)
            return None
        except orjson.JSONDecodeError:
            await self._fail(None, Invalid("frames are JSON objects"), CLOSE_NO_HELLO)
            return None
        except Invalid as exc:
            await self._fail(
                frame.get("id") if isinstance(frame, dict) else None, exc, CLOSE_NO_HELLO
            )
            return None
        try:
            # A hint of this node's may stand in for the token look-up: `_register`
            # checks the session against the database once the socket is registered.
            principal = await self.services.accounts.authenticate_hello(token)
        except ObrolanError as exc:
            await self._fail(None, exc, CLOSE_UNAUTHENTICATED)
            return None
        return principal, since

    async def _register(self, principal: Principal, since: int | None) -> Connection | None:
        """Register first, then read the rooms and the session: no change falls between.

        From registration on, every event addressed to the person reaches the
        connection (held until replay is done). The snapshot read after it sees every
        change committed before; a change committed after it is one of those held
        events, and is applied on top of the snapshot. So a kick, a join or a revoked
        session that races the connect is never missed.
        """
        services = self.services
        hub = services.hub
        conn = Connection(
            principal.user_id, principal.session_id, services.settings.ws_max_queued_frames
        )
        first = hub.register(conn)
        try:
            # One statement, one snapshot: the rooms show exactly the changes up to the
            # head, and the held changes after it are applied on top, in order. The
            # session's state here is the truth the hello's token hint may lag behind.
            snapshot = await read_connect_snapshot(
                services.db, principal, with_high_water=since is not None
            )
        except BaseException:
            hub.unregister(conn)
            raise
        head, high_water, room_ids = snapshot.head, snapshot.high_water, snapshot.room_ids
        refusal: tuple[ObrolanError, int] | None = None
        if not snapshot.session_active or conn.closed:
            refusal = (
                Unauthenticated("the token is unknown or was revoked"),
                CLOSE_UNAUTHENTICATED,
            )
        elif since is not None and since > high_water:
            # high_water >= head: read after it, and every position comes from it.
            refusal = (
                Invalid(
                    f"since is past the stream head ({high_water}): reconnect"
                    " without since and load history over REST",
                    field="since",
                    type_slug="since-ahead",
                ),
                CLOSE_NO_HELLO,
            )
        if refusal is not None:
            hub.unregister(conn)
            await self._fail(None, *refusal)
            return None
        # No await from here to `ready`: nothing can be queued before it (presence and
        # typing reach the connection only through the rooms subscribed here).
        self.conn, self.principal = conn, principal
        self._last_touch = services.clock.now()
        conn.send(
            dumps(
                {
                    "type": "ready",
                    "user_id": principal.user_id,
                    "session_id": principal.session_id,
                    "position": head,
                }
            )
        )
        hub.subscribe(conn, room_ids, as_of=head)
        conn.last_position = head if since is None else since
        # Events after the snapshot that the hub published before the rooms were
        # subscribed went past this connection: the replay reads them back.
        self._missed_live = hub.published_up_to > head
        if first:
            services.broker.came_online(conn.user_id, conn.rooms)
        services.metrics.open_connections.set(hub.connection_count())
        return conn

    def _close_when_the_session_ends(
        self, conn: Connection, principal: Principal
    ) -> asyncio.TimerHandle | None:
        """A socket lives no longer than its session's maximum age (R17)."""
        if principal.session_ends_at is None:
            return None
        seconds = (principal.session_ends_at - self.services.clock.now()).total_seconds()
        return asyncio.get_running_loop().call_later(
            max(seconds, 0.0), conn.close, CLOSE_UNAUTHENTICATED
        )

    def _session_in_use(self, conn: Connection) -> None:
        """A frame from the client: the session is in use. Past its maximum age it ends;
        otherwise its idle time starts again, written at most once a minute."""
        principal = self.principal
        if principal is None:
            return
        now = self.services.clock.now()
        if principal.session_ends_at is not None and now >= principal.session_ends_at:
            conn.close(CLOSE_UNAUTHENTICATED)
            return
        if self._last_touch is None or now - self._last_touch >= LAST_SEEN_RESOLUTION:
            self._last_touch = now
            task = asyncio.create_task(self._touch(principal.session_id))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _touch(self, session_id: str) -> None:
        try:
            await self.services.accounts.touch_session(session_id)
        except Exception:  # a missed touch only shortens the idle time left
            log.exception("could not record that a session is in use")

    async def _replay(self, conn: Connection, since: int | None) -> None:
        """Everything after `since` from the database, then the live events held meanwhile."""
        if since is not None or self._missed_live:
            batch_size = self.services.settings.ws_replay_batch
            while not conn.closed:
                async with self.services.db.read() as db:
                    room_ids = await self.services.chat.joined_room_ids(db, conn.user_id)
                    frames = await self.services.stream.read_since(
                        db, conn.user_id, room_ids, conn.last_position, batch_size
                    )
                for position, frame in frames:
                    conn.send_replayed(position, frame)
                if len(frames) < batch_size:
                    break
        conn.go_live()

    async def _pump(self, conn: Connection) -> None:
        """Write queued frames to the socket, in order; close when the hub says so."""
        while True:
            frame = await conn.queue.get()
            if frame is None:
                await self._close(conn.close_code)
                return
            try:
                await self._asgi_send({"type": "websocket.send", "text": frame})
            except OSError:  # uvicorn's ClientDisconnected: the socket is gone
                return

    # -- requests ----------------------------------------------------------------------
    async def _receive_loop(self, conn: Connection) -> None:
        max_bytes = self.services.settings.max_ws_frame_bytes
        while not conn.closed:
            message = await self._asgi_receive()
            if message["type"] == "websocket.disconnect":
                return
            self._session_in_use(conn)
            if conn.closed:
                return
            raw = message.get("text")
            if raw is None:
                if message.get("bytes") is not None:
                    self._reply_error(None, Invalid("frames are JSON in text frames, not binary"))
                continue
            if _utf8_length(raw) > max_bytes:
                self._reply_error(None, PayloadTooLarge(f"frames are at most {max_bytes} bytes"))
                continue
            try:
                frame = orjson.loads(raw)
            except orjson.JSONDecodeError:
                self._reply_error(None, Invalid("frames are JSON objects"))
                continue
            if not isinstance(frame, dict):
                self._reply_error(None, Invalid("frames are JSON objects"))
                continue
            await self._dispatch(conn, frame)

    async def _dispatch(self, conn: Connection, frame: dict[str, Any]) -> None:
        request_id = frame.get("id")
        if request_id is not None and not (
            # JSON true/false are Python ints: an id is a number or a short string, not a flag.
            (isinstance(request_id, int) and not isinstance(request_id, bool))
            or (isinstance(request_id, str) and len(request_id) <= 64)
        ):
            self._reply_error(None, Invalid("id is a string of at most 64 characters", field="id"))
            return
        kind = frame.get("type")
        if kind == "send":
            await self._send(conn, request_id, frame)
        elif kind == "receipt":
            await self._spawn(self._receipt, conn, request_id, frame)
        elif kind == "typing":
            self._typing(conn, request_id, frame)
        elif kind == "presence":
            await self._spawn(self._presence, conn, request_id, frame)
        elif kind == "ping":
            conn.send(dumps({"type": "pong", "id": request_id}))
        else:
            self._reply_error(request_id, Invalid(f"unknown frame type {kind!r}", field="type"))

    async def _spawn(
        self, handler: Handler, conn: Connection, request_id: Any, frame: dict[str, Any]
    ) -> None:
        # Receipts and presence requests run concurrently, bounded with the sends by
        # the same semaphore. The handler's coroutine is made only in its task: a task
        # cancelled before it starts (its socket closed) leaves no coroutine behind
        # that never ran.
        await self._in_flight.acquire()
        task = asyncio.create_task(self._answering(handler, conn, request_id, frame))
        self._tasks.add(task)
        task.add_done_callback(self._finished)

    async def _answering(
        self, handler: Handler, conn: Connection, request_id: Any, frame: dict[str, Any]
    ) -> None:
        """Run a request; a fault of ours still gets an answer, and the socket lives on."""
        try:
            await handler(conn, request_id, frame)
        except Exception:
            log.exception("websocket request failed")
            self._reply_error(request_id, InternalError("something went wrong on our side"))

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._in_flight.release()

    async def _send(self, conn: Connection, request_id: Any, frame: dict[str, Any]) -> None:
        """Queue the send in arrival order and answer from the writer's callback: the
        hot path, so no task or future per message. It holds an in-flight slot until
        the ack, like every request."""
        try:
            room_id = _text(frame, "room_id", 26)
            client_msg_id = _text(frame, "client_msg_id", 64)
            body = frame.get("body")
            if not isinstance(body, str):
                raise Invalid("body is text", field="body")
            if NUL in body:
                raise Invalid(f"body: {NUL_MESSAGE}", field="body")
            reply_to = frame.get("reply_to")
            if reply_to is not None:
                reply_to = _text(frame, "reply_to", 26)
            await self._in_flight.acquire()
            try:
                self.services.chat.submit(
                    conn.user_id,
                    room_id,
                    client_msg_id,
                    body,
                    reply_to,
                    functools.partial(self._sent, conn, request_id),
                )
            except BaseException:
                self._in_flight.release()
                raise
        except ObrolanError as exc:
            self._reply_error(request_id, exc)

    def _sent(self, conn: Connection, request_id: Any, outcome: SendResult | BaseException) -> None:
        self._in_flight.release()
        if isinstance(outcome, ObrolanError):
            self._reply_error(request_id, outcome)
            return
        if isinstance(outcome, BaseException):
            log.error("websocket send failed", exc_info=outcome)
            self._reply_error(request_id, InternalError("something went wrong on our side"))
            return
        ack: dict[str, Any] = {
            "type": "ack",
            "id": request_id,
            "position": outcome.position,
            "message": outcome.message,
        }
        if outcome.duplicate:
            ack["duplicate"] = True
        conn.send(dumps(ack))

    async def _receipt(self, conn: Connection, request_id: Any, frame: dict[str, Any]) -> None:
        try:
            room_id = _text(frame, "room_id", 26)
            delivered = _position(frame, "delivered_up_to")
            read = _position(frame, "read_up_to")
            await self.services.chat.mark(conn.user_id, room_id, delivered, read)
        except ObrolanError as exc:
            self._reply_error(request_id, exc)

    def _typing(self, conn: Connection, request_id: Any, frame: dict[str, Any]) -> None:
        try:
            room_id = _text(frame, "room_id", 26)
            typing = frame.get("typing", True)
            if not isinstance(typing, bool):
                raise Invalid("typing is true or false", field="typing")
            if room_id not in conn.rooms:
                # The same answer as send and receipt give outsiders.
                raise NotFound("room not found, or you are not in it", field="room_id")
        except ObrolanError as exc:
            self._reply_error(request_id, exc)
            return
        out = dumps(
            {"type": "typing", "room_id": room_id, "user_id": conn.user_id, "typing": typing}
        )
        self.services.broker.broadcast_ephemeral([room_id], out, exclude_user=conn.user_id)

    async def _presence(self, conn: Connection, request_id: Any, frame: dict[str, Any]) -> None:
        try:
            user_ids = frame.get("user_ids")
            if not isinstance(user_ids, list):
                raise Invalid("user_ids is a list of user ids", field="user_ids")
            if len(user_ids) > MAX_PRESENCE_IDS:
                raise Invalid(f"at most {MAX_PRESENCE_IDS} user_ids", field="user_ids")
            for user_id in user_ids:
                if not isinstance(user_id, str) or not 1 <= len(user_id) <= 26 or NUL in user_id:
                    raise Invalid(
                        "user_ids holds user ids: text of 1 to 26 characters", field="user_ids"
                    )
            online = await self.services.chat.online_among(conn.user_id, user_ids)
        except ObrolanError as exc:
            self._reply_error(request_id, exc)
            return
        conn.send(dumps({"type": "presence.state", "id": request_id, "online": online}))

    # -- helpers -----------------------------------------------------------------------
    def _reply_error(self, request_id: Any, error: ObrolanError) -> None:
        if self.conn is not None:
            self.conn.send(dumps(error_frame(request_id, error.to_dict())))

    async def _receive_text(self) -> str:
        while True:
            message = await self._asgi_receive()
            if message["type"] == "websocket.disconnect":
                raise Disconnected
            text = message.get("text")
            if text is not None:
                return str(text)
            if message.get("bytes") is not None:
                raise Invalid("frames are JSON in text frames, not binary")

    async def _fail(self, request_id: Any, error: ObrolanError, code: int) -> None:
        with contextlib.suppress(OSError):
            frame = dumps(error_frame(request_id, error.to_dict()))
            await self._asgi_send({"type": "websocket.send", "text": frame})
        await self._close(code)

    async def _close(self, code: int) -> None:
        with contextlib.suppress(OSError):
            await self._asgi_send({"type": "websocket.close", "code": code})


def _text(frame: dict[str, Any], field: str, max_length: int) -> str:
    value = frame.get(field)
    if not isinstance(value, str) or not 1 <= len(value) <= max_length:
        raise Invalid(f"{field} is text of 1 to {max_length} characters", field=field)
    if NUL in value:
        raise Invalid(f"{field}: {NUL_MESSAGE}", field=field)
    return value


def _position(frame: dict[str, Any], field: str) -> int | None:
    value = frame.get(field)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= POSITION_MAX:
        raise Invalid(f"{field} is a stream position (an integer from 0 to 2^63 - 1)", field=field)
    return value


def _utf8_length(text: str) -> int:
    """The frame's size in bytes, as the limit counts it; encoded only when it may matter."""
    return len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))
