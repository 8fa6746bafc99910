"""The load generator: WebSocket clients that send, receive and time messages.

Every client lives in this one process, so the send time written into a message body
(`time.perf_counter_ns()`) can be compared with the receive time at every recipient.
Senders run a closed loop: one message in flight each, the next sent when the ack
arrives. Throughput counts what arrives inside the measuring window that opens after
the warm-up; latency is taken for every message sent inside it.

The same code drives obrolan and the baseline (bench/baseline.py); only how the users
and rooms come to exist differs (bench/_cast.py). Scenario S3 is in bench/_idle.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import math
import secrets
import sys
import time
from array import array
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson

from bench import _proc
from bench._cast import Cast, bounded
from bench._wsclient import LeanSocket, SocketClosed, open_socket

ACK_TIMEOUT_S = 10.0
# After the last ack, how long deliveries still owed may take to arrive.
DRAIN_S = 10.0
READY_TIMEOUT_S = 15.0
# Enough to keep connecting fast, few enough not to starve the server.
CONNECT_CONCURRENCY = 64


# -- measuring --------------------------------------------------------------------------
@dataclass(slots=True)
class Recorder:
    """Counts acks and deliveries in the measuring window, and times its messages.

    Throughput counts what *arrives* in the window. Latency is taken for every message
    *sent* in the window, at each recipient, even when it arrives after the window
    closes: a server that acknowledges faster than it delivers builds a backlog, and
    sampling by arrival time would leave the slowest deliveries out.
    """

    start_ns: int = 0
    end_ns: int = 0
    acks: int = 0
    deliveries: int = 0
    # Deliveries owed for messages sent in the window and acknowledged, and those made.
    owed: int = 0
    made: int = 0
    errors: int = 0
    first_error: str = ""
    # Sockets the server closed before the bench did: their recipients stop counting.
    dropped_sockets: int = 0
    closing: bool = False
    latencies_ns: array[int] = field(default_factory=lambda: array("q"))
    progress: asyncio.Event = field(default_factory=asyncio.Event)

    def open_window(self, seconds: float) -> None:
        self.start_ns = time.perf_counter_ns()
        self.end_ns = self.start_ns + int(seconds * 1e9)

    def inside(self, now_ns: int) -> bool:
        return self.start_ns <= now_ns < self.end_ns

    def delivered(self, now_ns: int, sent_ns: int) -> None:
        if self.inside(now_ns):
            self.deliveries += 1
        if self.inside(sent_ns):
            self.made += 1
            self.latencies_ns.append(now_ns - sent_ns)
            self.progress.set()

    def acknowledged(self, now_ns: int, sent_ns: int, recipients: int) -> None:
        if self.inside(now_ns):
            self.acks += 1
        if self.inside(sent_ns):
            self.owed += recipients

    async def drain(self) -> None:
        """Wait until every delivery owed for the window's messages has arrived."""
        while self.made < self.owed:
            self.progress.clear()
            await self.progress.wait()

    def error(self, what: str) -> None:
        self.errors += 1
        if not self.first_error:
            self.first_error = what
            print(f"bench: first error: {what}", file=sys.stderr)


def percentile_ms(sorted_ns: Sequence[int], fraction: float) -> float:
    """Nearest-rank percentile of sorted nanoseconds, in milliseconds."""
    if not sorted_ns:
        return math.nan
    rank = max(1, math.ceil(fraction * len(sorted_ns)))
    return sorted_ns[rank - 1] / 1e6


# -- clients ----------------------------------------------------------------------------
async def say_hello(sock: LeanSocket, hello: dict[str, Any]) -> dict[str, Any]:
    """Send `hello` and wait for `ready` (skipping presence and the like)."""
    ready: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()

    def on_text(data: bytes) -> None:
        frame = orjson.loads(data)
        if ready.done():
            return
        if frame.get("type") == "ready":
            ready.set_result(frame)
        elif frame.get("type") == "error":
            ready.set_exception(RuntimeError(f"hello refused: {frame}"))

    sock.on_text = on_text
    sock.send_text(orjson.dumps(hello))
    done, _ = await asyncio.wait(
        [ready, sock.closed], timeout=READY_TIMEOUT_S, return_when="FIRST_COMPLETED"
    )
    if ready not in done:
        ready.cancel()
        raise RuntimeError("no ready frame: the server closed the socket or did not answer")
    return ready.result()


