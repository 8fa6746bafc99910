"""Where mail and SMS go in tests: a real local SMTP server and an SMS gateway stand-in."""

from __future__ import annotations

import asyncio
import email
import email.policy
import re
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any, Generic, TypeVar

import orjson
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from tests.support.server import free_port

T = TypeVar("T")
CODE = re.compile(r"\b(\d{6})\b")


class Inbox(Generic[T]):
    """What arrived, in order; waiting for the n-th arrival wakes on the arrival itself."""

    def __init__(self) -> None:
        self.items: list[T] = []
        self._loop = asyncio.get_running_loop()
        self._arrived = asyncio.Event()

    def put(self, item: T) -> None:
        self.items.append(item)
        self._arrived.set()

    def put_threadsafe(self, item: T) -> None:
        self._loop.call_soon_threadsafe(self.put, item)

    async def nth(self, n: int, timeout: float = 10.0) -> T:
        """The n-th item (1-based), waiting up to `timeout` seconds for it."""
        async with asyncio.timeout(timeout):
            while len(self.items) < n:
                self._arrived.clear()
                await self._arrived.wait()
        return self.items[n - 1]


@dataclass(frozen=True)
class RawRequest:
    method: str
    target: str
    headers: dict[str, str]  # names in lower case
    body: bytes


async def read_request(reader: asyncio.StreamReader) -> RawRequest:
    """One HTTP/1.1 request from a stand-in server's connection (a Content-Length body)."""
    head = await reader.readuntil(b"\r\n\r\n")
    request_line, *lines = head.decode("latin-1").split("\r\n")
    method, target, _ = request_line.split(" ", 2)
    headers = {
        k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines if ln)
    }
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    return RawRequest(method, target, headers, body)


class _Collect:
    def __init__(self, inbox: Inbox[EmailMessage]) -> None:
        self.inbox = inbox

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        message = email.message_from_bytes(content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.inbox.put_threadsafe(message)
        return "250 OK"


class SmtpServer:
    """A real SMTP server (aiosmtpd) on a free port; it can be stopped and started again."""

    def __init__(self) -> None:
        self.port = free_port()
        self.inbox: Inbox[EmailMessage] = Inbox()
        self._controller: Controller | None = None

    def start(self) -> None:
        self._controller = Controller(_Collect(self.inbox), hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    async def code(self, n: int) -> str:
        """The one-time code in the n-th mail's text part."""
        return code_in(text_part(await self.inbox.nth(n)))


def text_part(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


def code_in(text: str) -> str:
    found = CODE.search(text)
    assert found, text
    return found.group(1)


@dataclass(frozen=True)
class WebhookCall:
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> dict[str, Any]:
        data: dict[str, Any] = orjson.loads(self.body)
        return data


class SmsGatewayStandIn:
    """A stand-in for an operator's SMS gateway: a tiny HTTP server that records each POST.

    It sends nothing anywhere; it answers 200 and keeps the headers and exact body, so a
    test can check the signature the way a real gateway would.
    """

    def __init__(self) -> None:
        self.port = 0
        self.calls: Inbox[WebhookCall] = Inbox()
        self._server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/sms"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request = await read_request(reader)
        self.calls.put(WebhookCall(request.headers, request.body))
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        await writer.drain()
        writer.close()

    async def code(self, n: int) -> str:
        """The one-time code in the n-th SMS's text."""
        return code_in((await self.calls.nth(n)).json["text"])
