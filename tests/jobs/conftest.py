"""A server on a FakeClock whose worker polls often, and helpers to watch its jobs."""

from __future__ import annotations

import asyncio
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
