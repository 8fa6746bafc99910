"""My profile, and what others see of it (F1, R8)."""

from __future__ import annotations

from tests.accounts.conftest import MakePerson
from tests.support.factories import register
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
    }


async def test_r8_profile_fields_can_be_changed_and_removed(
    server: RunningServer, person: MakePerson
) -> None:
    ani = await person(server, "ani", email="ani@contoh.id")
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

    # Fields not sent stay; null removes email or phone.
    removed = (await ani.http.patch("/api/v1/me", json={"phone": None})).json()
    assert removed["phone"] is None
    assert removed["email"] == "ani.r@contoh.id" and removed["display_name"] == "Ani Rahayu"
    assert (await ani.http.get("/api/v1/me")).json() == removed

    # The old email is free again: its blind index went with it.
    await register(server, "budi", email="ani@contoh.id")


async def test_f1_profile_update_refuses_taken_contacts_and_bad_fields(
    server: RunningServer, person: MakePerson
) -> None:
    ani = await person(server, "ani")
    await register(server, "budi", email="budi@contoh.id", phone="081311112222")
    cases = [
        ({"email": "Budi@Contoh.ID"}, 409, "email"),
        ({"phone": "+62 813-1111-2222"}, 409, "phone"),
        ({"display_name": None}, 422, None),
        ({"display_name": " "}, 422, "display_name"),
        ({"phone": "nomor saya"}, 422, "phone"),
        ({"username": "anibaru"}, 422, "username"),
    ]
    for body, status, field in cases:
        resp = await ani.http.patch("/api/v1/me", json=body)
        assert resp.status_code == status, (body, resp.text)
        if field:
            assert resp.json()["field"] == field
    # Setting my own email again is not a conflict with myself.
    await ani.http.patch("/api/v1/me", json={"email": "ani@contoh.id"})
    assert (await ani.http.patch("/api/v1/me", json={"email": "ani@contoh.id"})).status_code == 200


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
