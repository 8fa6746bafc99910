"""Profile fields through the API: the owner sees all, others what the owner chose (F1, R8)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from obrolan.profile.models import profiles
from tests.support.factories import User, make_direct, make_room, make_user
from tests.support.server import RunningServer


async def _seen_by(viewer: User, owner: User) -> dict[str, Any]:
    resp = await viewer.http.get(f"/api/v1/users/{owner.id}")
    assert resp.status_code == 200, resp.text
    seen: dict[str, Any] = resp.json()
    return seen


async def test_f1_date_of_birth_shown_only_as_its_owner_chooses(server: RunningServer) -> None:
    ani, budi, citra, dedi = [await make_user(server) for _ in range(4)]
    await make_direct(ani, budi)  # Budi is a contact: they share a direct chat
    await make_room(ani, members=[citra])  # Citra only shares a group with Ani
    filled = await ani.http.patch(
        "/api/v1/me",
        json={"date_of_birth": "2000-05-17", "gender": "perempuan", "bio": "Suka kopi."},
    )
    assert filled.status_code == 200, filled.text

    # By default, date of birth and gender are seen by nobody but Ani; the bio by all.
    for viewer in (budi, citra, dedi):
        seen = await _seen_by(viewer, ani)
        assert "date_of_birth" not in seen and "gender" not in seen
        assert seen["bio"] == "Suka kopi."

    changed = await ani.http.patch("/api/v1/me", json={"visibility": {"date_of_birth": "contacts"}})
    assert changed.json()["visibility"]["date_of_birth"] == "contacts"
    assert changed.json()["visibility"]["gender"] == "nobody"  # fields not sent stay
    assert (await _seen_by(budi, ani))["date_of_birth"] == "2000-05-17"
    assert "date_of_birth" not in await _seen_by(citra, ani)
    assert "date_of_birth" not in await _seen_by(dedi, ani)
    by_name = await budi.http.get("/api/v1/users", params={"username": ani.username})
    assert by_name.json()["date_of_birth"] == "2000-05-17"

    await ani.http.patch("/api/v1/me", json={"visibility": {"date_of_birth": "nobody"}})
    for viewer in (budi, citra, dedi):
        assert "date_of_birth" not in await _seen_by(viewer, ani)

    # The owner always sees everything, on /me and on her own profile.
    me = (await ani.http.get("/api/v1/me")).json()
    assert (me["date_of_birth"], me["gender"], me["bio"]) == (
        "2000-05-17",
        "perempuan",
        "Suka kopi.",
    )
    mine = await _seen_by(ani, ani)
    assert mine["date_of_birth"] == "2000-05-17" and mine["gender"] == "perempuan"
    assert "language" not in mine


async def test_r18_a_block_ends_being_a_contact(server: RunningServer) -> None:
    ani, budi = await make_user(server), await make_user(server)
    await make_direct(ani, budi)
    await ani.http.patch(
        "/api/v1/me", json={"gender": "perempuan", "visibility": {"gender": "contacts"}}
    )
    assert (await _seen_by(budi, ani))["gender"] == "perempuan"
    blocked = await ani.http.post("/api/v1/blocks", json={"user_id": budi.id})
    assert blocked.status_code == 204, blocked.text
    assert "gender" not in await _seen_by(budi, ani)


async def test_r6_r8_profile_fields_are_sealed_and_can_be_removed(server: RunningServer) -> None:
    ani = await make_user(server)
    await ani.http.patch(
        "/api/v1/me",
        json={"gender": "laki-laki", "bio": "Penjual bakso", "language": "en"},
    )
    async with server.services.db.read() as conn:
        row = (await conn.execute(select(profiles).where(profiles.c.user_id == ani.id))).one()
    stored = b"".join(v for v in (row.gender_enc, row.bio_enc, row.language_enc) if v)
    assert b"laki-laki" not in stored and b"bakso" not in stored

    removed = (
        await ani.http.patch("/api/v1/me", json={"gender": None, "bio": None, "language": None})
    ).json()
    assert (removed["gender"], removed["bio"], removed["language"]) == (None, None, "id")


async def test_f1_bad_profile_fields_are_refused_and_change_nothing(server: RunningServer) -> None:
    ani = await make_user(server)
    await ani.http.patch("/api/v1/me", json={"date_of_birth": "1990-01-02", "bio": "Halo"})
    before = (await ani.http.get("/api/v1/me")).json()
    cases = [
        ({"date_of_birth": "2999-01-01"}, "date_of_birth"),
        ({"date_of_birth": "1850-01-01"}, "date_of_birth"),
        ({"date_of_birth": "17-05-2000"}, "date_of_birth"),
        ({"date_of_birth": "2000-05-17", "bio": "x" * 501}, "bio"),
        ({"bio": "a\x00b"}, "bio"),
        ({"gender": "x" * 33}, "gender"),
        ({"language": "fr"}, "language"),
        ({"visibility": {"bio": "friends"}}, "visibility.bio"),
        ({"visibility": {"language": "everyone"}}, "visibility.language"),
    ]
    for body, field in cases:
        resp = await ani.http.patch("/api/v1/me", json=body)
        assert resp.status_code == 422, (body, resp.text)
        assert resp.headers["content-type"] == "application/problem+json"
        assert resp.json()["field"] == field, (body, resp.json())
    assert (await ani.http.get("/api/v1/me")).json() == before
