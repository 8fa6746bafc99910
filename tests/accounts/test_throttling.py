"""Sign-in throttling per account and per IP address, on a fake clock (R17)."""

from __future__ import annotations

import httpx

from obrolan.clock import FakeClock
from tests.accounts.conftest import ACCOUNT_LIMIT, IP_LIMIT, WINDOW_SECONDS, MakePerson
from tests.support.factories import PASSWORD, register
from tests.support.server import RunningServer

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
