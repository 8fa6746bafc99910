"""`make bench`: an open-loop rate sweep of S1 and S2 on obrolan and the baseline, then S3
(idle sockets on obrolan, and how fast they open on both).

For each server and scenario the offered rate steps up geometrically from
BENCH_START_RATE (times BENCH_RATE_FACTOR) until a step fails or BENCH_MAX_RATE passes, then
bisects BENCH_BISECTIONS times between the last passing and the first failing rate. A
step sends on a fixed schedule for BENCH_WARMUP seconds, then for a window of
BENCH_SECONDS; it passes when every message scheduled in the window is acknowledged and
delivered within BENCH_DRAIN seconds of its end, nothing is refused or dropped, and the
p99 of acks and of deliveries, from the scheduled send time, are under 100 ms
(bench/_sweep.py). The report is the highest passing rate of each.

Each server runs as its own subprocess on a free loopback port, one at a time, so the
two never share the machine with each other, only with the load generator; each
scenario gets a fresh one (and obrolan a fresh database), so the backlog a scenario's
failing steps leave behind never weighs on the next. Prints a
table, then one machine-readable line per scenario, and writes
bench/results/latest.json. See docs/performance.md.

Environment: BENCH_SECONDS (step window, 10), BENCH_WARMUP (2), BENCH_DRAIN (5),
BENCH_START_RATE (messages/s, 50), BENCH_MAX_RATE (20000), BENCH_RATE_FACTOR (2),
BENCH_BISECTIONS (4), BENCH_USERS (200), BENCH_BIG_ROOM_SIZE (BENCH_USERS),
BENCH_BIG_ROOM_SENDERS (5), BENCH_IDLE_CONNECTIONS (10000), BENCH_IDLE_ACCOUNTS (100),
BENCH_IDLE_SESSIONS (sessions per idle account, 1), BENCH_IDLE_SETTLE (5 seconds),
BENCH_IDLE_CONCURRENCY (S3's connects in flight, 200), BENCH_SCENARIOS (S1,S2,S3).
"""

from __future__ import annotations

import asyncio
import dataclasses
import math
import os
import platform
import shutil
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import uvloop

from bench import _proc, _servers
from bench._cast import Cast, baseline_cast, prepare_idle_tokens, prepare_obrolan
from bench._idle import (
    IDLE_CONNECT_CONCURRENCY,
    IdleResult,
    baseline_hello,
    obrolan_hello,
    run_idle,
)
from bench._sweep import MAX_P99_MS, StepResult, SweepSettings, best, failure, first_failing
from bench.loadgen import (
    Scenario,
    StepTiming,
    SweepResult,
    big_room,
    dm_pairs,
    obrolan_counters,
    run_sweep,
)

RESULTS = Path(__file__).resolve().parent / "results"
# The targets docs/performance.md states (and MAX_P99_MS, in bench/_sweep.py).
MIN_BASELINE_RATIO = 0.5
MAX_IDLE_RSS_MIB = 1024.0
# S3: obrolan's connect rate ÷ the baseline's, with the same connects in flight.
MIN_CONNECT_RATIO = 0.5
# Other work on the machine above this (share of one core) makes the figures unreliable.
BUSY_MACHINE_PCT = 20.0
# A generator this late against its own schedule (p99) is part of the latency measured.
LAG_WARNING_MS = 10.0