class BenchClient:
    """One authenticated socket: routes acks to senders and times deliveries."""

    def __init__(self, sock: LeanSocket, user_id: str, recorder: Recorder) -> None:
        self.sock = sock
        self.user_id = user_id
        self.recorder = recorder
        # Request id → the future the ack resolves, with its arrival time (0: refused).
        self.pending: dict[str, asyncio.Future[int]] = {}
        self._ids = itertools.count(1)
        # client_msg_id must be new for every message of the run: obrolan answers a
        # repeated one (a later scenario reusing a user) as a retry, without delivering.
        self._msg_prefix = secrets.token_hex(6)
        sock.on_text = self._on_text
        sock.closed.add_done_callback(self._on_closed)

    def _on_text(self, data: bytes) -> None:
        now_ns = time.perf_counter_ns()
        frame = orjson.loads(data)
        kind = frame.get("type")
        if kind == "event":
            message = frame.get("data") or {}
            # The sender's own connections get the event too; only others count.
            if frame.get("kind") == "message.created" and message.get("sender_id") != self.user_id:
                self.recorder.delivered(now_ns, int(message["body"]))
        elif kind in ("ack", "error"):
            future = self.pending.pop(str(frame.get("id")), None)
            if kind == "error" or frame.get("duplicate"):
                self.recorder.error(orjson.dumps(frame).decode()[:300])
                kind = "error"
            if future is not None and not future.done():
                future.set_result(now_ns if kind == "ack" else 0)

    def _on_closed(self, _: asyncio.Future[None]) -> None:
        if not self.recorder.closing:
            self.recorder.dropped_sockets += 1
            self.recorder.error(f"server closed a socket (code {self.sock.protocol.close_code})")
        for future in self.pending.values():
            if not future.done():
                future.set_result(0)
        self.pending.clear()

    async def send_loop(self, room_id: str, recipients: int, stop: asyncio.Event) -> None:
        """Closed loop: send, wait for the ack, send the next, until `stop`.

        No timeout per send (it would cost the generator as much as the send itself):
        the caller cancels senders still waiting a while after `stop`.
        """
        loop = asyncio.get_running_loop()
        while not stop.is_set():
            request_id = f"{next(self._ids)}"
            future: asyncio.Future[int] = loop.create_future()
            self.pending[request_id] = future
            sent_ns = time.perf_counter_ns()
            frame = {
                "type": "send",
                "id": request_id,
                "room_id": room_id,
                "client_msg_id": f"{self._msg_prefix}-{request_id}",
                "body": str(sent_ns),
            }
            try:
                self.sock.send_text(orjson.dumps(frame))
            except SocketClosed:
                self.recorder.error("socket closed by the server")
                return
            acked_ns = await future
            if acked_ns:
                self.recorder.acknowledged(acked_ns, sent_ns, recipients)
            if not self.sock.is_open:
                self.recorder.error("socket closed by the server")
                return


async def connect_clients(url: str, cast: Cast, recorder: Recorder) -> list[BenchClient]:
    async def one(index: int) -> BenchClient:
        sock = await open_socket(url)
        ready = await say_hello(sock, cast.hello(index))
        return BenchClient(sock, str(ready["user_id"]), recorder)

    clients: list[BenchClient] = await bounded(
        [one(i) for i in range(len(cast.users))], CONNECT_CONCURRENCY
    )
    return clients


async def stop_senders(senders: Sequence[asyncio.Task[None]], recorder: Recorder) -> None:
    """Let each sender see its last ack, for at most ACK_TIMEOUT_S; the rest are errors."""
    if not senders:
        return
    _, stuck = await asyncio.wait(senders, timeout=ACK_TIMEOUT_S)
    for task in stuck:
        task.cancel()
        recorder.error(f"no ack within {ACK_TIMEOUT_S:g} s")
    await asyncio.gather(*stuck, return_exceptions=True)


# -- scenarios S1 and S2 ----------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    title: str
    # (index of the sending user, room it sends to); every user is connected.
    senders: list[tuple[int, str]]
    # Connections that receive each message, the sender's own not counted.
    recipients: int


