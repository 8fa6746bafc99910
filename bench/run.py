"""`make bench`: S1 and S2 against obrolan and the baseline, then S3 against obrolan.

Each server runs as its own subprocess on a free loopback port, one at a time, so the
two never share the machine with each other, only with the load generator. Prints a
table, then one machine-readable line per scenario, and writes
bench/results/latest.json. See docs/performance.md.

Environment: BENCH_SECONDS (20), BENCH_WARMUP (2), BENCH_USERS (200),
BENCH_BIG_ROOM_SENDERS (5), BENCH_IDLE_CONNECTIONS (10000), BENCH_IDLE_ACCOUNTS (100),
BENCH_IDLE_SESSIONS (sessions per idle account, 1), BENCH_IDLE_SETTLE (5 seconds),
BENCH_SCENARIOS (S1,S2,S3).
"""

from __future__ import annotations

import asyncio
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
from bench._idle import IdleResult, run_idle
from bench.loadgen import (
    Scenario,
    ScenarioResult,
    big_room,
    dm_pairs,
    obrolan_counters,
    run_scenario,
)

RESULTS = Path(__file__).resolve().parent / "results"
# The targets docs/performance.md states.
MIN_BASELINE_RATIO = 0.5
MAX_P99_MS = 100.0
MAX_IDLE_RSS_MIB = 1024.0
# Other work on the machine above this (share of one core) makes the figures unreliable.
BUSY_MACHINE_PCT = 20.0


