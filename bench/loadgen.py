"""The load generator: WebSocket clients that send on a schedule, receive and time messages.

Every client lives in this one process, on one event loop. The senders run an **open
loop**: at an offered rate R, message j is scheduled at `first + j / R` and goes from
sender `j mod n`, so each sender sends every n / R seconds, sender i offset by i / R,
without ever waiting for an ack. The scheduled time (`time.perf_counter_ns()`) is the
message body, and latency runs from it to the ack and to each delivery at each
recipient: when the server (or the generator) falls behind, the queueing shows up as
latency instead of as a lower send rate. How late the generator itself sent is kept
apart (`lag`), so a slow generator is not blamed on the server.

A step runs a warm-up, then a measuring window; only messages scheduled inside the
window count, and the step waits up to `drain` seconds after the window for their acks
and deliveries. The same connections serve every step of a scenario, unless a step left
something owed or a socket dropped: the next step then starts on new connections.

The same code drives obrolan and the baseline (bench/baseline.py); only how the users
and rooms come to exist differs (bench/_cast.py). Scenario S3 is in bench/_idle.py, the
choice of rates and the pass rule in bench/_sweep.py.
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
from bench._sweep import StepResult, SweepSettings, failure, sweep
from bench._wsclient import LeanSocket, SocketClosed, open_socket

READY_TIMEOUT_S = 15.0
# Enough to keep connecting fast, few enough not to starve the server.
CONNECT_CONCURRENCY = 64
# Sends made in one go when the schedule is behind, before the loop reads again.
MAX_BURST = 256
# Time to set each step's sender going before its first message is due.
LEAD_NS = 20_000_000
# The shortest wait between sends: uvloop's timers count whole milliseconds, and a
# shorter sleep returns at once, so the schedule would spin the generator's CPU.
MIN_SLEEP_S = 0.001


# -- measuring --------------------------------------------------------------------------
@dataclass(slots=True)
class Recorder:
    """What a set of connections still owes, and what the current step measured.

    `acks_owed` and `deliveries_owed` run across steps: when both are back to zero the
    server has answered everything sent so far. The rest is reset by `begin_step` and
    covers only messages scheduled inside the step's window.
    """

    recipients: int
    acks_owed: int = 0
    deliveries_owed: int = 0
    # Sockets the server closed before the bench did: their recipients stop counting.
    dropped_sockets: int = 0
    closing: bool = False
    start_ns: int = 0
    end_ns: int = 0
    sent: int = 0
    acked: int = 0
    delivered: int = 0
    errors: int = 0
    first_error: str = ""
    ack_ns: array[int] = field(default_factory=lambda: array("q"))
    delivery_ns: array[int] = field(default_factory=lambda: array("q"))
    lag_ns: array[int] = field(default_factory=lambda: array("q"))
    progress: asyncio.Event = field(default_factory=asyncio.Event)

    def begin_step(self, start_ns: int, end_ns: int) -> None:
        self.start_ns, self.end_ns = start_ns, end_ns
        self.sent = self.acked = self.delivered = self.errors = 0
        self.first_error = ""
        self.ack_ns, self.delivery_ns, self.lag_ns = array("q"), array("q"), array("q")

    def inside(self, scheduled_ns: int) -> bool:
        return self.start_ns <= scheduled_ns < self.end_ns

    @property
    def quiet(self) -> bool:
        return self.acks_owed <= 0 and self.deliveries_owed <= 0

    def sending(self, scheduled_ns: int, now_ns: int) -> None:
        self.acks_owed += 1
        self.deliveries_owed += self.recipients
        if self.inside(scheduled_ns):
            self.sent += 1
            self.lag_ns.append(now_ns - scheduled_ns)

    def acknowledged(self, now_ns: int, scheduled_ns: int) -> None:
        self.acks_owed -= 1
        if self.inside(scheduled_ns):
            self.acked += 1
            self.ack_ns.append(now_ns - scheduled_ns)
        self.progress.set()

    def delivered_one(self, now_ns: int, scheduled_ns: int) -> None:
        self.deliveries_owed -= 1
        if self.inside(scheduled_ns):
            self.delivered += 1
            self.delivery_ns.append(now_ns - scheduled_ns)
        self.progress.set()

    def refused(self, what: str) -> None:
        """A send answered with an error (or never to be answered): nothing is owed for it."""
        self.acks_owed -= 1
        self.deliveries_owed -= self.recipients
        self.error(what)
        self.progress.set()

    async def wait_quiet(self) -> None:
        while not self.quiet:
            self.progress.clear()
            await self.progress.wait()

    def error(self, what: str) -> None:
        self.errors += 1
        if not self.first_error:
            self.first_error = what
            print(f"bench: first error of the step: {what}", file=sys.stderr)


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
    """One authenticated socket: sends when told, routes acks and times deliveries."""

    def __init__(self, sock: LeanSocket, user_id: str, recorder: Recorder) -> None:
        self.sock = sock
        self.user_id = user_id
        self.recorder = recorder
        # Request id → the scheduled send time of the message it carried.
        self.pending: dict[str, int] = {}
        self._ids = itertools.count(1)
        # client_msg_id must be new for every message of the run: obrolan answers a
        # repeated one (a later scenario reusing a user) as a retry, without delivering.
        self._msg_prefix = secrets.token_hex(6)
        sock.on_text = self._on_text
        sock.closed.add_done_callback(self._on_closed)

    def send(self, room_id: str, scheduled_ns: int) -> None:
        """Send one message due at `scheduled_ns`; never waits for its ack."""
        request_id = f"{next(self._ids)}"
        frame = {
            "type": "send",
            "id": request_id,
            "room_id": room_id,
            "client_msg_id": f"{self._msg_prefix}-{request_id}",
            "body": str(scheduled_ns),
        }
        self.recorder.sending(scheduled_ns, time.perf_counter_ns())
        try:
            self.sock.send_text(orjson.dumps(frame))
        except SocketClosed:
            self.recorder.refused("socket closed by the server")
            return
        self.pending[request_id] = scheduled_ns

    def _on_text(self, data: bytes) -> None:
        now_ns = time.perf_counter_ns()
        frame = orjson.loads(data)
        kind = frame.get("type")
        if kind == "event":
            message = frame.get("data") or {}
            # The sender's own connections get the event too; only others count.
            if frame.get("kind") == "message.created" and message.get("sender_id") != self.user_id:
                self.recorder.delivered_one(now_ns, int(message["body"]))
        elif kind in ("ack", "error"):
            scheduled_ns = self.pending.pop(str(frame.get("id")), None)
            if scheduled_ns is None:
                return
            if kind == "error" or frame.get("duplicate"):
                self.recorder.refused(orjson.dumps(frame).decode()[:300])
            else:
                self.recorder.acknowledged(now_ns, scheduled_ns)

    def _on_closed(self, _: asyncio.Future[None]) -> None:
        if self.recorder.closing:
            return
        self.recorder.dropped_sockets += 1
        self.recorder.error(f"server closed a socket (code {self.sock.protocol.close_code})")
        for _scheduled in self.pending.values():
            self.recorder.refused("no ack: the socket closed")
        self.pending.clear()


async def send_on_schedule(
    senders: Sequence[tuple[BenchClient, str]], rate: float, first_ns: int, stop_ns: int
) -> None:
    """Message j at `first_ns + j / rate`, from sender j mod n, until `stop_ns`.

    One task for every sender, waking at most once a millisecond: a timer per sender
    would cost the generator more than the sends. It sends what is due at once,
    MAX_BURST at a time; the lag this adds (under a millisecond or two) is measured.
    """
    interval_ns = 1e9 / rate
    count = len(senders)
    j = 0
    due_ns = first_ns
    while due_ns < stop_ns:
        now_ns = time.perf_counter_ns()
        if due_ns > now_ns:
            await asyncio.sleep(max(MIN_SLEEP_S, (due_ns - now_ns) / 1e9))
            continue
        for _ in range(MAX_BURST):
            client, room_id = senders[j % count]
            client.send(room_id, due_ns)
            j += 1
            due_ns = first_ns + round(j * interval_ns)
            if due_ns > now_ns or due_ns >= stop_ns:
                break
        else:
            await asyncio.sleep(0)


async def sleep_until(deadline_ns: int) -> None:
    await asyncio.sleep(max(0.0, (deadline_ns - time.perf_counter_ns()) / 1e9))


# -- scenarios S1 and S2 ----------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    title: str
    # Users connected (the first `connected` of the cast).
    connected: int
    # (index of the sending user, room it sends to).
    senders: list[tuple[int, str]]
    # Connections that receive each message, the sender's own not counted.
    recipients: int


def dm_pairs(cast: Cast) -> Scenario:
    senders = [(i, cast.dm_rooms[i // 2]) for i in range(2 * len(cast.dm_rooms))]
    title = f"DM pairs ({len(senders)} users, all sending)"
    return Scenario("S1", title, len(senders), senders, 1)


def big_room(cast: Cast, n_senders: int) -> Scenario:
    size = cast.big_room_size
    senders = [(i, cast.big_room) for i in range(min(n_senders, size))]
    title = f"big room ({size} members, {len(senders)} sending)"
    return Scenario("S2", title, size, senders, size - 1)


@dataclass(frozen=True, slots=True)
class SweepResult:
    name: str
    title: str
    recipients: int
    senders: int
    steps: list[StepResult]


@dataclass(slots=True)
class Session:
    """The connected clients of one scenario, and the recorder they report to."""

    recorder: Recorder
    clients: list[BenchClient]
    senders: list[tuple[BenchClient, str]]

    @property
    def healthy(self) -> bool:
        return self.recorder.quiet and not self.recorder.dropped_sockets

    async def close(self) -> None:
        self.recorder.closing = True
        await bounded([c.sock.close() for c in self.clients], CONNECT_CONCURRENCY)


async def open_session(url: str, cast: Cast, scenario: Scenario) -> Session:
    recorder = Recorder(scenario.recipients)

    async def one(index: int) -> BenchClient:
        sock = await open_socket(url)
        ready = await say_hello(sock, cast.hello(index))
        return BenchClient(sock, str(ready["user_id"]), recorder)

    clients: list[BenchClient] = await bounded(
        [one(i) for i in range(scenario.connected)], CONNECT_CONCURRENCY
    )
    senders = [(clients[index], room_id) for index, room_id in scenario.senders]
    return Session(recorder, clients, senders)


@dataclass(frozen=True, slots=True)
class StepTiming:
    seconds: float
    warmup: float
    # How long after the window the step waits for acks and deliveries still owed.
    drain: float


async def run_step(
    session: Session,
    rate: float,
    timing: StepTiming,
    server_cpu: Callable[[], float],
    server_counters: Callable[[], Awaitable[dict[str, float]]] | None = None,
) -> StepResult:
    recorder = session.recorder
    first_ns = time.perf_counter_ns() + LEAD_NS
    start_ns = first_ns + int(timing.warmup * 1e9)
    end_ns = start_ns + int(timing.seconds * 1e9)
    recorder.begin_step(start_ns, end_ns)
    sender = asyncio.create_task(send_on_schedule(session.senders, rate, first_ns, end_ns))
    try:
        await sleep_until(start_ns)
        counters0 = await server_counters() if server_counters else {}
        cpu0 = _cpu_sample(server_cpu)
        await sleep_until(end_ns)
        cpu1 = _cpu_sample(server_cpu)
        counters1 = await server_counters() if server_counters else {}
        await sender
    finally:
        sender.cancel()
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(timing.drain):
            await recorder.wait_quiet()
    acks, deliveries = sorted(recorder.ack_ns), sorted(recorder.delivery_ns)
    lags = sorted(recorder.lag_ns)
    elapsed = cpu1[0] - cpu0[0]
    return StepResult(
        offered_rate=rate,
        seconds=timing.seconds,
        messages=recorder.sent,
        acked=recorder.acked,
        deliveries=recorder.delivered,
        deliveries_expected=recorder.sent * recorder.recipients,
        msgs_per_s=recorder.acked / timing.seconds,
        deliveries_per_s=recorder.delivered / timing.seconds,
        ack_p50_ms=percentile_ms(acks, 0.50),
        ack_p95_ms=percentile_ms(acks, 0.95),
        ack_p99_ms=percentile_ms(acks, 0.99),
        delivery_p50_ms=percentile_ms(deliveries, 0.50),
        delivery_p95_ms=percentile_ms(deliveries, 0.95),
        delivery_p99_ms=percentile_ms(deliveries, 0.99),
        max_ms=max(acks[-1] if acks else 0, deliveries[-1] if deliveries else 0) / 1e6,
        lag_p99_ms=percentile_ms(lags, 0.99),
        lag_max_ms=lags[-1] / 1e6 if lags else math.nan,
        errors=recorder.errors,
        dropped_sockets=recorder.dropped_sockets,
        **_cpu_use(cpu0[1:], cpu1[1:], elapsed),
        server_metrics=_write_path(counters0, counters1, elapsed),
    )


async def run_sweep(
    url: str,
    cast: Cast,
    scenario: Scenario,
    settings: SweepSettings,
    timing: StepTiming,
    server_cpu: Callable[[], float],
    server_counters: Callable[[], Awaitable[dict[str, float]]] | None = None,
    label: str = "",
) -> SweepResult:
    """Sweep the offered rate (bench/_sweep.py) on one scenario's connections."""
    session = await open_session(url, cast, scenario)

    async def measure(rate: float) -> StepResult:
        nonlocal session
        if not session.healthy:
            # What the last step left owed would land in this one: start afresh.
            await session.close()
            session = await open_session(url, cast, scenario)
        step = await run_step(session, rate, timing, server_cpu, server_counters)
        why = failure(step)
        print(
            f"    {label} {scenario.name} {rate:>9.1f}/s: {'pass' if not why else 'FAIL'} "
            f"ack p99 {step.ack_p99_ms:.1f} ms, delivery p99 {step.delivery_p99_ms:.1f} ms, "
            f"lag p99 {step.lag_p99_ms:.1f} ms, server {step.server_cpu_pct:.0f}% "
            f"gen {step.client_cpu_pct:.0f}%{'; ' + why if why else ''}",
            file=sys.stderr,
        )
        return step

    try:
        steps = await sweep(measure, settings)
    finally:
        await session.close()
    return SweepResult(
        scenario.name, scenario.title, scenario.recipients, len(scenario.senders), steps
    )


def _cpu_sample(server_cpu: Callable[[], float]) -> tuple[float, float, float, float]:
    return time.perf_counter(), server_cpu(), time.process_time(), _proc.machine_busy_seconds()


def _cpu_use(
    before: tuple[float, ...], after: tuple[float, ...], seconds: float
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
