"""Optional two-step sign-in with an authenticator app (TOTP) (R17)."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pyotp
from sqlalchemy import select

from obrolan.accounts.models import users
from obrolan.clock import FakeClock
from tests.accounts.conftest import ACCOUNT_LIMIT, MakePerson
from tests.support.factories import PASSWORD, User
from tests.support.server import RunningServer


async def _sign_in(server: RunningServer, **fields: Any) -> httpx.Response:
    async with server.http() as http:
        return await http.post(
            "/api/v1/sessions", json={"username": "ani", "password": PASSWORD, **fields}
        )


async def _turn_on(ani: User, clock: FakeClock) -> pyotp.TOTP:
    setup = (await ani.http.post("/api/v1/me/totp")).json()
    totp = pyotp.TOTP(setup["secret"])
    confirmed = await ani.http.post("/api/v1/me/totp/confirm", json={"code": totp.at(clock.now())})
    assert confirmed.status_code == 200, confirmed.text
    return totp


def _slug(resp: httpx.Response) -> str:
    return str(resp.json()["type"]).rsplit("/", 1)[-1]


async def test_r17_totp_is_required_only_once_confirmed(
    clocked_server: RunningServer, clock: FakeClock, person: MakePerson
) -> None:
    ani = await person(clocked_server, "ani")
    setup = await ani.http.post("/api/v1/me/totp")
    assert setup.status_code == 201
    secret = setup.json()["secret"]
    uri = urlparse(setup.json()["otpauth_uri"])
    assert (uri.scheme, uri.netloc) == ("otpauth", "totp")
    assert parse_qs(uri.query)["issuer"] == ["obrolan"] and "ani" in uri.path
    # Pending: not yet asked for at sign-in, and stored sealed (R6).
    assert (await ani.http.get("/api/v1/me")).json()["totp_enabled"] is False
    assert (await _sign_in(clocked_server)).status_code == 201
    async with clocked_server.services.db.read() as conn:
        sealed = (
            await conn.execute(select(users.c.totp_secret_enc).where(users.c.id == ani.id))
        ).scalar_one()
    assert secret.encode() not in sealed

    totp = pyotp.TOTP(secret)
    wrong = await ani.http.post("/api/v1/me/totp/confirm", json={"code": "000000"})
    assert wrong.status_code == 422 and _slug(wrong) == "totp-invalid"
    assert wrong.json()["field"] == "code"
    confirmed = await ani.http.post("/api/v1/me/totp/confirm", json={"code": totp.at(clock.now())})
    assert confirmed.status_code == 200 and confirmed.json()["totp_enabled"] is True

    missing = await _sign_in(clocked_server)
    assert missing.status_code == 401 and _slug(missing) == "totp-required"
    wrong_code = await _sign_in(clocked_server, totp_code="000000")
    assert wrong_code.status_code == 401 and _slug(wrong_code) == "totp-invalid"
    assert (await _sign_in(clocked_server, totp_code=totp.at(clock.now()))).status_code == 201
    # A wrong password with a right code says nothing about the code.
    async with clocked_server.http() as http:
        bad = await http.post(
            "/api/v1/sessions",
            json={"username": "ani", "password": "salah salah salah", "totp_code": totp.now()},
        )
    assert bad.status_code == 401 and _slug(bad) == "invalid-credentials"


async def test_r17_turning_totp_off_needs_a_current_code(
    clocked_server: RunningServer, clock: FakeClock, person: MakePerson
) -> None:
    ani = await person(clocked_server, "ani")
    totp = await _turn_on(ani, clock)
    assert (await ani.http.post("/api/v1/me/totp")).status_code == 409

    wrong = await ani.http.request("DELETE", "/api/v1/me/totp", json={"code": "123456"})
    assert wrong.status_code == 422 and _slug(wrong) == "totp-invalid"
    assert (await _sign_in(clocked_server)).status_code == 401

    off = await ani.http.request("DELETE", "/api/v1/me/totp", json={"code": totp.at(clock.now())})
    assert off.status_code == 204
    assert (await ani.http.get("/api/v1/me")).json()["totp_enabled"] is False
    assert (await _sign_in(clocked_server)).status_code == 201
    again = await ani.http.request("DELETE", "/api/v1/me/totp", json={"code": "123456"})
    assert again.status_code == 409


async def test_r17_wrong_totp_codes_count_as_failed_sign_ins(
    clocked_server: RunningServer, clock: FakeClock, person: MakePerson
) -> None:
    ani = await person(clocked_server, "ani")
    totp = await _turn_on(ani, clock)
    for _ in range(ACCOUNT_LIMIT):
        assert (await _sign_in(clocked_server, totp_code="000000")).status_code == 401
    locked = await _sign_in(clocked_server, totp_code=totp.at(clock.now()))
    assert locked.status_code == 429
