"""A server on a FakeClock whose worker polls often, and helpers to watch its jobs."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from obrolan.clock import FakeClock
from obrolan.jobs import Job
from tests.support.server import RunningServer, start_server

POLL_SECONDS = 0.05


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def jobs_server(
    database_url: str, tmp_path: Path, clock: FakeClock
) -> AsyncIterator[RunningServer]:
    running = await start_server(
        database_url, tmp_path, clock=clock, jobs_poll_seconds=POLL_SECONDS
    )
    try:
        yield running
    finally:
        await running.shutdown()


async def wait_for_job(
    server: RunningServer, job_id: str, condition: Callable[[Job], bool], timeout: float = 10
) -> Job:
    """The job once `condition` holds, polled every few milliseconds; fails after `timeout`."""
    async with asyncio.timeout(timeout):
        while True:
            job: Job = await server.services.jobs.get(job_id)
            if condition(job):
                return job
            await asyncio.sleep(0.01)


def run_cli(server: RunningServer, *args: str) -> subprocess.CompletedProcess[str]:
    """`obrolan ARGS` as a separate process, on the server's database and key."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OBROLAN_")}
    env.update(
        OBROLAN_DATABASE_URL=server.settings.resolved_database_url,
        OBROLAN_KEK=server.settings.kek,
        OBROLAN_DATA_DIR=str(server.settings.data_dir),
        COLUMNS="200",
    )
    command = [str(Path(sys.executable).parent / "obrolan"), *args]
    return subprocess.run(  # noqa: S603
        command, env=env, capture_output=True, text=True, timeout=60, check=False
    )
