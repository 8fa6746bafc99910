"""A lean WebSocket client: the websockets library's sans-I/O protocol on an asyncio transport.

Why not `websockets.asyncio.client`: on this 2-core machine the load generator shares
the CPU with the server under test, and the asyncio client spends its time on what a
generator does not need (a task woken per message, an async context manager and a
timeout per send). Here every received message is handed to a callback inside
`data_received`, and a send is one synchronous `transport.write`. The framing,
masking, handshake and ping/pong answers are still the library's (`ClientProtocol`),
the same code uvicorn's "websockets-sansio" server runs on the other side.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import cast

from websockets.client import ClientProtocol
from websockets.frames import Frame, Opcode
from websockets.http11 import Response
from websockets.protocol import State
from websockets.uri import parse_uri

OPEN_TIMEOUT_S = 30.0
CLOSE_TIMEOUT_S = 2.0

TextHandler = Callable[[bytes], None]


class SocketClosed(ConnectionError):
    """Sending on a socket that is closed or closing."""


def _ignore(_: bytes) -> None:
    pass


class LeanSocket(asyncio.Protocol):
    """One client WebSocket. Set `on_text` to receive each text message as UTF-8 bytes."""

    def __init__(self, uri: str) -> None:
        # No extensions offered: no permessage-deflate, whose CPU would come out of
        # the server's share of the machine.
        self.protocol = ClientProtocol(parse_uri(uri), max_size=2**20)
        self.transport: asyncio.Transport | None = None
        self.on_text: TextHandler = _ignore
        loop = asyncio.get_running_loop()
        self.opened: asyncio.Future[None] = loop.create_future()
        self.closed: asyncio.Future[None] = loop.create_future()
        self._fragments: list[bytes] = []

    # -- asyncio.Protocol ----------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports do not subclass asyncio.Transport, but provide its methods.
        self.transport = cast(asyncio.Transport, transport)
        self.protocol.send_request(self.protocol.connect())
        self._flush()

    def data_received(self, data: bytes) -> None:
        self.protocol.receive_data(data)
        for event in self.protocol.events_received():
            if isinstance(event, Frame):
                self._on_frame(event)
            elif isinstance(event, Response):
                self._on_handshake()
        self._flush()

    def eof_received(self) -> bool:
        self.protocol.receive_eof()
        self._flush()
        return False  # let the transport close itself

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.opened.done():
            self.opened.set_exception(exc or SocketClosed("closed during the handshake"))
        if not self.closed.done():
            self.closed.set_result(None)

    # -- the library's protocol ----------------------------------------------------------
    def _on_handshake(self) -> None:
        if self.opened.done():
            return
        if self.protocol.handshake_exc is not None:
            self.opened.set_exception(self.protocol.handshake_exc)
        else:
            self.opened.set_result(None)

    def _on_frame(self, frame: Frame) -> None:
        # Ping, pong and close frames are answered by the protocol itself.
        if frame.opcode not in (Opcode.TEXT, Opcode.CONT):
            return
        if not frame.fin:
            self._fragments.append(frame.data)
            return
        if self._fragments:
            data = b"".join([*self._fragments, frame.data])
            self._fragments.clear()
        else:
            data = frame.data
        self.on_text(data)

    def _flush(self) -> None:
        assert self.transport is not None
        for chunk in self.protocol.data_to_send():
            if chunk:
                self.transport.write(chunk)
            elif self.transport.can_write_eof():
                self.transport.write_eof()  # the protocol's signal to half-close
        if self.protocol.state is State.CLOSED and not self.transport.is_closing():
            self.transport.close()

    # -- what the generator calls --------------------------------------------------------
    @property
    def is_open(self) -> bool:
        return self.protocol.state is State.OPEN

    def send_text(self, text: bytes) -> None:
        if self.protocol.state is not State.OPEN:
            raise SocketClosed("the socket is not open")
        self.protocol.send_text(text)
        self._flush()

    async def close(self) -> None:
        """The closing handshake, cut short after CLOSE_TIMEOUT_S."""
        if self.protocol.state is State.OPEN:
            self.protocol.send_close(1000)
            self._flush()
        try:
            async with asyncio.timeout(CLOSE_TIMEOUT_S):
                await self.closed
        except TimeoutError:
            self.abort()

    def abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()


async def open_socket(url: str, local_host: str | None = None) -> LeanSocket:
    """Connect and finish the opening handshake."""
    uri = parse_uri(url)
    loop = asyncio.get_running_loop()
    _, socket = await loop.create_connection(
        lambda: LeanSocket(url),
        uri.host,
        uri.port,
        local_addr=(local_host, 0) if local_host else None,
    )
    try:
        async with asyncio.timeout(OPEN_TIMEOUT_S):
            await socket.opened
    except BaseException:
        socket.abort()
        raise
    return socket
