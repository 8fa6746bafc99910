"""Scenario S3: many idle authenticated sockets, what they cost the server, how fast they open.

The same number of sockets is opened to obrolan and to the baseline, with the same
number of connects in flight, so that the two connect rates compare (as after a restart,
when everyone reconnects at once).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from bench._cast import bounded
from bench._wsclient import LeanSocket, open_socket
from bench.loadgen import say_hello

# Connects in flight at once: enough to keep a server busy, as a reconnecting crowd
# does, without one client's burst of SYNs overflowing the listen backlog.
IDLE_CONNECT_CONCURRENCY = 200


@dataclass(frozen=True, slots=True)
class IdleResult:
    connections: int
    accounts: int
    sessions: int
    # From the first connect to the last `ready`, `opened` sockets, `concurrency` at once.
    opened: int
    concurrency: int
    open_seconds: float
    rss_before_mib: float
    rss_mib: float

    @property
    def connects_per_s(self) -> float:
        return self.opened / self.open_seconds if self.open_seconds > 0 else 0.0

    @property
    def kib_per_connection(self) -> float:
        return (self.rss_mib - self.rss_before_mib) * 1024 / max(1, self.connections)


def _source_host(index: int, total: int) -> str | None:
    """A loopback source address: past ~20,000 sockets one address runs out of ports."""
    per_address = 20_000
    if total <= per_address:
        return None
    return f"127.0.0.{1 + index // per_address}"


def obrolan_hello(tokens: Sequence[str]) -> Callable[[int], dict[str, Any]]:
    """Socket i says hello with token i mod n: several sockets a session."""
    return lambda index: {"type": "hello", "token": tokens[index % len(tokens)]}


def baseline_hello(accounts: int) -> Callable[[int], dict[str, Any]]:
    """The baseline's hello for the same crowd: the token is the user id, and each pair
    of users shares a direct room, as `prepare_idle_tokens` makes them on obrolan."""

    def hello(index: int) -> dict[str, Any]:
        user = index % accounts
        return {"type": "hello", "token": f"u{user}", "rooms": [f"dm{user // 2}"]}

    return hello


async def open_idle(
    url: str, hello: Callable[[int], dict[str, Any]], count: int, concurrency: int
) -> list[LeanSocket]:
    """`count` sockets, each through its `ready`, at most `concurrency` connecting at once."""
    sockets: list[LeanSocket] = []

    async def one(index: int) -> LeanSocket:
        sock = await open_socket(url, _source_host(index, count))
        sockets.append(sock)
        await say_hello(sock, hello(index))
        return sock

    try:
        await bounded([one(i) for i in range(count)], concurrency)
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
    hello: Callable[[int], dict[str, Any]],
    count: int,
    *,
    accounts: int,
    sessions: int,
    settle: float,
    server_rss: Callable[[], int],
    concurrency: int = IDLE_CONNECT_CONCURRENCY,
) -> IdleResult:
    """Open `count` sockets, leave them idle for `settle` seconds, read the server's RSS."""
    rss_before = server_rss()
    started = time.perf_counter()
    sockets = await open_idle(url, hello, count, concurrency)
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
        sessions=sessions,
        opened=len(sockets),
        concurrency=concurrency,
        open_seconds=opened,
        rss_before_mib=rss_before / 2**20,
        rss_mib=rss / 2**20,
    )
