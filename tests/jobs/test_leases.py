"""Leases: a job whose worker dies mid-run runs again once its lease runs out, exactly once;
a job that starts late in its batch has a whole lease of its own."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from datetime import timedelta
from pathlib import Path

from obrolan.clock import FakeClock
from obrolan.jobs import Job, JobState, Worker
from tests.jobs.claim_and_block import LEASE
from tests.jobs.conftest import wait_for_job
from tests.support.server import RunningServer

SCRIPT = Path(__file__).with_name("claim_and_block.py")


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


async def _wait_for_lines(path: Path, count: int, timeout: float = 30) -> list[str]:
    async with asyncio.timeout(timeout):
        while True:
            lines = await asyncio.to_thread(_lines, path)
            if len(lines) >= count:
                return lines
            await asyncio.sleep(0.02)


async def test_job_of_killed_worker_runs_again_after_its_lease_exactly_once(
    jobs_server: RunningServer, clock: FakeClock, tmp_path: Path
) -> None:
    services = jobs_server.services
    runs = tmp_path / "runs.txt"
    async with services.stream.transaction() as tx:
        await services.jobs.enqueue(tx, "test.block", {"room_id": "r1"}, key="block-1")
    job = await services.jobs.get_by_key("block-1")
    assert job is not None

    env = {k: v for k, v in os.environ.items() if not k.startswith("OBROLAN_")}
    env.update(
        OBROLAN_DATABASE_URL=jobs_server.settings.resolved_database_url,
        OBROLAN_KEK=jobs_server.settings.kek,
        OBROLAN_DATA_DIR=str(tmp_path),
        TEST_NOW=clock.now().isoformat(),
    )
    process = await asyncio.create_subprocess_exec(sys.executable, str(SCRIPT), str(runs), env=env)
    try:
        await _wait_for_lines(runs, 1)
    finally:
        process.send_signal(signal.SIGKILL)
        await asyncio.wait_for(process.wait(), 10)
    claimed = await services.jobs.get(job.id)
    assert claimed.state is JobState.RUNNING and claimed.attempts == 1

    @services.job_worker.handle("test.block")
    async def survive(job: Job) -> None:
        with runs.open("a") as out:
            out.write(f"{job.id} survivor\n")

    # Still the dead worker's while its lease lasts.
    assert await services.job_worker.run_due() == 0
    clock.advance(LEASE.total_seconds())
    services.jobs.wake()
    done = await wait_for_job(jobs_server, job.id, lambda j: j.state is JobState.DONE)

    assert done.attempts == 2
    assert await asyncio.to_thread(_lines, runs) == [f"{job.id} doomed", f"{job.id} survivor"]


async def test_job_late_in_a_claimed_batch_gets_a_whole_lease_and_runs_once(
    jobs_server: RunningServer, clock: FakeClock
) -> None:
    # Two jobs claimed together, each finishing well within the lease: the second starts
    # late, so if its lease still counted from the claim it would run out mid-run and
    # another node would run it a second time.
    services = jobs_server.services
    lease = timedelta(seconds=60)
    first = Worker(services.jobs, poll_seconds=60, lease=lease, batch=2, name="first")
    other = Worker(services.jobs, poll_seconds=60, lease=lease, batch=2, name="other")
    runs: list[tuple[str, str]] = []

    @first.handle("test.slow")
    async def slow(job: Job) -> None:
        runs.append((job.payload["step"], "first"))
        clock.advance(40)
        if job.payload["step"] == "second":
            # 80 s after the claim, 40 s into this job's own run: another node looks.
            await other.run_due()

    @other.handle("test.slow")
    async def elsewhere(job: Job) -> None:
        runs.append((job.payload["step"], "other"))

    async with services.stream.transaction() as tx:
        await services.jobs.enqueue(tx, "test.slow", {"step": "first"}, key="slow-1")
    clock.advance(0.001)  # claimed oldest first
    async with services.stream.transaction() as tx:
        await services.jobs.enqueue(tx, "test.slow", {"step": "second"}, key="slow-2")

    assert await first.run_due() == 2

    assert runs == [("first", "first"), ("second", "first")]
    for key in ("slow-1", "slow-2"):
        job = await services.jobs.get_by_key(key)
        assert job is not None and job.state is JobState.DONE and job.attempts == 1
