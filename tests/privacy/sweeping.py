"""Running the server's own retention sweep job on a FakeClock, and reading its evidence."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import orjson

from obrolan.clock import FakeClock
from obrolan.jobs import JobState
from obrolan.jobs.rules import period_start
from obrolan.privacy import store as audit_store
from obrolan.privacy.sweep import RUN_ACTION, sweep_key
from tests.jobs.conftest import wait_for_job
from tests.support.server import RunningServer

SWEEP_SECONDS = 60


async def run_next_sweep(server: RunningServer, clock: FakeClock) -> None:
    """Wait until the sweep has queued its run for the next period, then run that one.

    The server must run with retention_sweep_seconds=SWEEP_SECONDS.
    """
    period = timedelta(seconds=SWEEP_SECONDS)
    key = sweep_key(period_start(clock.now(), period) + period)
    server.services.jobs.wake()
    async with asyncio.timeout(10):
        while True:
            job = await server.services.jobs.get_by_key(key)
            if job is not None:
                break
            await asyncio.sleep(0.01)
    clock.advance(SWEEP_SECONDS)
    server.services.jobs.wake()
    await wait_for_job(server, job.id, lambda j: j.state is JobState.DONE)


async def first_sweep_done(server: RunningServer, clock: FakeClock) -> None:
    """Wait for the sweep every server queues, due at once, when it starts."""
    key = sweep_key(period_start(clock.now(), timedelta(seconds=SWEEP_SECONDS)))
    async with asyncio.timeout(10):
        while True:
            job = await server.services.jobs.get_by_key(key)
            if job is not None and job.state is JobState.DONE:
                return
            await asyncio.sleep(0.01)


async def runs(server: RunningServer) -> list[dict[str, Any]]:
    """The detail of every `retention.run` entry in the audit log, oldest first."""
    async with server.services.db.read() as conn:
        return [
            orjson.loads(entry.detail)
            async for entry in audit_store.all_audit_entries(conn)
            if entry.action == RUN_ACTION and entry.actor_role == "system"
        ]


async def removed(server: RunningServer, rule: str) -> dict[str, int]:
    """Rows each table lost to `rule`, over every recorded run.

    Moving the clock past the next run's time lets the worker run it at once, so one
    advance may be swept by more than the run `run_next_sweep` waits for.
    """
    total: dict[str, int] = {}
    for run in await runs(server):
        for table, n in run["rules"].get(rule, {}).get("removed", {}).items():
            total[table] = total.get(table, 0) + n
    return total
