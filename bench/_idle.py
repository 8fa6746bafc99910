"""Scenario S3: many idle authenticated sockets, and what they cost the server."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bench._cast import bounded
from bench._wsclient import LeanSocket, open_socket
from bench.loadgen import CONNECT_CONCURRENCY, say_hello


@dataclass(frozen=True, slots=True)
class IdleResult:
    connections: int
    accounts: int
    sessions: int
    open_seconds: float
    rss_before_mib: float
    rss_mib: float

    @property
    def kib_per_connection(self) -> float:
        return (self.rss_mib - self.rss_before_mib) * 1024 / max(1, self.connections)


def _source_host(index: int, total: int) -> str | None:
    """A loopback source address: past ~20,000 sockets one address runs out of ports."""
    per_address = 20_000
    if total <= per_address:
        return None
    return f"127.0.0.{1 + index // per_address}"


async def open_idle(url: str, tokens: Sequence[str], count: int) -> list[LeanSocket]:
    """`count` authenticated sockets, spread over the tokens (several sockets a session)."""

    async def one(index: int) -> LeanSocket:
        sock = await open_socket(url, _source_host(index, count))
        await say_hello(sock, {"type": "hello", "token": tokens[index % len(tokens)]})
        return sock

    sockets: list[LeanSocket] = []
    try:
        for chunk in range(0, count, 1000):
            batch = range(chunk, min(count, chunk + 1000))
            sockets.extend(await bounded([one(i) for i in batch], CONNECT_CONCURRENCY))
    except BaseException:
        abort_all(sockets)
        raise
    return sockets


def abort_all(sockets: Sequence[LeanSocket]) -> None:
    """Drop sockets without a closing handshake: 10,000 polite closes take too long."""
    for sock in sockets:
        sock.abort()


async def run_idle(
    url: str,
    tokens: Sequence[str],
    accounts: int,
    count: int,
    *,
    settle: float,
    server_rss: Callable[[], int],
) -> IdleResult:
    """Open `count` sockets, leave them idle for `settle` seconds, read the server's RSS."""
    rss_before = server_rss()
    started = time.perf_counter()
    sockets = await open_idle(url, tokens, count)
    opened = time.perf_counter() - started
    try:
        await asyncio.sleep(settle)
        rss = server_rss()
        # Only sockets still open count: the server may have closed some meanwhile.
        still_open = sum(1 for sock in sockets if sock.is_open)
    finally:
        abort_all(sockets)
    return IdleResult(
        connections=still_open,
        accounts=accounts,
        sessions=len(tokens),
        open_seconds=opened,
        rss_before_mib=rss_before / 2**20,
        rss_mib=rss / 2**20,
    )
