"""R5: the retention sweep keeps logs no longer than the deployment promises, says so in
the data map, runs in bounded batches and leaves evidence of every run."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from obrolan.accounts.models import auth_sessions, login_failures
from obrolan.clock import FakeClock
from obrolan.crypto.keystore import KeyStore
from obrolan.privacy.backups import create_backup, list_backups
from obrolan.services import keystore_location
from tests.privacy.sweeping import (
    SWEEP_SECONDS,
    first_sweep_done,
    removed,
    run_next_sweep,
    runs,
)
from tests.support.cli import obrolan_cli
from tests.support.factories import PASSWORD, login, make_user
from tests.support.server import RunningServer, start_server

DAY = 24 * 3600


async def _count(server: RunningServer, table: object) -> int:
    async with server.services.db.read() as conn:
        return int((await conn.execute(select(func.count()).select_from(table))).scalar_one())


async def _fail_sign_in(server: RunningServer, username: str) -> None:
    """One wrong password: a failure counted per account and per address (two rows)."""
    async with server.http() as http:
        resp = await http.post(
            "/api/v1/sessions", json={"username": username, "password": PASSWORD + "!"}
        )
    assert resp.status_code == 401, resp.text


async def _sweeping_server(
    database_url: str, tmp_path: Path, clock: FakeClock, **overrides: object
) -> RunningServer:
    return await start_server(
        database_url,
        tmp_path,
        clock=clock,
        jobs_poll_seconds=0.05,
        retention_sweep_seconds=SWEEP_SECONDS,
        **overrides,
    )


@pytest.mark.parametrize(("log_days", "kept"), [(365, True), (30, False)])
async def test_r5_a_shorter_log_period_changes_what_the_sweep_deletes_and_the_map_says(
    database_url: str, tmp_path: Path, log_days: int, kept: bool
) -> None:
    """An ended session's row (device, address) is a log of where the account was used:
    kept 90 days after it ends, and never longer than OBROLAN_PRIVACY_LOG_DAYS."""
    clock = FakeClock()
    server = await _sweeping_server(database_url, tmp_path, clock, privacy_log_days=log_days)
    try:
        ana = await make_user(server)
        async with server.http(await login(server, ana.username)) as http:
            assert (await http.delete("/api/v1/sessions/current")).status_code == 204
        await ana.http.get("/api/v1/me")  # the first session stays in use
        clock.advance(40 * DAY)
        await ana.http.get("/api/v1/me")
        await run_next_sweep(server, clock)
        assert await _count(server, auth_sessions) == (2 if kept else 1)
        assert await removed(server, "session") == {"auth_sessions": 0 if kept else 1}

        shown = await obrolan_cli(
            server, "privacy", "map", env={"OBROLAN_PRIVACY_LOG_DAYS": str(log_days)}
        )
        assert shown.returncode == 0, shown.stderr
        text = " ".join(shown.stdout.split())
        assert f"{log_days} days, for security monitoring" in text
        assert f"{log_days} days, as evidence of who did what" in text
        assert f"revoked or expires, then {min(90, log_days)} days" in text
    finally:
        await server.shutdown()


async def test_r5_every_run_records_rows_removed_and_the_oldest_kept(
    database_url: str, tmp_path: Path
) -> None:
    clock = FakeClock()
    server = await _sweeping_server(database_url, tmp_path, clock)
    try:
        ana = await make_user(server)  # a session, and a sign-up counted per address
        await _fail_sign_in(server, ana.username)
        clock.advance(DAY)
        await run_next_sweep(server, clock)

        last = (await runs(server))[-1]
        assert last["dry_run"] is False
        throttle = last["rules"]["throttle"]
        assert await removed(server, "throttle") == {"login_failures": 2, "throttled_actions": 1}
        assert throttle["oldest_seconds"] == {"login_failures": None, "throttled_actions": None}
        assert throttle["removed"] == {"login_failures": 0, "throttled_actions": 0}
        session = last["rules"]["session"]
        assert session["removed"] == {"auth_sessions": 0}
        assert session["oldest_seconds"] == {"auth_sessions": DAY + SWEEP_SECONDS}
        assert set(last["rules"]) >= {"session", "throttle", "verification-code", "jobs"}
        # The evidence is part of the tamper-evident chain.
        assert (await server.services.audit.verify(server.services.db)).ok
    finally:
        await server.shutdown()


async def test_r5_the_sweep_deletes_in_batches_until_nothing_is_left(
    database_url: str, tmp_path: Path
) -> None:
    clock = FakeClock()
    server = await _sweeping_server(database_url, tmp_path, clock, retention_batch_rows=2)
    try:
        ana = await make_user(server)
        for _ in range(3):
            await _fail_sign_in(server, ana.username)
        assert await _count(server, login_failures) == 6
        clock.advance(DAY)
        await run_next_sweep(server, clock)
        assert await _count(server, login_failures) == 0
        assert (await removed(server, "throttle"))["login_failures"] == 6
    finally:
        await server.shutdown()


async def test_r5_privacy_sweep_command_runs_the_sweep_once_and_dry_run_deletes_nothing(
    database_url: str, tmp_path: Path
) -> None:
    # The command runs on the wall clock: the server's rows are a year old by it.
    clock = FakeClock(datetime.now(UTC) - timedelta(days=400))
    server = await _sweeping_server(database_url, tmp_path, clock)
    try:
        ana = await make_user(server)
        await _fail_sign_in(server, ana.username)
        await first_sweep_done(server, clock)
        before = len(await runs(server))

        dry = await obrolan_cli(server, "privacy", "sweep", "--dry-run")
        assert dry.returncode == 0, dry.stderr
        assert "dry run" in dry.stdout
        row = next(line for line in dry.stdout.splitlines() if "login_failures" in line)
        assert row.split()[:3] == ["throttle", "login_failures", "2"]
        assert await _count(server, login_failures) == 2
        assert len(await runs(server)) == before

        done = await obrolan_cli(server, "privacy", "sweep")
        assert done.returncode == 0, done.stderr
        assert await _count(server, login_failures) == 0
        evidence = await runs(server)
        assert evidence[-1]["rules"]["throttle"]["removed"]["login_failures"] == 2
        # By the wall clock the server's own entries are a year old, past the log period:
        # the run pruned them (R5), all but the newest (the chain goes on from it). The
        # server goes on working meanwhile, so which entry was the newest is not fixed;
        # what is: the chain still verifies, and the command's run is its last evidence.
        assert evidence[-1]["rules"]["audit-log"]["removed"]["audit_log"] >= 1
        assert evidence[-1]["dry_run"] is False and len(evidence) <= 2
        assert (await server.services.audit.verify(server.services.db)).ok
    finally:
        await server.shutdown()


def test_privacy_sweep_with_an_unreachable_database_is_one_red_line(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OBROLAN_")}
    env.update(
        OBROLAN_DATA_DIR=str(tmp_path),
        OBROLAN_DATABASE_URL="postgresql+asyncpg://nobody@127.0.0.1:1/none",
    )
    done = subprocess.run(  # noqa: S603
        [str(Path(sys.executable).parent / "obrolan"), "privacy", "sweep", "--dry-run"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert done.stderr.startswith("error: cannot reach the database")
    assert len(done.stderr.strip().splitlines()) == 1


async def test_r5_the_sweep_prunes_the_audit_log_and_backups_past_their_periods(
    database_url: str, tmp_path: Path
) -> None:
    """The log (12 months) and the backups (90 days; key copies sooner, R4) go with the
    rows, in the same run, and the run's evidence counts them."""
    clock = FakeClock()
    server = await _sweeping_server(database_url, tmp_path, clock)
    try:
        await make_user(server)
        await first_sweep_done(server, clock)
        keystore = KeyStore(keystore_location(server.settings))
        try:
            await create_backup(server.settings, keystore, clock.now())
        finally:
            await keystore.dispose()
        assert len(list_backups(server.settings)) == 2

        clock.advance(366 * 86_400)
        report = await server.services.retention_sweep.run_once(clock.now())
        assert report.rules["backup"].removed == {"backups": 2}
        assert list_backups(server.settings) == []
        pruned = report.rules["audit-log"].removed["audit_log"]
        # The sign-up's sign-in at least; the newest entry stays (the chain goes on from it).
        assert pruned >= 1
        # What is left still verifies: the prune left its marker in the chain.
        assert (await server.services.audit.verify(server.services.db)).ok
        assert (await runs(server))[-1]["rules"]["audit-log"]["removed"]["audit_log"] == pruned
    finally:
        await server.shutdown()
