"""My profile, and what others see of it (F1, R8)."""

from __future__ import annotations

from sqlalchemy import select

from obrolan.accounts.models import users
from obrolan.clock import FakeClock
from tests.accounts.conftest import MakePerson
from tests.support.factories import register
from tests.support.outbound import SmsGatewayStandIn, SmtpServer
from tests.support.server import RunningServer


async def test_f1_me_shows_my_own_fields(server: RunningServer, person: MakePerson) -> None:
    ani = await person(server, "ani", email="ani@contoh.id", phone="0812 3456 7890")
    me = (await ani.http.get("/api/v1/me")).json()
    assert me == {
        "id": ani.id,
        "username": "ani",
        "display_name": "Ani",
        "email": "ani@contoh.id",
        "phone": "+6281234567890",
        "totp_enabled": False,
        "is_admin": False,
        "created_at": me["created_at"],
        "gender": None,
        "date_of_birth": None,
        "bio": None,
        "language": "id",
        "photo": False,
        "visibility": {
            "photo": "everyone",
            "gender": "nobody",
            "date_of_birth": "nobody",
            "bio": "everyone",
        },
        "email_verified": False,
        "phone_verified": False,
    }


async def test_r8_profile_fields_can_be_changed_and_removed(
    mailing_server: RunningServer,
    smtp: SmtpServer,
    sms_gateway: SmsGatewayStandIn,
    person: MakePerson,
) -> None:
    server = mailing_server
    ani = await person(server, "ani", email="ani@contoh.id")

    async def indexes() -> tuple[bytes | None, bytes | None]:
        async with server.services.db.read() as conn:
            row = (
                await conn.execute(
                    select(users.c.email_index, users.c.phone_index).where(users.c.id == ani.id)
                )
            ).one()
        return row.email_index, row.phone_index

    keyring = server.services.keyring
    verified = await ani.http.post("/api/v1/me/email/verify", json={"code": await smtp.code(1)})
    assert verified.status_code == 200 and verified.json()["email_verified"], verified.text
    assert await indexes() == (keyring.blind_index("email", "ani@contoh.id"), None)
    changed = await ani.http.patch(
        "/api/v1/me",
        json={
            "display_name": "Ani Rahayu",
            "email": "ANI.R@Contoh.id",
            "phone": "+62 811-111-1111",
        },
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["display_name"] == "Ani Rahayu"
    assert changed.json()["email"] == "ani.r@contoh.id"
    assert changed.json()["phone"] == "+628111111111"
    code = await sms_gateway.code(1)
    verified = await ani.http.post("/api/v1/me/phone/verify", json={"code": code})
    assert verified.status_code == 200 and verified.json()["phone_verified"], verified.text

    assert await indexes() == (None, keyring.blind_index("phone", "+628111111111"))

    # Fields not sent stay; null removes email or phone.
    removed = (await ani.http.patch("/api/v1/me", json={"phone": None})).json()
    assert removed["phone"] is None
    assert removed["email"] == "ani.r@contoh.id" and removed["display_name"] == "Ani Rahayu"
    assert (await ani.http.get("/api/v1/me")).json() == removed

    # The blind indexes follow: the old verified email and the removed verified phone no
    # longer find Ani, and the new email finds no one until Ani confirms it with its code (F1).
    assert await indexes() == (None, None)


async def test_f1_profile_update_refuses_bad_fields(
    server: RunningServer, person: MakePerson
) -> None:
    ani = await person(server, "ani")
    cases = [
        ({"display_name": None}, None),
        ({"display_name": " "}, "display_name"),
        ({"phone": "nomor saya"}, "phone"),
        ({"email": "bukan-email"}, "email"),
        ({"username": "anibaru"}, "username"),
    ]
    for body, field in cases:
        resp = await ani.http.patch("/api/v1/me", json=body)
        assert resp.status_code == 422, (body, resp.text)
        if field:
            assert resp.json()["field"] == field
    # Setting my own email again changes nothing and keeps it mine.
    await ani.http.patch("/api/v1/me", json={"email": "ani@contoh.id"})
    assert (await ani.http.patch("/api/v1/me", json={"email": "ani@contoh.id"})).status_code == 200


async def test_r18_setting_someone_elses_phone_answers_as_for_a_free_one(
    server: RunningServer, person: MakePerson
) -> None:
    ani, budi = await person(server, "ani"), await person(server, "budi")
    await register(server, "citra", email="citra@contoh.id", phone="081311112222")
    taken = await ani.http.patch("/api/v1/me", json={"phone": "+62 813-1111-2222"})
    free = await budi.http.patch("/api/v1/me", json={"phone": "+62 813-9999-0000"})
    assert taken.status_code == free.status_code == 200, taken.text
    assert taken.headers["content-type"] == free.headers["content-type"]
    assert taken.json()["phone"] == "+6281311112222"
    assert free.json()["phone"] == "+6281399990000"
    assert set(taken.json()) == set(free.json())
    assert (await ani.http.get("/api/v1/me")).json()["phone"] == "+6281311112222"
    # F1: an unverified number is held by no one; the code sent to it decides
    # (tests/accounts/test_verification.py).
    index = server.services.keyring.blind_index("phone", "+6281311112222")
    async with server.services.db.read() as conn:
        holders = (
            await conn.execute(select(users.c.username).where(users.c.phone_index == index))
        ).scalars()
        assert list(holders) == []


async def test_r18_email_and_phone_changes_are_throttled_per_account_and_address(
    clocked_server: RunningServer, clock: FakeClock, person: MakePerson
) -> None:
    settings = clocked_server.settings
    per_account = settings.address_changes_max_per_account
    per_ip = settings.address_changes_max_per_ip
    window = settings.address_changes_window_seconds
    people = [await person(clocked_server) for _ in range(per_ip // per_account + 1)]
    first = people[0]
    for i in range(per_account):
        changed = await first.http.patch("/api/v1/me", json={"email": f"coba{i}@contoh.id"})
        assert changed.status_code == 200, changed.text
    refused = await first.http.patch("/api/v1/me", json={"email": "lagi@contoh.id"})
    assert refused.status_code == 429 and refused.headers["retry-after"] == str(window)
    # Other changes and removing an address stay possible (R8).
    assert (await first.http.patch("/api/v1/me", json={"display_name": "Baru"})).status_code == 200
    assert (await first.http.patch("/api/v1/me", json={"email": None})).status_code == 200

    # The address counts across accounts: probing with many accounts is limited too.
    tried = per_account
    for other in people[1:]:
        for i in range(min(per_account, per_ip - tried)):
            resp = await other.http.patch("/api/v1/me", json={"phone": f"+62812000{i:05d}"})
            assert resp.status_code == 200, resp.text
            tried += 1
    last = people[-1]
    assert (await last.http.patch("/api/v1/me", json={"email": "x@contoh.id"})).status_code == 429
    clock.advance(window)
    assert (await first.http.patch("/api/v1/me", json={"email": "x@contoh.id"})).status_code == 200


async def test_f1_others_see_only_the_public_profile(
    server: RunningServer, person: MakePerson
) -> None:
    ani = await person(server, "ani", email="ani@contoh.id", phone="081234567890")
    budi = await person(server, "budi")
    public = {"id": ani.id, "username": "ani", "display_name": "Ani"}

    by_id = await budi.http.get(f"/api/v1/users/{ani.id}")
    assert by_id.status_code == 200 and by_id.json() == public
    by_name = await budi.http.get("/api/v1/users", params={"username": "ANI"})
    assert by_name.status_code == 200 and by_name.json() == public

    assert (await budi.http.get("/api/v1/users/01aaaaaaaaaaaaaaaaaaaaaaaa")).status_code == 404
    assert (await budi.http.get("/api/v1/users", params={"username": "tiada"})).status_code == 404
    async with server.http() as anonymous:
        assert (await anonymous.get(f"/api/v1/users/{ani.id}")).status_code == 401
