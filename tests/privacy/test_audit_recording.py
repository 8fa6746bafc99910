"""What the audit log records (R7), seen the way each person sees it: their sign-ins,
failed attempts on their account, and every operator action on or read of their data."""

from __future__ import annotations

from typing import Any

import orjson

from obrolan.privacy import store as audit_store
from tests.admin.conftest import make_admin
from tests.support.factories import PASSWORD, User, make_room, make_user
from tests.support.server import RunningServer


async def _mine(person: User) -> list[dict[str, Any]]:
    answer = await person.http.get("/api/v1/privacy/audit")
    assert answer.status_code == 200, answer.text
    entries: list[dict[str, Any]] = answer.json()["entries"]
    return entries


async def _chain(server: RunningServer) -> list[Any]:
    async with server.services.db.read() as conn:
        return await audit_store.audit_entries(conn, 0, 10_000)


async def test_r7_sign_ins_and_failed_attempts_are_recorded_about_the_person(
    server: RunningServer,
) -> None:
    ani = await make_user(server, "ani")
    async with server.http() as http:
        wrong = await http.post("/api/v1/sessions", json={"username": "ani", "password": "salah"})
        nobody = await http.post(
            "/api/v1/sessions", json={"username": "siapa", "password": PASSWORD}
        )
    assert wrong.status_code == 401 and nobody.status_code == 401

    mine = await _mine(ani)

    assert [e["action"] for e in mine] == ["auth.sign_in_failed", "auth.sign_in"]
    failed, signed_in = mine
    assert failed["detail"] == {"reason": "credentials"} and failed["by_me"] is False
    assert signed_in["by_me"] is True and signed_in["actor_role"] == "person"
    [session] = (await ani.http.get("/api/v1/sessions")).json()
    assert signed_in["detail"] == {"session_id": session["id"]}
    chain = await _chain(server)
    # The attempt on a name nobody has is recorded about nobody. (The sweep that runs at
    # start records its own entries meanwhile.)
    signing_in = [(e.action, e.subject_id) for e in chain if e.action.startswith("auth.")]
    assert signing_in[-1] == ("auth.sign_in_failed", None)
    for entry in chain:  # neither the names tried nor the address, in any form
        assert b"ani" not in entry.detail and b"siapa" not in entry.detail
        assert b"127.0.0.1" not in entry.detail


async def test_r7_a_password_change_is_recorded(server: RunningServer) -> None:
    ani = await make_user(server, "ani")
    changed = await ani.http.post(
        "/api/v1/me/password",
        json={"current_password": PASSWORD, "new_password": "kuda baterai staples benar"},
    )
    assert changed.status_code == 204, changed.text
    [entry] = [e for e in await _mine(ani) if e["action"] == "auth.password_changed"]
    assert entry["by_me"] is True and entry["detail"]["sessions_ended"] == 0


async def test_r7_operator_reads_and_actions_are_recorded_for_each_person_shown(
    server: RunningServer,
) -> None:
    admin = await make_admin(server, "pak.rt")
    ani = await make_user(server, "ani")
    budi = await make_user(server, "budi")
    citra = await make_user(server, "citra")
    room = await make_room(ani, kind="public", name="Umum", members=[])

    listed = await admin.http.get("/api/v1/admin/users", params={"limit": 2})
    closed = await admin.http.post(f"/api/v1/admin/users/{budi.id}/close")
    removed = await admin.http.delete(f"/api/v1/admin/rooms/{room['id']}")
    assert listed.status_code == 200 and closed.status_code == 200 and removed.status_code == 204

    # The first page showed ani and budi: one entry each, none for citra.
    [read] = [e for e in await _mine(ani) if e["action"] == "operator.read"]
    assert read == {
        "seq": read["seq"],
        "at": read["at"],
        "action": "operator.read",
        "actor_role": "operator",
        "by_me": False,
        "detail": {"what": "account-list"},
    }
    assert "operator.read" not in [e["action"] for e in await _mine(citra)]
    chain = await _chain(server)
    about_budi = [e.action for e in chain if e.subject_id == budi.id]
    assert about_budi[-2:] == ["operator.read", "operator.account_closed"]
    [gone] = [e for e in chain if e.action == "operator.room_removed"]
    assert gone.actor_id == admin.id
    assert orjson.loads(gone.detail) == {"room_id": room["id"], "people": 1}
    reads = [e for e in chain if e.action == "operator.read"]
    assert [e.seq for e in reads] == list(range(reads[0].seq, reads[0].seq + 2))  # one record
    assert (await server.services.audit.verify(server.services.db)).ok


async def test_r7_the_own_audit_view_pages_back(server: RunningServer) -> None:
    ani = await make_user(server, "ani")
    async with server.http() as http:
        for _ in range(3):
            await http.post("/api/v1/sessions", json={"username": "ani", "password": "salah"})

    first = await ani.http.get("/api/v1/privacy/audit", params={"limit": 2})
    rest = await ani.http.get(
        "/api/v1/privacy/audit", params={"limit": 2, "before": first.json()["next"]}
    )
    async with server.http() as anonymous:
        unauthenticated = await anonymous.get("/api/v1/privacy/audit")

    assert len(first.json()["entries"]) == 2 and first.json()["next"] is not None
    assert [e["action"] for e in rest.json()["entries"]] == [
        "auth.sign_in_failed",
        "auth.sign_in",
    ]
    assert rest.json()["next"] is None
    assert unauthenticated.status_code == 401