@dataclass(frozen=True, slots=True)
class BenchConfig:
    seconds: float
    warmup: float
    drain: float
    start_rate: float
    max_rate: float
    rate_factor: float
    bisections: int
    users: int
    big_room_size: int
    big_room_senders: int
    idle_connections: int
    idle_accounts: int
    idle_sessions: int
    idle_settle: float
    idle_concurrency: int
    scenarios: frozenset[str]

    @classmethod
    def from_env(cls) -> BenchConfig:
        env = os.environ.get
        users = 2 * max(1, int(env("BENCH_USERS", "200")) // 2)
        return cls(
            seconds=float(env("BENCH_SECONDS", "10")),
            warmup=float(env("BENCH_WARMUP", "2")),
            drain=float(env("BENCH_DRAIN", "5")),
            start_rate=float(env("BENCH_START_RATE", "50")),
            max_rate=float(env("BENCH_MAX_RATE", "20000")),
            rate_factor=max(1.1, float(env("BENCH_RATE_FACTOR", "2"))),
            bisections=int(env("BENCH_BISECTIONS", "4")),
            users=users,
            big_room_size=max(2, min(users, int(env("BENCH_BIG_ROOM_SIZE", str(users))))),
            big_room_senders=int(env("BENCH_BIG_ROOM_SENDERS", "5")),
            idle_connections=int(env("BENCH_IDLE_CONNECTIONS", "10000")),
            idle_accounts=2 * max(1, int(env("BENCH_IDLE_ACCOUNTS", "100")) // 2),
            idle_sessions=int(env("BENCH_IDLE_SESSIONS", "1")),
            idle_settle=float(env("BENCH_IDLE_SETTLE", "5")),
            idle_concurrency=max(
                1, int(env("BENCH_IDLE_CONCURRENCY", str(IDLE_CONNECT_CONCURRENCY)))
            ),
            scenarios=frozenset(
                name.strip() for name in env("BENCH_SCENARIOS", "S1,S2,S3").upper().split(",")
            ),
        )

    @property
    def sweep(self) -> SweepSettings:
        return SweepSettings(self.start_rate, self.max_rate, self.rate_factor, self.bisections)

    @property
    def timing(self) -> StepTiming:
        return StepTiming(self.seconds, self.warmup, self.drain)


# -- running ----------------------------------------------------------------------------
def _scenarios(config: BenchConfig, cast: Cast) -> list[Scenario]:
    chosen = []
    if "S1" in config.scenarios:
        chosen.append(dm_pairs(cast))
    if "S2" in config.scenarios:
        chosen.append(big_room(cast, config.big_room_senders))
    return chosen


def _measure(
    runner: asyncio.Runner,
    config: BenchConfig,
    server: _servers.Server,
    cast: Cast,
    counters: Callable[[], Awaitable[dict[str, float]]] | None = None,
) -> dict[str, SweepResult]:
    results = {}
    for scenario in _scenarios(config, cast):
        print(f"  {server.name}: {scenario.name} {scenario.title} …", file=sys.stderr)
        results[scenario.name] = runner.run(
            run_sweep(
                server.ws_url,
                cast,
                scenario,
                config.sweep,
                config.timing,
                server_cpu=lambda: _proc.cpu_seconds(server.pid),
                server_counters=counters,
                label=server.name,
            )
        )
    return results


def _each_scenario_alone(
    config: BenchConfig,
    bench: Callable[[BenchConfig], dict[str, SweepResult]],
) -> dict[str, SweepResult]:
    """Run `bench` once per chosen scenario of S1 and S2, each time with that one alone:
    a fresh server for each (the failing steps of one leave queued sends and a busy
    database that would fail the next one's first steps)."""
    results: dict[str, SweepResult] = {}
    for scenario in sorted(config.scenarios & {"S1", "S2"}):
        results |= bench(dataclasses.replace(config, scenarios=frozenset({scenario})))
    return results


def bench_obrolan(
    runner: asyncio.Runner, config: BenchConfig, workdir: Path
) -> dict[str, SweepResult]:
    """S1 and S2 on obrolan with SQLite: a new server and database for each."""
    return _each_scenario_alone(config, lambda alone: _bench_one_obrolan(runner, alone, workdir))


def _bench_one_obrolan(
    runner: asyncio.Runner, config: BenchConfig, workdir: Path
) -> dict[str, SweepResult]:
    server = _servers.obrolan(workdir)  # a data directory of its own: a new database
    server.start()
    try:
        print(f"  obrolan: registering {config.users} users …", file=sys.stderr)
        cast = runner.run(prepare_obrolan(server.http_url, config.users, config.big_room_size))
        return _measure(runner, config, server, cast, lambda: obrolan_counters(server.http_url))
    finally:
        server.stop()


def bench_baseline(
    runner: asyncio.Runner, config: BenchConfig, workdir: Path
) -> dict[str, SweepResult]:
    """S1 and S2 on the baseline, a new process for each, as obrolan gets."""
    return _each_scenario_alone(config, lambda alone: _bench_one_baseline(runner, alone, workdir))


def _bench_one_baseline(
    runner: asyncio.Runner, config: BenchConfig, workdir: Path
) -> dict[str, SweepResult]:
    server = _servers.baseline(workdir)
    server.start()
    try:
        return _measure(runner, config, server, baseline_cast(config.users, config.big_room_size))
    finally:
        server.stop()


@dataclass(frozen=True, slots=True)
class IdleComparison:
    """S3: the idle sockets on obrolan, and the same connects to the baseline."""

    obrolan: IdleResult
    baseline: IdleResult

    @property
    def connect_ratio(self) -> float:
        base = self.baseline.connects_per_s
        return self.obrolan.connects_per_s / base if base else math.nan


def bench_idle(runner: asyncio.Runner, config: BenchConfig, workdir: Path) -> IdleComparison:
    return IdleComparison(
        _idle_obrolan(runner, config, workdir), _idle_baseline(runner, config, workdir)
    )


def _idle_obrolan(runner: asyncio.Runner, config: BenchConfig, workdir: Path) -> IdleResult:
    server = _servers.obrolan(workdir)
    server.start()
    try:
        print(
            f"  obrolan: S3 {config.idle_accounts} accounts x {config.idle_sessions} sessions, "
            f"{config.idle_connections} sockets …",
            file=sys.stderr,
        )
        tokens, accounts = runner.run(
            prepare_idle_tokens(server.http_url, config.idle_accounts, config.idle_sessions)
        )
        return runner.run(
            run_idle(
                server.ws_url,
                obrolan_hello(tokens),
                config.idle_connections,
                accounts=accounts,
                sessions=len(tokens),
                settle=config.idle_settle,
                server_rss=lambda: _proc.rss_bytes(server.pid),
                concurrency=config.idle_concurrency,
            )
        )
    finally:
        server.stop()


def _idle_baseline(runner: asyncio.Runner, config: BenchConfig, workdir: Path) -> IdleResult:
    """The same crowd on the baseline: one session per account, as its hello has no other."""
    server = _servers.baseline(workdir)
    server.start()
    try:
        print(
            f"  baseline: S3 {config.idle_connections} sockets over {config.idle_accounts} users …",
            file=sys.stderr,
        )
        return runner.run(
            run_idle(
                server.ws_url,
                baseline_hello(config.idle_accounts),
                config.idle_connections,
                accounts=config.idle_accounts,
                sessions=config.idle_accounts,
                settle=config.idle_settle,
                server_rss=lambda: _proc.rss_bytes(server.pid),
                concurrency=config.idle_concurrency,
            )
        )
    finally:
        server.stop()


# -- reporting --------------------------------------------------------------------------
def machine() -> dict[str, Any]:
    model = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    mem_kib = int(Path("/proc/meminfo").read_text().split()[1])
    return {
        "cores": os.cpu_count(),
        "cpu": model,
        "ram_gib": round(mem_kib / 2**20, 1),
        "python": platform.python_version(),
        "kernel": platform.release(),
    }


def _rate(result: SweepResult | None) -> float:
    top = best(result.steps) if result else None
    return top.offered_rate if top else math.nan


def _ratio(ours: SweepResult, base: SweepResult | None) -> float:
    """obrolan ÷ baseline, of the highest passing offered rates."""
    base_rate = _rate(base)
    return _rate(ours) / base_rate if base_rate else math.nan


def _mark(ok: bool) -> str:
    return "ok" if ok else "MISSED"


def _trio(a: float, b: float, c: float) -> str:
    return f"{a:.1f}/{b:.1f}/{c:.1f}"


def print_table(
    config: BenchConfig,
    ours: dict[str, SweepResult],
    base: dict[str, SweepResult],
    s3: IdleComparison | None,
) -> None:
    m = machine()
    print(
        f"\nobrolan bench, open loop — {m['cores']} cores {m['cpu']}, {m['ram_gib']} GiB, "
        f"Python {m['python']}; steps of {config.seconds:g} s after {config.warmup:g} s "
        f"warm-up, drain {config.drain:g} s; rates {config.start_rate:g} x "
        f"{config.rate_factor:g} … {config.max_rate:g}/s, {config.bisections} bisections.\n"
        f"Highest offered rate with nothing lost and p99 < {MAX_P99_MS:g} ms (ack and "
        "delivery, from the scheduled send time); latencies p50/p95/p99 in ms"
    )
    header = (
        f"{'':4}{'server':10}{'rate/s':>9}{'deliv/s':>10}{'ack ms':>17}{'delivery ms':>17}"
        f"{'lag p99':>9}{'srv CPU':>9}{'gen CPU':>9}{'other':>7}{'steps':>7}"
    )
    for name in sorted(ours.keys() | base.keys()):
        title = (ours.get(name) or base[name]).title
        print(f"\n{name} {title}\n{header}")
        for label, result in (("obrolan", ours.get(name)), ("baseline", base.get(name))):
            if result is None:
                continue
            top = best(result.steps)
            if top is None:
                print(f"{'':4}{label:10}no step passed")
            else:
                print(
                    f"{'':4}{label:10}{top.offered_rate:>9.0f}{top.deliveries_per_s:>10.0f}"
                    f"{_trio(top.ack_p50_ms, top.ack_p95_ms, top.ack_p99_ms):>17}"
                    f"{_trio(top.delivery_p50_ms, top.delivery_p95_ms, top.delivery_p99_ms):>17}"
                    f"{top.lag_p99_ms:>9.1f}{top.server_cpu_pct:>8.0f}%"
                    f"{top.client_cpu_pct:>8.0f}%{top.other_cpu_pct:>6.0f}%"
                    f"{len(result.steps):>7}"
                )
        for label, result in (("obrolan", ours.get(name)), ("baseline", base.get(name))):
            if result is not None:
                _print_notes(label, result)
        if name in ours:
            ratio = _ratio(ours[name], base.get(name))
            print(
                f"{'':4}obrolan ÷ baseline = {ratio:.2f} "
                f"(target ≥ {MIN_BASELINE_RATIO}: {_mark(ratio >= MIN_BASELINE_RATIO)})"
            )
    if s3 is not None:
        idle, base_idle = s3.obrolan, s3.baseline
        print(
            f"\nS3 {idle.connections} idle authenticated sockets: {idle.accounts} accounts, "
            f"{idle.sessions // max(1, idle.accounts)} session(s) each, "
            f"{idle.opened // max(1, idle.sessions)} sockets per session; "
            f"{idle.concurrency} connects in flight\n"
            f"{'':4}obrolan RSS {idle.rss_mib:.0f} MiB (before connecting {idle.rss_before_mib:.0f}"
            f" MiB, {idle.kib_per_connection:.1f} KiB per socket); "
            f"target < {MAX_IDLE_RSS_MIB:g} MiB: {_mark(idle.rss_mib < MAX_IDLE_RSS_MIB)}\n"
            f"{'':4}connects (first connect to last ready): obrolan {idle.opened} in "
            f"{idle.open_seconds:.1f} s = {idle.connects_per_s:.0f}/s; "
            f"baseline {base_idle.opened} in "
            f"{base_idle.open_seconds:.1f} s = {base_idle.connects_per_s:.0f}/s "
            f"(RSS {base_idle.rss_mib:.0f} MiB)\n"
            f"{'':4}obrolan ÷ baseline = {s3.connect_ratio:.2f} "
            f"(target ≥ {MIN_CONNECT_RATIO}: {_mark(s3.connect_ratio >= MIN_CONNECT_RATIO)})"
        )
    print()


def _print_notes(label: str, result: SweepResult) -> None:
    """The first failing step and why; the write path; a generator that fell behind."""
    top, over = best(result.steps), first_failing(result.steps)
    if over is not None:
        print(f"{'':4}{label}: {over.offered_rate:.0f}/s failed: {failure(over)}")
    elif top is not None:
        print(f"{'':4}{label}: passed up to the highest rate tried")
    if top is None:
        return
    if top.lag_p99_ms > LAG_WARNING_MS:
        print(
            f"{'':4}{label}: the generator sent {top.lag_p99_ms:.1f} ms late (p99) at "
            f"{top.offered_rate:.0f}/s: part of the latency is the generator's"
        )
    w = top.server_metrics
    if w:
        print(
            f"{'':4}{label} committed {w['commits_per_s']:.0f} batches/s of "
            f"{w['messages_per_commit']:.1f} messages; send→commit mean "
            f"{w['send_to_commit_ms']:.1f} ms"
        )


def _step_json(step: StepResult) -> dict[str, Any]:
    return {**asdict(step), "passed": not failure(step), "failure": failure(step)}


def _sweep_json(result: SweepResult) -> dict[str, Any]:
    top = best(result.steps)
    return {
        "title": result.title,
        "senders": result.senders,
        "recipients": result.recipients,
        "best": None if top is None else _step_json(top),
        "steps": [_step_json(s) for s in result.steps],
    }


def machine_lines(
    ours: dict[str, SweepResult], base: dict[str, SweepResult], s3: IdleComparison | None
) -> list[str]:
    lines = []
    for name, result in sorted(ours.items()):
        top = best(result.steps)
        nan = math.nan
        lines.append(
            f"{name} rate={_rate(result):.1f} "
            f"deliveries_per_s={top.deliveries_per_s if top else nan:.1f} "
            f"ack_p50_ms={top.ack_p50_ms if top else nan:.2f} "
            f"ack_p95_ms={top.ack_p95_ms if top else nan:.2f} "
            f"ack_p99_ms={top.ack_p99_ms if top else nan:.2f} "
            f"delivery_p50_ms={top.delivery_p50_ms if top else nan:.2f} "
            f"delivery_p95_ms={top.delivery_p95_ms if top else nan:.2f} "
            f"delivery_p99_ms={top.delivery_p99_ms if top else nan:.2f} "
            f"server_cpu_pct={top.server_cpu_pct if top else nan:.0f} "
            f"baseline_rate={_rate(base.get(name)):.1f} "
            f"baseline_ratio={_ratio(result, base.get(name)):.3f}"
        )
    if s3 is not None:
        lines.append(
            f"S3 connections={s3.obrolan.connections} rss_mib={s3.obrolan.rss_mib:.1f} "
            f"connects_per_s={s3.obrolan.connects_per_s:.1f} "
            f"baseline_connects_per_s={s3.baseline.connects_per_s:.1f} "
            f"connect_ratio={s3.connect_ratio:.3f}"
        )
    return lines


def write_json(
    config: BenchConfig,
    background_load: float,
    ours: dict[str, SweepResult],
    base: dict[str, SweepResult],
    s3: IdleComparison | None,
) -> Path:
    RESULTS.mkdir(exist_ok=True)
    document = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "method": "open loop",
        "machine": machine(),
        "background_load_pct": background_load,
        "config": {**asdict(config), "scenarios": sorted(config.scenarios)},
        "max_p99_ms": MAX_P99_MS,
        "obrolan": {name: _sweep_json(r) for name, r in ours.items()},
        "baseline": {name: _sweep_json(r) for name, r in base.items()},
        "baseline_ratio": {name: _ratio(r, base.get(name)) for name, r in ours.items()},
        "idle": None if s3 is None else _idle_json(s3.obrolan),
        "idle_baseline": None if s3 is None else _idle_json(s3.baseline),
        "connect_ratio": None if s3 is None else s3.connect_ratio,
    }
    path = RESULTS / "latest.json"
    # NaN (a scenario with no samples) is not JSON; orjson writes it as null.
    path.write_bytes(orjson.dumps(document, option=orjson.OPT_INDENT_2))
    return path


def _idle_json(result: IdleResult) -> dict[str, Any]:
    return {
        **asdict(result),
        "kib_per_connection": result.kib_per_connection,
        "connects_per_s": result.connects_per_s,
    }


def background_load_pct(seconds: float = 1.0) -> float:
    """How busy the machine is before the bench starts, as a share of one core."""
    before = _proc.machine_busy_seconds()
    time.sleep(seconds)
    return 100 * (_proc.machine_busy_seconds() - before) / seconds


def main() -> int:
    config = BenchConfig.from_env()
    load = background_load_pct()
    if load > BUSY_MACHINE_PCT:
        print(
            f"bench: warning: the machine is already {load:.0f}% busy (of one core) before"
            " starting; the figures will be low and noisy",
            file=sys.stderr,
        )
    # Sockets are files: the generator and (inheriting it) each server need one per
    # connection, and the default soft limit is often 1024.
    _proc.raise_fd_limit(config.idle_connections + 4096)
    workdir = Path(tempfile.mkdtemp(prefix="obrolan-bench-"))
    ours: dict[str, SweepResult] = {}
    base: dict[str, SweepResult] = {}
    s3 = None
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        try:
            if config.scenarios & {"S1", "S2"}:
                ours = bench_obrolan(runner, config, workdir)
                base = bench_baseline(runner, config, workdir)
            if "S3" in config.scenarios:
                s3 = bench_idle(runner, config, workdir)
        except BaseException:
            print(f"bench: failed; server logs kept in {workdir}", file=sys.stderr)
            raise
    shutil.rmtree(workdir, ignore_errors=True)
    print_table(config, ours, base, s3)
    print(f"results: {write_json(config, load, ours, base, s3)}")
    for line in machine_lines(ours, base, s3):
        print(line)
    nothing_acked = [name for name, r in ours.items() if all(step.acked == 0 for step in r.steps)]
    return 1 if nothing_acked else 0


if __name__ == "__main__":
    sys.exit(main())
