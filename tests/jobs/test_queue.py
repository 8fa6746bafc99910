"""Enqueueing in the caller's transaction, retries with backoff, dead jobs, the CLI, metrics."""

from __future__ import annotations

from datetime import timedelta

import pytest

from obrolan.clock import FakeClock
from obrolan.ids import new_id
from obrolan.jobs import Job, JobState
from tests.jobs.conftest import wait_for_job
from tests.support.cli import obrolan_cli
from tests.support.server import RunningServer


async def _enqueue(server: RunningServer, kind: str, **options: object) -> str:
    services = server.services
    key = f"{kind}:{new_id()}"
    async with services.stream.transaction() as tx:
        await services.jobs.enqueue(tx, kind, {"room_id": "r1"}, key=key, **options)
    job = await services.jobs.get_by_key(key)
    assert job is not None
    return str(job.id)


def _row(listing: str, job_id: str) -> str:
    return next(line for line in listing.splitlines() if job_id in line)


async def test_job_failing_three_times_then_succeeding_runs_once_to_success(
    jobs_server: RunningServer, clock: FakeClock
) -> None:
    attempts_seen: list[int] = []
    successes: list[str] = []

    @jobs_server.services.job_worker.handle("test.flaky")
    async def flaky(job: Job) -> None:
        attempts_seen.append(job.attempts)
        if len(attempts_seen) <= 3:
            raise RuntimeError("the remote side is down")
        successes.append(job.id)

    job_id = await _enqueue(jobs_server, "test.flaky")
    for attempt in (1, 2, 3):
        failed = await wait_for_job(
            jobs_server, job_id, lambda j, n=attempt: j.state is JobState.FAILED and j.attempts == n
        )
        # Equal jitter: between half and all of 2 s, 4 s, 8 s.
        delay = (failed.run_at - clock.now()).total_seconds()
        full = 2.0 * 2 ** (attempt - 1)
        assert full / 2 <= delay <= full
        if attempt == 3:
            listing = await obrolan_cli(jobs_server, "jobs", "list")
            assert listing.returncode == 0, listing.stderr
            row = _row(listing.stdout, job_id)
            assert "failed" in row and "3/10" in row and "RuntimeError" in row
            assert f"{failed.run_at:%Y-%m-%d %H:%M:%S}" in row
            # The error's message is not kept: it could hold personal data.
            assert "remote side" not in listing.stdout
        clock.advance(delay)
        jobs_server.services.jobs.wake()

    done = await wait_for_job(jobs_server, job_id, lambda j: j.state is JobState.DONE)
    assert successes == [job_id]
    assert attempts_seen == [1, 2, 3, 4]
    assert done.attempts == 4 and done.last_error is None
    listing = await obrolan_cli(jobs_server, "jobs", "list", "--state", "done")
    assert "4/10" in _row(listing.stdout, job_id)


async def test_same_idempotency_key_queues_one_job_and_rollback_queues_none(
    jobs_server: RunningServer,
) -> None:
    services = jobs_server.services
    async with services.stream.transaction() as tx:
        assert await services.jobs.enqueue(tx, "test.nobody", {"user_id": "u1"}, key="once")
    async with services.stream.transaction() as tx:
        assert not await services.jobs.enqueue(tx, "test.nobody", {"user_id": "u1"}, key="once")
    assert [j.kind for j in await services.jobs.list()].count("test.nobody") == 1

    with pytest.raises(RuntimeError):
        async with services.stream.transaction() as tx:
            await services.jobs.enqueue(tx, "test.nobody", {}, key="rolled-back")
            raise RuntimeError("the change that caused the job failed")
    assert await services.jobs.get_by_key("rolled-back") is None


async def test_raising_handler_does_not_stop_the_worker_and_old_job_dies(
    jobs_server: RunningServer, clock: FakeClock
) -> None:
    worker = jobs_server.services.job_worker
    ran: list[str] = []

    @worker.handle("test.broken")
    async def broken(job: Job) -> None:
        raise ValueError("never works")

    @worker.handle("test.fine")
    async def fine(job: Job) -> None:
        ran.append(job.id)

    broken_id = await _enqueue(jobs_server, "test.broken", max_age=timedelta(minutes=5))
    await wait_for_job(jobs_server, broken_id, lambda j: j.state is JobState.FAILED)
    fine_id = await _enqueue(jobs_server, "test.fine")
    await wait_for_job(jobs_server, fine_id, lambda j: j.state is JobState.DONE)
    assert ran == [fine_id]

    # Past its maximum age, the next failure is the last: the job is dead, kept, listed.
    clock.advance(10 * 60)
    jobs_server.services.jobs.wake()
    dead = await wait_for_job(jobs_server, broken_id, lambda j: j.state is JobState.DEAD)
    assert dead.attempts == 2 and dead.last_error == "ValueError"
    listing = await obrolan_cli(jobs_server, "jobs", "list", "--state", "dead")
    assert listing.returncode == 0, listing.stderr
    assert "ValueError" in _row(listing.stdout, broken_id)
    assert fine_id not in listing.stdout

    # An operator puts it back (nothing handles it now, so it stays queued).
    del worker.handlers["test.broken"]
    retried = await obrolan_cli(jobs_server, "jobs", "retry", broken_id)
    assert retried.returncode == 0, retried.stderr
    job = await jobs_server.services.jobs.get(broken_id)
    assert job.state is JobState.QUEUED and job.attempts == 0
    cancelled = await obrolan_cli(jobs_server, "jobs", "cancel", broken_id)
    assert cancelled.returncode == 0, cancelled.stderr
    assert (await jobs_server.services.jobs.get(broken_id)).state is JobState.CANCELLED
    again = await obrolan_cli(jobs_server, "jobs", "cancel", broken_id)
    assert again.returncode == 1 and again.stderr.startswith("error: ")


async def test_metrics_show_jobs_per_state_and_oldest_due_age(
    jobs_server: RunningServer, clock: FakeClock
) -> None:
    worker = jobs_server.services.job_worker

    @worker.handle("test.doomed")
    async def doomed(job: Job) -> None:
        raise ValueError("never works")

    dead_id = await _enqueue(jobs_server, "test.doomed", max_attempts=1)
    await wait_for_job(jobs_server, dead_id, lambda j: j.state is JobState.DEAD)
    # Nothing handles these here: they wait, and the oldest has waited 90 s.
    await _enqueue(jobs_server, "test.waiting")
    clock.advance(60)
    await _enqueue(jobs_server, "test.waiting")
    clock.advance(30)

    async with jobs_server.http() as http:
        text = (await http.get("/metrics")).text
    # The two waiting ones, and the next runs of the retention sweep, the audit checkpoint
    # and the erasure.
    assert 'obrolan_jobs{state="queued"} 5.0' in text
    assert 'obrolan_jobs{state="dead"} 1.0' in text
    assert 'obrolan_jobs{state="running"} 0.0' in text
    assert 'obrolan_jobs{state="failed"} 0.0' in text
    assert "obrolan_jobs_oldest_due_age_seconds 90.0" in text