def dm_pairs(cast: Cast) -> Scenario:
    senders = [(i, cast.dm_rooms[i // 2]) for i in range(2 * len(cast.dm_rooms))]
    return Scenario("S1", f"DM pairs ({len(senders)} users, all sending)", senders, 1)


def big_room(cast: Cast, n_senders: int) -> Scenario:
    senders = [(i, cast.big_room) for i in range(n_senders)]
    title = f"big room ({len(cast.users)} members, {n_senders} sending)"
    return Scenario("S2", title, senders, len(cast.users) - 1)


@dataclass(frozen=True, slots=True)
class ScenarioResult:
    name: str
    title: str
    recipients: int
    seconds: float
    messages: int
    deliveries: int
    msgs_per_s: float
    deliveries_per_s: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    errors: int
    dropped_sockets: int
    # Deliveries of window messages still missing DRAIN_S after the last ack.
    undelivered: int
    # CPU use in the window as a share of one core, to see which side is saturated,
    # and what everything else on the machine took (other work skews the figures).
    server_cpu_pct: float
    client_cpu_pct: float
    other_cpu_pct: float
    # What the server's own metrics say happened in the window (obrolan only).
    server_metrics: dict[str, float] = field(default_factory=dict)


async def run_scenario(
    url: str,
    cast: Cast,
    scenario: Scenario,
    *,
    seconds: float,
    warmup: float,
    server_cpu: Callable[[], float],
    server_counters: Callable[[], Awaitable[dict[str, float]]] | None = None,
) -> ScenarioResult:
    recorder = Recorder()
    clients = await connect_clients(url, cast, recorder)
    stop = asyncio.Event()
    senders = [
        asyncio.create_task(clients[index].send_loop(room_id, scenario.recipients, stop))
        for index, room_id in scenario.senders
    ]
    try:
        await asyncio.sleep(warmup)
        counters0 = await server_counters() if server_counters else {}
        cpu0 = _cpu_sample(server_cpu)
        recorder.open_window(seconds)
        await asyncio.sleep(seconds)
        cpu1 = _cpu_sample(server_cpu)
        counters1 = await server_counters() if server_counters else {}
    finally:
        stop.set()
        await stop_senders(senders, recorder)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(DRAIN_S):
                await recorder.drain()
        recorder.closing = True
        await bounded([c.sock.close() for c in clients], CONNECT_CONCURRENCY)
    latencies = sorted(recorder.latencies_ns)
    return ScenarioResult(
        name=scenario.name,
        title=scenario.title,
        recipients=scenario.recipients,
        seconds=seconds,
        messages=recorder.acks,
        deliveries=recorder.deliveries,
        msgs_per_s=recorder.acks / seconds,
        deliveries_per_s=recorder.deliveries / seconds,
        p50_ms=percentile_ms(latencies, 0.50),
        p95_ms=percentile_ms(latencies, 0.95),
        p99_ms=percentile_ms(latencies, 0.99),
        max_ms=latencies[-1] / 1e6 if latencies else math.nan,
        errors=recorder.errors,
        dropped_sockets=recorder.dropped_sockets,
        undelivered=max(0, recorder.owed - recorder.made),
        **_cpu_use(cpu0, cpu1, seconds),
        server_metrics=_write_path(counters0, counters1, seconds),
    )


def _cpu_sample(server_cpu: Callable[[], float]) -> tuple[float, float, float]:
    return server_cpu(), time.process_time(), _proc.machine_busy_seconds()


def _cpu_use(
    before: tuple[float, float, float], after: tuple[float, float, float], seconds: float
) -> dict[str, float]:
    server, client, machine = (100 * (b - a) / seconds for a, b in zip(before, after, strict=True))
    return {
        "server_cpu_pct": server,
        "client_cpu_pct": client,
        "other_cpu_pct": max(0.0, machine - server - client),
    }


# obrolan's Prometheus series that tell how sends were committed (src/obrolan/ops/metrics.py).
_COUNTERS = (
    "obrolan_message_write_batch_size_sum",
    "obrolan_message_write_batch_size_count",
    "obrolan_send_to_commit_seconds_sum",
    "obrolan_send_to_commit_seconds_count",
)


async def obrolan_counters(base_url: str) -> dict[str, float]:
    """The write-path counters from obrolan's /metrics (Prometheus text format)."""
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as http:
        text = (await http.get("/metrics")).text
    found = {}
    for line in text.splitlines():
        name, _, value = line.partition(" ")
        if name in _COUNTERS:
            found[name] = float(value)
    return found


def _write_path(
    before: dict[str, float], after: dict[str, float], seconds: float
) -> dict[str, float]:
    """Commits per second, messages per commit and mean send-to-commit time in the window."""
    delta = {name: after[name] - before.get(name, 0.0) for name in _COUNTERS if name in after}
    commits = delta.get("obrolan_message_write_batch_size_count", 0.0)
    committed = delta.get("obrolan_send_to_commit_seconds_count", 0.0)
    if not commits or not committed:
        return {}
    return {
        "commits_per_s": commits / seconds,
        "messages_per_commit": delta["obrolan_message_write_batch_size_sum"] / commits,
        "send_to_commit_ms": 1000 * delta["obrolan_send_to_commit_seconds_sum"] / committed,
    }
