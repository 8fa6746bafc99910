"""A real WebSocket client speaking obrolan's protocol (docs/protocol.md)."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from typing import Any

import orjson
from websockets.asyncio.client import ClientConnection, connect

_ids = itertools.count(1)
_open: list[WsClient] = []

# The server shuts down with the test, so a close handshake never needs long.
CLOSE_TIMEOUT_SECONDS = 1.0


def connect_ws(url: str) -> connect:
    """A test socket that buffers whatever arrives, however much.

    With websockets' default `max_queue=16`, a socket a test is not reading stops
    reading TCP after 16 frames: the server's frames and its close answer then wait
    behind them, and closing the socket waits out the whole close timeout.
    """
    return connect(url, max_queue=None, close_timeout=CLOSE_TIMEOUT_SECONDS)


async def close_all_sockets() -> None:
    """Close the sockets a test left open (the server fixture calls this)."""
    sockets, _open[:] = list(_open), []
    await asyncio.gather(*(ws.close() for ws in sockets))


class WsClient:
    def __init__(self, conn: ClientConnection) -> None:
        self.conn = conn
        self.ready: dict[str, Any] = {}

    @classmethod
    async def open(cls, url: str, token: str, since: int | None = None) -> WsClient:
        """Connect and say hello; returns once `ready` has arrived."""
        client = cls(await connect_ws(url))
        _open.append(client)
        hello: dict[str, Any] = {"type": "hello", "token": token}
        if since is not None:
            hello["since"] = since
        await client.send(hello)
        client.ready = await client.recv_type("ready")
        return client

    async def send(self, frame: dict[str, Any]) -> None:
        await self.conn.send(orjson.dumps(frame).decode())

    async def send_raw(self, text: str) -> None:
        await self.conn.send(text)

    async def recv(self, timeout: float = 5.0) -> dict[str, Any]:
        raw = await asyncio.wait_for(self.conn.recv(), timeout)
        frame: dict[str, Any] = orjson.loads(raw)
        return frame

    async def recv_until(
        self, match: Callable[[dict[str, Any]], bool], timeout: float = 5.0
    ) -> dict[str, Any]:
        """The first frame that matches, skipping others (presence, typing, …)."""
        async with asyncio.timeout(timeout):
            while True:
                frame = await self.recv(timeout)
                if match(frame):
                    return frame

    async def recv_type(self, frame_type: str, timeout: float = 5.0) -> dict[str, Any]:
        return await self.recv_until(lambda f: f.get("type") == frame_type, timeout)

    async def recv_event(self, kind: str, timeout: float = 5.0) -> dict[str, Any]:
        return await self.recv_until(
            lambda f: f.get("type") == "event" and f.get("kind") == kind, timeout
        )

    async def send_message(
        self, room_id: str, body: str, client_msg_id: str | None = None, **extra: Any
    ) -> dict[str, Any]:
        """Send and wait for the ack (or error) of this request."""
        request_id = f"req-{next(_ids)}"
        await self.send(
            {
                "type": "send",
                "id": request_id,
                "room_id": room_id,
                "client_msg_id": client_msg_id or request_id,
                "body": body,
                **extra,
            }
        )
        return await self.recv_until(
            lambda f: f.get("type") in ("ack", "error") and f.get("id") == request_id
        )

    async def close(self) -> None:
        await self.conn.close()
