"""A stand-in for an upstream WhatsApp Cloud API (graph.facebook.com), for the relay tests.

It is not Meta's service: it follows the contract in COMPAT.md §1 for one route,
`POST /v{N}/{phone_number_id}/messages` with a Bearer token, records each call, and
answers the documented success body (or error body, for a wrong token) — nothing more.
"""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass
from typing import Any

import orjson

from tests.support.outbound import Inbox, read_request


@dataclass(frozen=True)
class UpstreamCall:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


class CloudApiStandIn:
    def __init__(self, token: str) -> None:
        self.token = token
        self.port = 0
        self.calls: Inbox[UpstreamCall] = Inbox()
        self._ids = itertools.count(1)
        self._server: asyncio.Server | None = None

    def base_url(self, upstream_number_id: str) -> str:
        return f"http://127.0.0.1:{self.port}/v21.0/{upstream_number_id}"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request = await read_request(reader)
        headers, body = request.headers, orjson.loads(request.body)
        self.calls.put(UpstreamCall(request.target, headers, body))
        if headers.get("authorization") != f"Bearer {self.token}":
            status, answer = (
                "401 Unauthorized",
                {
                    "error": {
                        "message": "Invalid OAuth access token - Cannot parse access token",
                        "type": "OAuthException",
                        "code": 190,
                        "fbtrace_id": "AstandIn",
                    }
                },
            )
        else:
            status, answer = (
                "200 OK",
                {
                    "messaging_product": "whatsapp",
                    "contacts": [{"input": body["to"], "wa_id": body["to"].lstrip("+")}],
                    "messages": [{"id": f"wamid.upstream{next(self._ids)}"}],
                },
            )
        payload = orjson.dumps(answer)
        writer.write(
            f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n".encode()
            + payload
        )
        await writer.drain()
        writer.close()
