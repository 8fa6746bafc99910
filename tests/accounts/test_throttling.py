"""Sign-in throttling per account and per IP address, on a fake clock (R17)."""

from __future__ import annotations

import asyncio
import base64
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from obrolan.app import create_app
from obrolan.cli import uvicorn_options
from obrolan.clock import FakeClock
from obrolan.config import Settings
from obrolan.db.migrate import upgrade
from tests.accounts.conftest import ACCOUNT_LIMIT, IP_LIMIT, WINDOW_SECONDS, MakePerson
from tests.support.factories import PASSWORD, register
from tests.support.server import RunningServer, start_server

WRONG = "bukan kata sandi yang benar"


async def _attempt(server: RunningServer, username: str, password: str) -> httpx.Response:
    async with server.http() as http:
        return await http.post(
            "/api/v1/sessions", json={"username": username, "password": password}
        )


async def test_r17_failed_logins_lock_the_account_even_for_the_right_password(
    clocked_server: RunningServer, clock: FakeClock
) -> None:
    await register(clocked_server, "ani")
    for _ in range(ACCOUNT_LIMIT):
        assert (await _attempt(clocked_server, "ani", WRONG)).status_code == 401

    locked = await _attempt(clocked_server, "ani", PASSWORD)
    assert locked.status_code == 429
    assert locked.headers["retry-after"] == str(WINDOW_SECONDS)
    assert locked.json()["type"] == "https://obrolan.dev/problems/rate-limited"
    assert locked.json()["retry_after"] == WINDOW_SECONDS

    clock.advance(WINDOW_SECONDS - 1)
    still = await _attempt(clocked_server, "ani", PASSWORD)
    assert still.status_code == 429 and still.headers["retry-after"] == "1"
    clock.advance(1)
    assert (await _attempt(clocked_server, "ani", PASSWORD)).status_code == 201


async def test_r17_lockout_does_not_tell_whether_the_account_exists(
    clocked_server: RunningServer,
) -> None:
    await register(clocked_server, "ani")
    answers = []
    for username in ["ani", "tidakada"]:
        for _ in range(ACCOUNT_LIMIT):
            assert (await _attempt(clocked_server, username, WRONG)).status_code == 401
        locked = await _attempt(clocked_server, username, PASSWORD)
        assert locked.status_code == 429
        answers.append((locked.json()["detail"], locked.headers["retry-after"]))
    assert answers[0] == answers[1]


async def test_r17_a_successful_login_starts_the_account_count_again(
    clocked_server: RunningServer,
) -> None:
    await register(clocked_server, "ani")
    for _ in range(2):
        for _ in range(ACCOUNT_LIMIT - 1):
            assert (await _attempt(clocked_server, "ani", WRONG)).status_code == 401
        assert (await _attempt(clocked_server, "ani", PASSWORD)).status_code == 201


async def test_r17_failed_logins_from_one_address_are_limited_across_accounts(
    clocked_server: RunningServer, clock: FakeClock
) -> None:
    await register(clocked_server, "ani")
    # One guess at each of many names: no account reaches its limit, the address does.
    for i in range(IP_LIMIT):
        assert (await _attempt(clocked_server, f"tebakan{i}", WRONG)).status_code == 401
    blocked = await _attempt(clocked_server, "ani", PASSWORD)
    assert blocked.status_code == 429
    assert blocked.headers["retry-after"] == str(WINDOW_SECONDS)

    clock.advance(WINDOW_SECONDS)
    assert (await _attempt(clocked_server, "ani", PASSWORD)).status_code == 201


async def test_r17_guessing_the_current_password_with_a_session_is_limited_too(
    clocked_server: RunningServer, person: MakePerson
) -> None:
    ani = await person(clocked_server, "ani")
    change = {"current_password": WRONG, "new_password": "teh manis hangat sore hari"}
    for _ in range(ACCOUNT_LIMIT):
        assert (await ani.http.post("/api/v1/me/password", json=change)).status_code == 403
    change["current_password"] = PASSWORD
    assert (await ani.http.post("/api/v1/me/password", json=change)).status_code == 429


@pytest.fixture
async def proxied_server(
    database_url: str, tmp_path: Path, clock: FakeClock
) -> AsyncIterator[RunningServer]:
    """The clocked server behind a reverse proxy on 127.0.0.1, whose X-Forwarded-For it believes."""
    running = await start_server(
        database_url,
        tmp_path,
        clock=clock,
        login_max_failures_per_account=ACCOUNT_LIMIT,
        login_max_failures_per_ip=IP_LIMIT,
        login_window_seconds=WINDOW_SECONDS,
        trusted_proxies="127.0.0.1",
    )
    try:
        yield running
    finally:
        await running.shutdown()


async def _attempt_from(
    server: RunningServer, address: str, username: str, password: str, **fields: Any
) -> httpx.Response:
    async with server.http() as http:
        return await http.post(
            "/api/v1/sessions",
            json={"username": username, "password": password, **fields},
            headers={"X-Forwarded-For": address},
        )


OWNER_ADDRESS = "203.0.113.5"


async def test_r17_guesses_from_many_addresses_do_not_lock_the_owner_out(
    proxied_server: RunningServer,
) -> None:
    await register(proxied_server, "ani")
    usual = await _attempt_from(proxied_server, OWNER_ADDRESS, "ani", PASSWORD)
    assert usual.status_code == 201
    device_token = usual.json()["device_token"]

    answers = [
        (await _attempt_from(proxied_server, f"198.51.100.{i}", "ani", WRONG)).status_code
        for i in range(ACCOUNT_LIMIT + 2)
    ]
    assert answers == [401] * ACCOUNT_LIMIT + [429] * 2  # devices never seen are locked

    owner = await _attempt_from(
        proxied_server, OWNER_ADDRESS, "ani", PASSWORD, device_token=device_token
    )
    assert owner.status_code == 201, owner.text
    # Without the device token the owner is a device never seen, too.
    assert (await _attempt_from(proxied_server, OWNER_ADDRESS, "ani", PASSWORD)).status_code == 429


