"""`make bench-nodes`: S1 and S2 against obrolan on PostgreSQL + Redis, one process and
several (`obrolan serve --workers N`), beside the no-persistence baseline in the same run.

Each worker is a node in every sense (its own pool, hub and Redis subscription) sharing
one port, so this measures what the multi-node path costs and how it scales on this
machine. The load generator shares the machine's cores with the servers: on a small
machine the scaling factor is a floor, not a ceiling. Settings as `make bench`
(bench/run.py), plus BENCH_WORKERS (`1,3`), BENCH_POSTGRES_URL
(postgresql+asyncpg://postgres@127.0.0.1:5432/test) and BENCH_REDIS_URL
(redis://127.0.0.1:6379/0).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import uvloop
from redis import Redis
from redis.exceptions import RedisError

from bench import _proc, _servers
from bench._cast import prepare_obrolan
from bench._sweep import best
from bench.loadgen import SweepResult
from bench.run import BenchConfig, _each_scenario_alone, _measure, bench_baseline


def _rate(result: SweepResult | None) -> float:
    top = best(result.steps) if result is not None else None
    return top.offered_rate if top is not None else 0.0


def bench_workers(
    runner: asyncio.Runner, config: BenchConfig, workdir: Path, workers: int
) -> dict[str, SweepResult]:
    """S1 and S2, each against a fresh server and database: a scenario's failing steps
    leave a backlog (queued sends, a busy PostgreSQL) that would fail the next one's."""
    return _each_scenario_alone(
        config, lambda alone: _bench_one_server(runner, alone, workdir, workers)
    )


def _bench_one_server(
    runner: asyncio.Runner, config: BenchConfig, workdir: Path, workers: int
) -> dict[str, SweepResult]:
    postgres_url = os.environ.get(
        "BENCH_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
    )
    server = _servers.obrolan_on_postgres(
        workdir,
        workers=workers,
        postgres_url=postgres_url,
        redis_url=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0"),
    )
    server.start()
    try:
        print(f"  {server.name}: registering {config.users} users …", file=sys.stderr)
        cast = runner.run(prepare_obrolan(server.http_url, config.users, config.big_room_size))
        # No write-path counters: /metrics answers for one worker only.
        return _measure(runner, config, server, cast)
    finally:
        server.stop()
        _servers.drop_database(postgres_url, server)


def _services_answer(postgres_url: str, redis_url: str) -> str | None:
    """Why the PostgreSQL + Redis run cannot happen here, or None when it can."""
    try:
        _servers.ping_postgres(postgres_url)
    except (OSError, subprocess.CalledProcessError):
        return f"no PostgreSQL answers at {postgres_url}"
    try:
        Redis.from_url(redis_url, socket_connect_timeout=2).ping()
    except RedisError:
        return f"no Redis answers at {redis_url}"
    return None


def main() -> int:
    config = BenchConfig.from_env()
    why_not = _services_answer(
        os.environ.get("BENCH_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"),
        os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0"),
    )
    if why_not is not None:
        print(f"bench-nodes: skipped: {why_not}", file=sys.stderr)
        return 0
    counts = [int(n) for n in os.environ.get("BENCH_WORKERS", "1,3").split(",")]
    _proc.raise_fd_limit(4096)
    workdir = Path(tempfile.mkdtemp(prefix="obrolan-bench-nodes-"))
    results: dict[int, dict[str, SweepResult]] = {}
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        try:
            for workers in counts:
                results[workers] = bench_workers(runner, config, workdir, workers)
            base = bench_baseline(runner, config, workdir)
        except BaseException:
            print(f"bench: failed; server logs kept in {workdir}", file=sys.stderr)
            raise
    shutil.rmtree(workdir, ignore_errors=True)
    first = counts[0]
    print(
        "\nobrolan on PostgreSQL + Redis: the highest offered rate with nothing lost and"
        " p99 < 100 ms; scale = against the first worker count, ratio = to the baseline"
    )
    print(f"{'':4}{'scenario':10}{'workers':>8}{'rate/s':>9}{'scale':>8}{'ratio':>8}")
    for scenario in sorted(base):
        for workers in counts:
            rate = _rate(results[workers].get(scenario))
            one = _rate(results[first].get(scenario))
            base_rate = _rate(base.get(scenario))
            scale = f"{rate / one:.2f}" if one else "-"  # nothing passed with one: no scale
            ratio = f"{rate / base_rate:.2f}" if base_rate else "-"
            print(f"{'':4}{scenario:10}{workers:>8}{rate:>9.0f}{scale:>8}{ratio:>8}")
        print(f"{'':4}{scenario:10}{'baseline':>8}{_rate(base.get(scenario)):>9.0f}")
    for scenario in sorted(base):
        line = " ".join(
            f"w{workers}_rate={_rate(results[workers].get(scenario)):.0f}" for workers in counts
        )
        print(f"{scenario} {line} baseline_rate={_rate(base.get(scenario)):.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
