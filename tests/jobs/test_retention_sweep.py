"""R17: the retention sweep deletes ended sessions and old throttle rows, and keeps live ones."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select

from obrolan.accounts.models import auth_sessions, login_failures, throttled_actions
from obrolan.clock import FakeClock
from obrolan.jobs import JobState
from obrolan.jobs.rules import period_start
from obrolan.privacy.sweep import sweep_key
from tests.jobs.conftest import wait_for_job
from tests.support.factories import PASSWORD, login, make_user
from tests.support.server import RunningServer, start_server

SWEEP_SECONDS = 60
DAY = 24 * 3600


async def _rows(server: RunningServer) -> dict[str, int]:
    async with server.services.db.read() as conn:
        return {
            table.name: int(
                (await conn.execute(select(func.count()).select_from(table))).scalar_one()
            )
            for table in (auth_sessions, login_failures, throttled_actions)
        }


async def _next_sweep_done(server: RunningServer, clock: FakeClock) -> None:
    """Wait until the sweep has queued its run for the next period, then run that one."""
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


async def _revoke(server: RunningServer, token: str) -> None:
    async with server.http(token) as http:
        assert (await http.delete("/api/v1/sessions/current")).status_code == 204


async def _fail_sign_in(server: RunningServer, username: str) -> None:
    async with server.http() as http:
        resp = await http.post(
            "/api/v1/sessions", json={"username": username, "password": PASSWORD + "!"}
        )
    assert resp.status_code == 401, resp.text


async def test_r17_retention_sweep_removes_expired_sessions_and_old_failures(
    database_url: str, tmp_path: Path, clock: FakeClock
) -> None:
    server = await start_server(
        database_url,
        tmp_path,
        clock=clock,
        jobs_poll_seconds=0.05,
        retention_sweep_seconds=SWEEP_SECONDS,
    )
    try:
        ana = await make_user(server)  # a sign-up (a throttled action) and a session
        await login(server, ana.username)  # a session never used again: it expires
        await _revoke(server, await login(server, ana.username))
        await _fail_sign_in(server, ana.username)  # counted per account and per address
        assert await _rows(server) == {
            "auth_sessions": 3,
            "login_failures": 2,
            "throttled_actions": 1,
        }

        # Day 95: the session revoked on day 0 is past its 90 days; the unused ones
        # expired (30 days idle) only 65 days ago and stay. The failures, the sign-up
        # and their counting windows are long past.
        clock.advance(95 * DAY)
        await _next_sweep_done(server, clock)
        assert await _rows(server) == {
            "auth_sessions": 2,
            "login_failures": 0,
            "throttled_actions": 0,
        }

        # Day 125: the unused sessions' 90 days after expiring have passed; the session
        # revoked on day 95, the live one and the failures inside the window stay.
        await _revoke(server, await login(server, ana.username))
        clock.advance(30 * DAY)
        await _next_sweep_done(server, clock)
        fresh = await login(server, ana.username)
        await _fail_sign_in(server, ana.username)
        await _next_sweep_done(server, clock)
        assert await _rows(server) == {
            "auth_sessions": 2,
            "login_failures": 2,
            "throttled_actions": 0,
        }
        async with server.http(fresh) as http:
            assert (await http.get("/api/v1/me")).status_code == 200
    finally:
        await server.shutdown()