async def test_r17_a_known_device_has_its_own_limit(proxied_server: RunningServer) -> None:
    await register(proxied_server, "ani")
    signed_in = await _attempt_from(proxied_server, OWNER_ADDRESS, "ani", PASSWORD)
    device = {"device_token": signed_in.json()["device_token"]}
    for _ in range(ACCOUNT_LIMIT):
        wrong = await _attempt_from(proxied_server, OWNER_ADDRESS, "ani", WRONG, **device)
        assert wrong.status_code == 401
    locked = await _attempt_from(proxied_server, OWNER_ADDRESS, "ani", PASSWORD, **device)
    assert locked.status_code == 429
    # The device's failures did not lock the account for the owner's other devices.
    assert (await _attempt_from(proxied_server, "192.0.2.9", "ani", PASSWORD)).status_code == 201


async def test_r17_an_attacker_at_one_address_is_still_throttled(
    proxied_server: RunningServer,
) -> None:
    await register(proxied_server, "ani")
    await register(proxied_server, "budi")
    # A device token of the attacker's own account does not count for someone else's.
    own = await _attempt_from(proxied_server, "198.51.100.7", "budi", PASSWORD)
    device = {"device_token": own.json()["device_token"]}
    for _ in range(ACCOUNT_LIMIT):
        guess = await _attempt_from(proxied_server, "198.51.100.7", "ani", WRONG, **device)
        assert guess.status_code == 401
    blocked = await _attempt_from(proxied_server, "198.51.100.7", "ani", PASSWORD, **device)
    assert blocked.status_code == 429
    # Nor does a fresh token of that account buy more guesses: the count is ani's.
    again = await _attempt_from(proxied_server, "198.51.100.7", "budi", PASSWORD)
    fresh = {"device_token": again.json()["device_token"]}
    assert fresh != device
    guess = await _attempt_from(proxied_server, "198.51.100.7", "ani", WRONG, **fresh)
    assert guess.status_code == 429
    # Spreading guesses over names is stopped by the address's own limit.
    for i in range(IP_LIMIT - ACCOUNT_LIMIT):
        guess = await _attempt_from(proxied_server, "198.51.100.8", f"nama{i}", WRONG)
        assert guess.status_code == 401
    for i in range(ACCOUNT_LIMIT):
        assert (
            await _attempt_from(proxied_server, "198.51.100.8", f"lain{i}", WRONG)
        ).status_code == 401
    assert (
        await _attempt_from(proxied_server, "198.51.100.8", "budi", PASSWORD)
    ).status_code == 429


async def test_r17_without_trusted_proxies_x_forwarded_for_is_ignored(
    clocked_server: RunningServer,
) -> None:
    await register(clocked_server, "ani")
    # Each guess claims another address; all come from 127.0.0.1 and count there.
    for i in range(IP_LIMIT):
        guess = await _attempt_from(clocked_server, f"198.51.100.{i}", f"tebakan{i}", WRONG)
        assert guess.status_code == 401
    blocked = await _attempt_from(clocked_server, "192.0.2.1", "ani", PASSWORD)
    assert blocked.status_code == 429


async def test_r17_parallel_wrong_guesses_get_exactly_the_limit_through(
    clocked_server: RunningServer,
) -> None:
    await register(clocked_server, "ani")
    async with clocked_server.http() as http:
        answers = await asyncio.gather(
            *(
                http.post("/api/v1/sessions", json={"username": "ani", "password": WRONG})
                for _ in range(30)
            )
        )
    statuses = sorted(a.status_code for a in answers)
    # Each attempt is counted before its password is checked, so none slips past.
    assert statuses == [401] * ACCOUNT_LIMIT + [429] * (30 - ACCOUNT_LIMIT)


async def test_r17_requests_without_a_client_address_are_still_throttled(
    database_url: str, tmp_path: Path, clock: FakeClock
) -> None:
    """A Unix socket gives no client address; the per-address limit must still hold."""
    await upgrade(database_url)
    settings = Settings(
        database_url=database_url,
        data_dir=tmp_path,
        kek=base64.b64encode(os.urandom(32)).decode(),
        log_level="warning",
        password_time_cost=1,
        password_memory_kib=1024,
        password_parallelism=1,
        login_max_failures_per_ip=IP_LIMIT,
    )
    socket_path = tmp_path / "obrolan.sock"
    options = {**uvicorn_options(settings), "loop": "none"}
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings, clock=clock), uds=str(socket_path), **options)
    )
    serving = asyncio.create_task(server.serve())
    try:
        async with asyncio.timeout(10):
            while not server.started:  # uvicorn has no event for it (as tests/support)
                if serving.done():
                    serving.result()  # raises the start-up error
                await asyncio.sleep(0.01)
        transport = httpx.AsyncHTTPTransport(uds=str(socket_path))
        async with httpx.AsyncClient(transport=transport, base_url="http://obrolan") as http:
            for i in range(IP_LIMIT):
                guess = await http.post(
                    "/api/v1/sessions", json={"username": f"tebakan{i}", "password": WRONG}
                )
                assert guess.status_code == 401
            blocked = await http.post(
                "/api/v1/sessions", json={"username": "siapa", "password": WRONG}
            )
        assert blocked.status_code == 429
    finally:
        server.should_exit = True
        await serving
