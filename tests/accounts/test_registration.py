"""Registering accounts (F1), and what of a person the database holds in plaintext (R6)."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path
from typing import Any

from sqlalchemy import select

from obrolan.accounts.models import auth_sessions, users
from obrolan.clock import FakeClock
from obrolan.realtime.models import events
from tests.accounts.conftest import MakePerson, count_argon2
from tests.support.factories import PASSWORD, login, register
from tests.support.server import RunningServer, start_server

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


async def test_f1_a_taken_username_is_a_conflict_found_before_any_hashing(
    server: RunningServer,
) -> None:
    await register(server, "sari")
    argon2 = count_argon2(server)
    status, problem = await _post_account(server, username="SARI")
    assert status == 409, problem
    assert problem["field"] == "username"
    assert problem["type"] == "https://obrolan.dev/problems/conflict"
    # R17: argon2 costs memory and a thread; a sign-up that fails anyway spends neither.
    assert argon2.hashes == 0


async def test_r18_signing_up_with_someone_elses_email_or_phone_does_not_tell(
    server: RunningServer,
) -> None:
    sari = await register(server, "sari", email="sari@contoh.id", phone=PHONE_TYPED)
    taken = {"email": "SARI@Contoh.ID", "phone": "+62 812 3456 7890"}
    free = {"email": "rina@contoh.id", "phone": "0813-1111-2222"}
    answers = []
    for username, fields in [("penebak", taken), ("rina", free)]:
        status, account = await _post_account(server, username=username, **fields)
        assert status == 201, account
        answers.append({k: v for k, v in account.items() if k not in ("id", "username")})
    # The same answer either way: each sees the address they entered as their own.
    assert answers[0]["email"] == "sari@contoh.id" and answers[0]["phone"] == PHONE_E164
    assert answers[1]["email"] == "rina@contoh.id" and answers[1]["phone"] == "+6281311112222"
    assert set(answers[0]) == set(answers[1])
    assert answers[0]["totp_enabled"] == answers[1]["totp_enabled"] is False
    # F1: neither holds the address until one of them enters the code sent to it.
    async with server.services.db.read() as conn:
        rows = {
            r.username: r
            for r in await conn.execute(
                select(users.c.username, users.c.email_index, users.c.phone_index)
            )
        }
    for username in ("sari", "penebak"):
        assert rows[username].email_index is None and rows[username].phone_index is None
    assert sari["email"] == "sari@contoh.id"


async def test_r17_sign_ups_are_throttled_per_address(
    database_url: str, tmp_path: Path, clock: FakeClock
) -> None:
    server = await start_server(
        database_url, tmp_path, clock=clock, register_max_per_ip=3, register_window_seconds=3600
    )
    try:
        # Refused before counting: a typo costs nothing.
        assert (await _post_account(server, username="x"))[0] == 422
        for i in range(3):
            assert (await _post_account(server, username=f"orang{i}"))[0] == 201
        status, problem = await _post_account(server, username="orang3")
        assert status == 429 and problem["type"] == "https://obrolan.dev/problems/rate-limited"
        assert problem["retry_after"] == 3600
        # A taken username counts too: every sign-up is tried against the limit.
        assert (await _post_account(server, username="orang0"))[0] == 429
        clock.advance(3600)
        assert (await _post_account(server, username="orang3"))[0] == 201
    finally:
        await server.shutdown()


async def test_r17_sign_ups_hash_within_their_share_of_argon2_slots(
    database_url: str, tmp_path: Path
) -> None:
    # Costly enough that hashes overlap when nothing bounds them.
    server = await start_server(
        database_url,
        tmp_path,
        password_max_concurrent=2,
        password_memory_kib=8 * 1024,
        password_time_cost=2,
    )
    try:
        await register(server, "ani")
        argon2 = count_argon2(server)

        async def sign_in() -> int:
            async with server.http() as http:
                body = {"username": "ani", "password": PASSWORD}
                return (await http.post("/api/v1/sessions", json=body)).status_code

        answers = await asyncio.gather(
            *(_post_account(server, username=f"baru{i}") for i in range(8)),
            *(sign_in() for _ in range(4)),
        )
        assert [a[0] for a in answers[:8]] == [201] * 8
        assert answers[8:] == [201] * 4
        # Sign-ups take at most half the slots, so sign-ins always find one free.
        assert argon2.hashes == 8 and argon2.most_hashes_at_once == 1
        assert argon2.most_at_once <= 2
    finally:
        await server.shutdown()


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
    # Email and phone get their blind index once verified (tests/accounts/test_verification.py).
    assert user_row.email_index is None and user_row.phone_index is None
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