@dataclass(frozen=True, slots=True)
class BenchConfig:
    seconds: float
    warmup: float
    users: int
    big_room_senders: int
    idle_connections: int
    idle_accounts: int
    idle_sessions: int
    idle_settle: float
    scenarios: frozenset[str]

    @classmethod
    def from_env(cls) -> BenchConfig:
        env = os.environ.get
        return cls(
            seconds=float(env("BENCH_SECONDS", "20")),
            warmup=float(env("BENCH_WARMUP", "2")),
            users=2 * (int(env("BENCH_USERS", "200")) // 2),
            big_room_senders=int(env("BENCH_BIG_ROOM_SENDERS", "5")),
            idle_connections=int(env("BENCH_IDLE_CONNECTIONS", "10000")),
            idle_accounts=2 * max(1, int(env("BENCH_IDLE_ACCOUNTS", "100")) // 2),
            idle_sessions=int(env("BENCH_IDLE_SESSIONS", "1")),
            idle_settle=float(env("BENCH_IDLE_SETTLE", "5")),
            scenarios=frozenset(
                name.strip() for name in env("BENCH_SCENARIOS", "S1,S2,S3").upper().split(",")
            ),
        )


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
) -> dict[str, ScenarioResult]:
    results = {}
    for scenario in _scenarios(config, cast):
        print(f"  {server.name}: {scenario.name} {scenario.title} …", file=sys.stderr)
        results[scenario.name] = runner.run(
            run_scenario(
                server.ws_url,
                cast,
                scenario,
                seconds=config.seconds,
                warmup=config.warmup,
                server_cpu=lambda: _proc.cpu_seconds(server.pid),
                server_counters=counters,
            )
        )
    return results


def bench_obrolan(
    runner: asyncio.Runner, config: BenchConfig, workdir: Path
) -> dict[str, ScenarioResult]:
    server = _servers.obrolan(workdir)
    server.start()
    try:
        print(f"  obrolan: registering {config.users} users …", file=sys.stderr)
        cast = runner.run(prepare_obrolan(server.http_url, config.users))
        return _measure(runner, config, server, cast, lambda: obrolan_counters(server.http_url))
    finally:
        server.stop()


def bench_baseline(
    runner: asyncio.Runner, config: BenchConfig, workdir: Path
) -> dict[str, ScenarioResult]:
    server = _servers.baseline(workdir)
    server.start()
    try:
        return _measure(runner, config, server, baseline_cast(config.users))
    finally:
        server.stop()


def bench_idle(runner: asyncio.Runner, config: BenchConfig, workdir: Path) -> IdleResult:
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
                tokens,
                accounts,
                config.idle_connections,
                settle=config.idle_settle,
                server_rss=lambda: _proc.rss_bytes(server.pid),
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


def _ratio(ours: ScenarioResult, base: ScenarioResult | None) -> float:
    return ours.msgs_per_s / base.msgs_per_s if base and base.msgs_per_s else math.nan


def _mark(ok: bool) -> str:
    return "ok" if ok else "MISSED"


def print_table(
    config: BenchConfig,
    ours: dict[str, ScenarioResult],
    base: dict[str, ScenarioResult],
    idle: IdleResult | None,
) -> None:
    m = machine()
    print(
        f"\nobrolan bench — {m['cores']} cores {m['cpu']}, {m['ram_gib']} GiB, "
        f"Python {m['python']}; {config.seconds:g} s per scenario after {config.warmup:g} s warm-up"
    )
    header = (
        f"{'':4}{'server':10}{'msgs/s':>10}{'deliv/s':>11}{'p50 ms':>9}{'p95 ms':>9}"
        f"{'p99 ms':>9}{'errors':>8}{'srv CPU':>9}{'gen CPU':>9}{'other':>7}"
    )
    for name in sorted(ours.keys() | base.keys()):
        title = (ours.get(name) or base[name]).title
        print(f"\n{name} {title}\n{header}")
        for label, r in (("obrolan", ours.get(name)), ("baseline", base.get(name))):
            if r is None:
                continue
            print(
                f"{'':4}{label:10}{r.msgs_per_s:>10.0f}{r.deliveries_per_s:>11.0f}"
                f"{r.p50_ms:>9.1f}{r.p95_ms:>9.1f}{r.p99_ms:>9.1f}{r.errors:>8}"
                f"{r.server_cpu_pct:>8.0f}%{r.client_cpu_pct:>8.0f}%{r.other_cpu_pct:>6.0f}%"
            )
        for label, r in (("obrolan", ours.get(name)), ("baseline", base.get(name))):
            if r is not None:
                _print_backlog(label, r)
        if name in ours and ours[name].server_metrics:
            w = ours[name].server_metrics
            print(
                f"{'':4}obrolan committed {w['commits_per_s']:.0f} batches/s of "
                f"{w['messages_per_commit']:.1f} messages; send→commit mean "
                f"{w['send_to_commit_ms']:.1f} ms"
            )
        if name in ours:
            ratio = _ratio(ours[name], base.get(name))
            print(
                f"{'':4}obrolan ÷ baseline = {ratio:.2f} "
                f"(target ≥ {MIN_BASELINE_RATIO}: {_mark(ratio >= MIN_BASELINE_RATIO)}); "
                f"p99 target < {MAX_P99_MS:g} ms: {_mark(ours[name].p99_ms < MAX_P99_MS)}"
            )
    if idle is not None:
        print(
            f"\nS3 {idle.connections} idle authenticated sockets: {idle.accounts} accounts, "
            f"{idle.sessions // max(1, idle.accounts)} session(s) each, "
            f"{idle.connections // max(1, idle.sessions)} sockets per session; "
            f"opened in {idle.open_seconds:.1f} s\n"
            f"{'':4}obrolan RSS {idle.rss_mib:.0f} MiB (before connecting {idle.rss_before_mib:.0f}"
            f" MiB, {idle.kib_per_connection:.1f} KiB per socket); "
            f"target < {MAX_IDLE_RSS_MIB:g} MiB: {_mark(idle.rss_mib < MAX_IDLE_RSS_MIB)}"
        )
    print()


def _print_backlog(label: str, r: ScenarioResult) -> None:
    """Say so when deliveries fell behind acks: the figures then flatter the server."""
    owed_per_s = r.msgs_per_s * r.recipients
    if r.undelivered or r.dropped_sockets:
        print(
            f"{'':4}{label}: {r.undelivered} deliveries never arrived, "
            f"{r.dropped_sockets} sockets dropped by the server"
        )
    elif owed_per_s and r.deliveries_per_s < 0.95 * owed_per_s:
        print(
            f"{'':4}{label}: delivered {r.deliveries_per_s:.0f}/s of the {owed_per_s:.0f}/s "
            "it acknowledged: a backlog grew during the window (latencies include it)"
        )


def machine_lines(
    ours: dict[str, ScenarioResult], base: dict[str, ScenarioResult], idle: IdleResult | None
) -> list[str]:
    lines = [
        f"{name} msgs_per_s={r.msgs_per_s:.1f} deliveries_per_s={r.deliveries_per_s:.1f} "
        f"p50_ms={r.p50_ms:.2f} p95_ms={r.p95_ms:.2f} p99_ms={r.p99_ms:.2f} "
        f"baseline_ratio={_ratio(r, base.get(name)):.3f}"
        for name, r in sorted(ours.items())
    ]
    if idle is not None:
        lines.append(f"S3 connections={idle.connections} rss_mib={idle.rss_mib:.1f}")
    return lines


def write_json(
    config: BenchConfig,
    background_load: float,
    ours: dict[str, ScenarioResult],
    base: dict[str, ScenarioResult],
    idle: IdleResult | None,
) -> Path:
    RESULTS.mkdir(exist_ok=True)
    document = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "background_load_pct": background_load,
        "config": {**asdict(config), "scenarios": sorted(config.scenarios)},
        "obrolan": {name: asdict(r) for name, r in ours.items()},
        "baseline": {name: asdict(r) for name, r in base.items()},
        "baseline_ratio": {name: _ratio(r, base.get(name)) for name, r in ours.items()},
        "idle": None
        if idle is None
        else {**asdict(idle), "kib_per_connection": idle.kib_per_connection},
    }
    path = RESULTS / "latest.json"
    # NaN (a scenario with no samples) is not JSON; orjson writes it as null.
    path.write_bytes(orjson.dumps(document, option=orjson.OPT_INDENT_2))
    return path


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
    ours: dict[str, ScenarioResult] = {}
    base: dict[str, ScenarioResult] = {}
    idle = None
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        try:
            if config.scenarios & {"S1", "S2"}:
                ours = bench_obrolan(runner, config, workdir)
                base = bench_baseline(runner, config, workdir)
            if "S3" in config.scenarios:
                idle = bench_idle(runner, config, workdir)
        except BaseException:
            print(f"bench: failed; server logs kept in {workdir}", file=sys.stderr)
            raise
    shutil.rmtree(workdir, ignore_errors=True)
    print_table(config, ours, base, idle)
    print(f"results: {write_json(config, load, ours, base, idle)}")
    for line in machine_lines(ours, base, idle):
        print(line)
    nothing_acked = [name for name, r in ours.items() if r.messages == 0]
    return 1 if nothing_acked else 0


if __name__ == "__main__":
    sys.exit(main())
