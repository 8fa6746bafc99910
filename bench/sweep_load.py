"""`python -m bench.sweep_load`: S1 at a fixed rate while the retention sweep deletes old rows.

The retention sweep deletes in short transactions (OBROLAN_RETENTION_BATCH_ROWS rows
each) and yields between them, so that sends waiting for the write lock wait
milliseconds. This measures that: it seeds BENCH_SWEEP_ROWS sign-in failures whose
counting window has long passed into a running obrolan's SQLite database, then runs S1
(DM pairs, bench/loadgen.py) at one offered rate twice on the same connections — once
as is, once with the server's own `retention.sweep` job deleting those rows during the
measured window — and prints the p99 of acks and deliveries of both runs beside each
other, and whether the run with the sweep stays under 100 ms.

The sweep runs inside the server, as in production: this process queues a sweep job
due now (as another node would) and the server's worker picks it up.

The rate is BENCH_SWEEP_RATE, or else half the highest passing S1 rate of obrolan in
bench/results/latest.json (written by `python -m bench.run` in the same `make bench`).
Environment: BENCH_SWEEP_ROWS (100000), BENCH_SWEEP_RATE, BENCH_SECONDS (step window,
10), BENCH_WARMUP (2), BENCH_DRAIN (5), BENCH_USERS (200). Writes
bench/results/sweep.json. See docs/performance.md.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import uvloop
from sqlalchemy import func, insert, select

from bench import _proc, _servers
from bench._cast import prepare_obrolan
from bench._sweep import MAX_P99_MS, StepResult, failure
from bench.loadgen import StepTiming, dm_pairs, obrolan_counters, open_session, run_step
from obrolan.accounts.models import login_failures
from obrolan.clock import Clock
from obrolan.db import Database
from obrolan.ids import new_id
from obrolan.jobs import JobQueue, JobState
from obrolan.privacy.sweep import SWEEP_KIND
from obrolan.realtime.hub import Hub, LocalBroker
from obrolan.realtime.stream import EventStream

RESULTS = Path(__file__).resolve().parent / "results"
# Rows written per seeding transaction.
SEED_CHUNK = 10_000
# How often the server's worker looks for jobs queued by others (this process).
POLL_SECONDS = 0.2
# The longest sweep period the erasure promise allows with the default settings: the
# server's own hourly sweep must not start in the middle of the run without the sweep.
QUIET_SWEEP_SECONDS = 20 * 86_400
# A sweep not done this long after the measured window ends has failed the bench.
SWEEP_TIMEOUT_S = 300.0


@dataclass(frozen=True, slots=True)
class SweepLoadConfig:
    rows: int
    rate: float | None
    users: int
    timing: StepTiming

    @classmethod
    def from_env(cls) -> SweepLoadConfig:
        env = os.environ.get
        rate = env("BENCH_SWEEP_RATE")
        return cls(
            rows=int(env("BENCH_SWEEP_ROWS", "100000")),
            rate=float(rate) if rate else None,
            users=2 * max(1, int(env("BENCH_USERS", "200")) // 2),
            timing=StepTiming(
                float(env("BENCH_SECONDS", "10")),
                float(env("BENCH_WARMUP", "2")),
                float(env("BENCH_DRAIN", "5")),
            ),
        )


@dataclass(frozen=True, slots=True)
class SweepLoadResult:
    rate: float
    rate_from: str
    rows: int
    without: StepResult
    with_sweep: StepResult
    swept_rows: int
    # From queueing the sweep to its job being done.
    sweep_seconds: float

    @property
    def ok(self) -> bool:
        return not failure(self.with_sweep) and self.swept_rows == self.rows


def half_s1_rate(latest: dict[str, Any]) -> float | None:
    """Half obrolan's highest passing S1 rate in a bench/results/latest.json document."""
    best = ((latest.get("obrolan") or {}).get("S1") or {}).get("best")
    if not best or not best.get("offered_rate"):
        return None
    return float(best["offered_rate"]) / 2


def choose_rate(config: SweepLoadConfig, latest_path: Path) -> tuple[float, str]:
    """The offered rate, and where it came from."""
    if config.rate is not None:
        return config.rate, "BENCH_SWEEP_RATE"
    if latest_path.exists():
        half = half_s1_rate(orjson.loads(latest_path.read_bytes()))
        if half is not None:
            return half, f"half the S1 rate in {latest_path.name}"
    raise SystemExit(
        "bench.sweep_load: set BENCH_SWEEP_RATE, or run `python -m bench.run` first"
        " (it writes the S1 rate to bench/results/latest.json)"
    )


async def seed_old_failures(db: Database, rows: int, at: datetime) -> None:
    """`rows` sign-in failures counted at `at`, long past their counting window."""
    for start in range(0, rows, SEED_CHUNK):
        chunk = [
            {"id": new_id(), "scope": "ip", "key_hash": secrets.token_bytes(32), "at": at}
            for _ in range(min(SEED_CHUNK, rows - start))
        ]
        async with db.write() as conn:
            await conn.execute(insert(login_failures), chunk)


async def count_failures(db: Database) -> int:
    async with db.read() as conn:
        return int((await conn.execute(select(func.count()).select_from(login_failures))).scalar())


async def queue_sweep(queue: JobQueue, stream: EventStream) -> str:
    """Queue a sweep due now, under a key of its own; the key."""
    key = f"{SWEEP_KIND}:bench:{new_id()}"
    async with stream.transaction() as tx:
        await queue.enqueue(tx, SWEEP_KIND, {}, key=key, run_at=tx.now)
    return key


