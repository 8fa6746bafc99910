"""Request bodies have a bound that holds before the body is read (OBROLAN_MAX_REQUEST_BYTES)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import orjson
import pytest

from tests.support.server import RunningServer, start_server

LIMIT = 64 * 1024


@pytest.fixture
async def small_server(database_url: str, tmp_path: Path) -> AsyncIterator[RunningServer]:
    running = await start_server(database_url, tmp_path, max_request_bytes=LIMIT)
    try:
        yield running
    finally:
        await running.shutdown()


async def _raw_request(server: RunningServer, head: bytes) -> tuple[int, dict[str, object]]:
    """Send only a request head, no body, and read the answer."""
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    try:
        writer.write(head)
        await writer.drain()
        status_line = await asyncio.wait_for(reader.readline(), 5)
        headers: dict[str, str] = {}
        while (line := await asyncio.wait_for(reader.readline(), 5)) != b"\r\n":
            name, _, value = line.decode().partition(":")
            headers[name.strip().lower()] = value.strip()
        assert headers["content-type"] == "application/problem+json"
        body = await asyncio.wait_for(reader.readexactly(int(headers["content-length"])), 5)
    finally:
        writer.close()
    return int(status_line.split()[1]), orjson.loads(body)


async def test_declared_length_over_the_limit_is_refused_before_the_body_is_sent(
    small_server: RunningServer,
) -> None:
    head = (
        b"POST /api/v1/accounts HTTP/1.1\r\nHost: obrolan\r\n"
        b"Content-Type: application/json\r\nContent-Length: 104857600\r\n\r\n"
    )

    status, problem = await _raw_request(small_server, head)

    assert status == 413
    assert problem["type"] == "https://obrolan.dev/problems/too-large"
    assert problem["instance"] == "/api/v1/accounts"


async def test_chunked_body_over_the_limit_is_cut_off(small_server: RunningServer) -> None:
    async def chunks() -> AsyncIterator[bytes]:  # no length: sent chunked
        for _ in range(64):
            yield b" " * (16 * 1024)

    async with small_server.http() as http:
        refused = await http.post(
            "/api/v1/accounts", content=chunks(), headers={"content-type": "application/json"}
        )
        still_serving = await http.post("/api/v1/accounts", json={"username": "x"})

    assert refused.status_code == 413, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["type"] == "https://obrolan.dev/problems/too-large"
    assert still_serving.status_code == 422  # the connection and the server carry on


async def test_body_within_the_limit_is_read(small_server: RunningServer) -> None:
    padding = " " * (LIMIT - 200)
    body = f'{{"username": "sari.w", {padding} "password": "x"}}'.encode()

    async with small_server.http() as http:
        answer = await http.post(
            "/api/v1/accounts", content=body, headers={"content-type": "application/json"}
        )

    assert answer.status_code == 422  # read and checked: display_name is missing
    assert answer.json()["field"] == "display_name"
