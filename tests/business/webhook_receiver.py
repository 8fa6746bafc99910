"""A business's webhook endpoint for tests: a real HTTP server on 127.0.0.1 that answers
the hub.challenge check, checks each POST's signature itself, and can be told to fail,
hang or be down (connection refused)."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

import orjson

from tests.support.outbound import read_request


@dataclass
class Received:
    path: str
    body: bytes
    signature: str
    signature_ok: bool
    answered: int  # the status this endpoint answered

    @property
    def json(self) -> dict:  # type: ignore[type-arg]
        return orjson.loads(self.body)  # type: ignore[no-any-return]


@dataclass
class Receiver:
    app_secret: str = "rahasia-aplikasi"
    verify_token: str = "token-verifikasi"
    # The status POSTs get, unless `fails` says otherwise for one.
    status: int = 200
    fails: Callable[[Received], bool] = lambda _: False
    # The hub.challenge GET: echo it, or answer something else.
    echo_challenge: bool = True
    # When set, POSTs wait for `released` before answering.
    hang: bool = False
    released: asyncio.Event = field(default_factory=asyncio.Event)
    received: list[Received] = field(default_factory=list)
    # Requests being answered now, by ordering mark (see `mark`); a second for the same
    # mark while one is open breaks the order promise.
    open_by_mark: dict[str, int] = field(default_factory=dict)
    overlaps: list[str] = field(default_factory=list)
    mark: Callable[[bytes], str] = lambda _: ""
    port: int = 0
    _server: asyncio.Server | None = None
    _writers: set[asyncio.StreamWriter] = field(default_factory=set)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/wh"

    async def start(self) -> None:
        self._server = await asyncio.start_server(
            self._handle, "127.0.0.1", self.port, reuse_address=True
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Down: connections are refused until `start` again (same port)."""
        if self._server is not None:
            self._server.close()
            for writer in list(self._writers):
                writer.close()
            await self._server.wait_closed()
            self._server = None

    def accepted(self) -> list[Received]:
        return [r for r in self.received if r.answered == 200]

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            request = await read_request(reader)
            status, answer = await self._answer(
                request.method, request.target, request.headers, request.body
            )
            writer.write(
                f"HTTP/1.1 {status} X\r\nContent-Length: {len(answer)}\r\n"
                "Content-Type: text/plain\r\nConnection: close\r\n\r\n".encode()
                + answer
            )
            await writer.drain()
        self._writers.discard(writer)
        writer.close()

    async def _answer(
        self, method: str, target: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, bytes]:
        parts = urlsplit(target)
        if method == "GET":
            query = {k: v[0] for k, v in parse_qs(parts.query).items()}
            if query.get("hub.mode") != "subscribe" or (
                query.get("hub.verify_token") != self.verify_token
            ):
                return 403, b"Forbidden"
            if not self.echo_challenge:
                return 200, b"OK"
            return 200, query.get("hub.challenge", "").encode()
        signature = headers.get("x-hub-signature-256", "")
        expected = "sha256=" + hmac.new(self.app_secret.encode(), body, hashlib.sha256).hexdigest()
        got = Received(parts.path, body, signature, hmac.compare_digest(signature, expected), 0)
        mark = self.mark(body)
        if self.open_by_mark.get(mark):
            self.overlaps.append(mark)
        self.open_by_mark[mark] = self.open_by_mark.get(mark, 0) + 1
        try:
            if headers.get("content-type") != "application/json":
                got.answered = 415
            elif self.hang:
                self.received.append(got)
                await self.released.wait()
                got.answered = 200
                return 200, b""
            else:
                got.answered = 500 if self.fails(got) else self.status
            self.received.append(got)
            return got.answered, b""
        finally:
            self.open_by_mark[mark] -= 1
