"""Fixtures for data-request tests: a server on a fake clock that mails to a local SMTP
server, operators, and helpers that run the erasure job when the test says."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from obrolan.clock import FakeClock
from obrolan.jobs import Job, JobState
from obrolan.privacy.erasure import ERASURE_KIND, key_job_key
from obrolan.privacy.requests import EXPORT_KIND
from tests.jobs.conftest import wait_for_job
from tests.support.factories import User
from tests.support.outbound import SmtpServer
from tests.support.server import RunningServer, start_server

PERIOD_SECONDS = 60
HOUR = 3600
DAY = 24 * HOUR


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def exports_failing(privacy_server: RunningServer) -> None:
    """Export jobs fail (and are retried) instead of building: a stand-in for an export
    that cannot finish, so an access request stays open while a test watches its
    deadline. The real export is tested in test_export.py."""

    async def unavailable(_job: Job) -> None:
        raise RuntimeError("exports are unavailable in this test")

    privacy_server.services.job_worker.handle(EXPORT_KIND)(unavailable)


@pytest.fixture
async def privacy_server(
    database_url: str, tmp_path: Path, clock: FakeClock, smtp: SmtpServer
) -> AsyncIterator[RunningServer]:
    """A server on `clock` whose jobs poll often and whose mail reaches `smtp`."""
    running = await start_server(
        database_url,
        tmp_path,
        clock=clock,
        jobs_poll_seconds=0.05,
        retention_sweep_seconds=PERIOD_SECONDS,
        mail_backend="smtp",
        mail_from="obrolan <noreply@obrolan.test>",
        smtp_host="127.0.0.1",
        smtp_port=smtp.port,
        smtp_security="none",
    )
    try:
        yield running
    finally:
        await running.shutdown()


async def open_request(user: User, kind: str, note: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"kind": kind}
    if note is not None:
        body["note"] = note
    resp = await user.http.post("/api/v1/privacy/requests", json=body)
    assert resp.status_code == 201, resp.text
    opened: dict[str, Any] = resp.json()
    return opened


async def _queued_erasure_run(server: RunningServer) -> Job:
    async with asyncio.timeout(10):
        while True:
            queued = [
                j
                for j in await server.services.jobs.list(JobState.QUEUED)
                if j.kind == ERASURE_KIND
            ]
            if queued:
                return min(queued, key=lambda j: j.run_at)
            await asyncio.sleep(0.01)


async def run_erasure(server: RunningServer, clock: FakeClock) -> None:
    """Run the recurring erasure job once more, at the clock's time or its next period."""
    job = await _queued_erasure_run(server)
    if job.run_at > clock.now():
        clock.advance((job.run_at - clock.now()).total_seconds())
    server.services.jobs.wake()
    await wait_for_job(server, job.id, lambda j: j.state is JobState.DONE)


async def finish_erasure(server: RunningServer, clock: FakeClock, user_id: str) -> None:
    """Run the job that destroys the person's key, once its wait for the mail is over."""
    async with asyncio.timeout(10):
        while True:
            job = await server.services.jobs.get_by_key(key_job_key(user_id))
            if job is not None:
                break
            await asyncio.sleep(0.01)
    if job.run_at > clock.now():
        clock.advance((job.run_at - clock.now()).total_seconds())
    server.services.jobs.wake()
    await wait_for_job(server, job.id, lambda j: j.state is JobState.DONE)