async def wait_done(queue: JobQueue, key: str) -> None:
    """Until the job queued under `key` is done; raises if it failed."""
    while True:
        job = await queue.get_by_key(key)
        if job is not None and job.state is JobState.DONE:
            return
        if job is not None and job.state in (JobState.DEAD, JobState.FAILED):
            raise RuntimeError(f"the sweep failed: {job.last_error}")
        await asyncio.sleep(0.05)


async def measure(config: SweepLoadConfig, server: _servers.Server, rate: float) -> dict[str, Any]:
    data_dir = Path(server.env["OBROLAN_DATA_DIR"])
    db = Database(f"sqlite+aiosqlite:///{data_dir / 'obrolan.db'}")
    clock = Clock()
    stream = EventStream(db, LocalBroker(Hub()), clock)
    queue = JobQueue(db, stream, clock)
    try:
        print(f"  obrolan: registering {config.users} users …", file=sys.stderr)
        cast = await prepare_obrolan(server.http_url, config.users, 2)
        print(f"  obrolan: seeding {config.rows} old sign-in failures …", file=sys.stderr)
        await seed_old_failures(db, config.rows, clock.now() - timedelta(days=1))
        scenario = dm_pairs(cast)
        session = await open_session(server.ws_url, cast, scenario)

        async def step() -> StepResult:
            nonlocal session
            if not session.healthy:
                # What the last step left owed would land in this one: start afresh.
                await session.close()
                session = await open_session(server.ws_url, cast, scenario)
            return await run_step(
                session,
                rate,
                config.timing,
                server_cpu=lambda: _proc.cpu_seconds(server.pid),
                server_counters=lambda: obrolan_counters(server.http_url),
            )

        try:
            print(f"  S1 at {rate:.0f}/s without the sweep …", file=sys.stderr)
            without = await step()

            async def sweep_in_window() -> tuple[str, float]:
                # Queued as the measured window opens, so the deleting falls inside it.
                await asyncio.sleep(config.timing.warmup)
                return await queue_sweep(queue, stream), time.perf_counter()

            print(f"  S1 at {rate:.0f}/s with the sweep deleting …", file=sys.stderr)
            queued = asyncio.create_task(sweep_in_window())
            with_sweep = await step()
            key, queued_at = await queued
            async with asyncio.timeout(SWEEP_TIMEOUT_S):
                await wait_done(queue, key)
            sweep_seconds = time.perf_counter() - queued_at
        finally:
            await session.close()
        left = await count_failures(db)
    finally:
        await db.dispose()
    return {
        "without": without,
        "with_sweep": with_sweep,
        "swept_rows": config.rows - left,
        "sweep_seconds": sweep_seconds,
    }


def report(result: SweepLoadResult) -> list[str]:
    """The table and the machine-readable line."""

    def line(label: str, s: StepResult) -> str:
        return (
            f"    {label:16}ack p50/p99 {s.ack_p50_ms:6.1f}/{s.ack_p99_ms:6.1f} ms  "
            f"delivery p50/p99 {s.delivery_p50_ms:6.1f}/{s.delivery_p99_ms:6.1f} ms  "
            f"max {s.max_ms:6.1f} ms  server CPU {s.server_cpu_pct:3.0f}%"
            + (f"  FAILED: {failure(s)}" if failure(s) else "")
        )

    w, s = result.without, result.with_sweep
    verdict = "ok" if result.ok else "MISSED"
    return [
        f"\nS1 at {result.rate:.0f}/s ({result.rate_from}) while the retention sweep deletes "
        f"{result.rows} old rows",
        line("without sweep", w),
        line("with sweep", s),
        f"    the sweep removed {result.swept_rows} rows in {result.sweep_seconds:.1f} s "
        f"(queued → done); p99 < {MAX_P99_MS:g} ms with the sweep: {verdict}",
        f"S1+sweep rate={result.rate:.1f} rows={result.rows} swept={result.swept_rows} "
        f"sweep_s={result.sweep_seconds:.2f} "
        f"ack_p99_ms={w.ack_p99_ms:.2f} ack_p99_sweep_ms={s.ack_p99_ms:.2f} "
        f"delivery_p99_ms={w.delivery_p99_ms:.2f} "
        f"delivery_p99_sweep_ms={s.delivery_p99_ms:.2f} ok={str(result.ok).lower()}",
    ]


def write_json(result: SweepLoadResult) -> Path:
    RESULTS.mkdir(exist_ok=True)
    document = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "max_p99_ms": MAX_P99_MS,
        **asdict(result),
        "ok": result.ok,
    }
    path = RESULTS / "sweep.json"
    path.write_bytes(orjson.dumps(document, option=orjson.OPT_INDENT_2))
    return path


def main() -> int:
    config = SweepLoadConfig.from_env()
    rate, rate_from = choose_rate(config, RESULTS / "latest.json")
    workdir = Path(tempfile.mkdtemp(prefix="obrolan-bench-sweep-"))
    server = _servers.obrolan(workdir)
    server.env["OBROLAN_JOBS_POLL_SECONDS"] = str(POLL_SECONDS)
    server.env["OBROLAN_RETENTION_SWEEP_SECONDS"] = str(QUIET_SWEEP_SECONDS)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        server.start()
        try:
            measured = runner.run(measure(config, server, rate))
        except BaseException:
            print(f"bench: failed; server log kept in {workdir}", file=sys.stderr)
            raise
        finally:
            server.stop()
    shutil.rmtree(workdir, ignore_errors=True)
    result = SweepLoadResult(rate, rate_from, config.rows, **measured)
    for text in report(result):
        print(text)
    print(f"results: {write_json(result)}")
    # As bench.run: a missed target is reported, not an error; nothing acked is.
    return 1 if not (result.without.acked and result.with_sweep.acked) else 0


if __name__ == "__main__":
    sys.exit(main())
