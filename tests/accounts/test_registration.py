"""Registering accounts (F1), and what of a person the database holds in plaintext (R6)."""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import select

from obrolan.accounts.models import auth_sessions, users
from obrolan.realtime.models import events
from tests.accounts.conftest import MakePerson
from tests.support.factories import PASSWORD, login, register
from tests.support.server import RunningServer

EMAIL = "Siti.Nurhaliza@Contoh.CO.ID"
PHONE_TYPED = "0812-3456-7890"
PHONE_E164 = "+6281234567890"
DISPLAY_NAME = "Siti Nurhaliza Binti Tarudin"
DEVICE_NAME = "Ponsel Siti yang Merah"
USER_AGENT = "SitiBrowser/7.1 (Android 14; Pixel Siti)"


async def _post_account(server: RunningServer, **fields: Any) -> tuple[int, dict[str, Any]]:
    body = {"username": "sari", "password": PASSWORD, "display_name": "Sari", **fields}
    async with server.http() as http:
        resp = await http.post("/api/v1/accounts", json=body)
    return resp.status_code, resp.json()


async def test_f1_register_normalises_username_email_and_phone(server: RunningServer) -> None:
    status, account = await _post_account(
        server, username="Siti.N", display_name=f"  {DISPLAY_NAME} ", email=EMAIL, phone=PHONE_TYPED
    )
    assert status == 201, account
    assert account["username"] == "siti.n"
    assert account["display_name"] == DISPLAY_NAME
    assert account["email"] == EMAIL.lower()
    assert account["phone"] == PHONE_E164
    assert account["totp_enabled"] is False
    assert len(account["id"]) == 26
    # The name is stored lowercase, so signing in with any case finds the account.
    assert await login(server, "SITI.N")


async def test_f1_invalid_registrations_name_the_failing_field(server: RunningServer) -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({"username": "ab"}, "username"),
        ({"username": "sari wulan"}, "username"),
        ({"username": "s" * 33}, "username"),
        ({"password": "pendek"}, "password"),
        ({"password": "x" * 201}, "password"),
        ({"username": "sariwulan1", "password": "SariWulan1"}, "password"),
        ({"password": "qwertyuiop"}, "password"),
        ({"display_name": "   "}, "display_name"),
        ({"display_name": "x" * 65}, "display_name"),
        ({"email": "bukan-email"}, "email"),
        ({"phone": "12345"}, "phone"),
        ({"phone": "0" * 33}, "phone"),
        ({"is_admin": True}, "is_admin"),  # no one makes themselves an admin
    ]
    for fields, field in cases:
        status, problem = await _post_account(server, **fields)
        assert status == 422, (fields, problem)
        assert problem["field"] == field, (fields, problem)
        assert problem["type"] == "https://obrolan.dev/problems/invalid"


async def test_f1_taken_username_email_or_phone_is_a_conflict(server: RunningServer) -> None:
    await register(server, "sari", email="sari@contoh.id", phone=PHONE_TYPED)
    cases: list[tuple[dict[str, Any], str]] = [
        ({"username": "SARI"}, "username"),
        ({"username": "sari2", "email": "SARI@Contoh.ID"}, "email"),
        ({"username": "sari3", "phone": "+62 812 3456 7890"}, "phone"),
    ]
    for fields, field in cases:
        status, problem = await _post_account(server, **fields)
        assert status == 409, (fields, problem)
        assert problem["field"] == field
        assert problem["type"] == "https://obrolan.dev/problems/conflict"


async def test_r6_personal_fields_and_tokens_are_not_stored_in_plaintext(
    server: RunningServer, person: MakePerson
) -> None:
    siti = await person(server, "siti", display_name=DISPLAY_NAME, email=EMAIL, phone=PHONE_TYPED)
    async with server.http() as http:
        resp = await http.post(
            "/api/v1/sessions",
            json={"username": "siti", "password": PASSWORD, "device_name": DEVICE_NAME},
            headers={"User-Agent": USER_AGENT},
        )
    assert resp.status_code == 201
    token = resp.json()["token"]

    async with server.services.db.read() as conn:
        user_row = (await conn.execute(select(users).where(users.c.id == siti.id))).one()
        session_rows = (
            await conn.execute(select(auth_sessions).where(auth_sessions.c.user_id == siti.id))
        ).all()
        event_rows = (await conn.execute(select(events))).all()
    stored = b"\x00".join(
        _as_bytes(value) for row in [user_row, *session_rows, *event_rows] for value in row
    )
    for secret in [
        DISPLAY_NAME,
        EMAIL,
        EMAIL.lower(),
        PHONE_E164,
        PHONE_E164[1:],
        "81234567890",
        DEVICE_NAME,
        USER_AGENT,
        PASSWORD,
        token,
        siti.token,
    ]:
        assert secret.encode() not in stored, secret
    # Only what is needed to find a person or a token again: keyed or one-way hashes.
    keyring = server.services.keyring
    assert user_row.email_index == keyring.blind_index("email", EMAIL.lower())
    assert user_row.phone_index == keyring.blind_index("phone", PHONE_E164)
    assert user_row.password_hash.startswith("$argon2id$")
    assert hashlib.sha256(token.encode()).digest() in {r.token_hash for r in session_rows}
    # The server itself still reads them back to the person.
    me = (await siti.http.get("/api/v1/me")).json()
    assert (me["display_name"], me["email"], me["phone"]) == (
        DISPLAY_NAME,
        EMAIL.lower(),
        PHONE_E164,
    )


def _as_bytes(value: object) -> bytes:
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    return str(value).encode()
