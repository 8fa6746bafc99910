"""Lawful access (R7): an operator reads a room's messages only under a request that a
second operator approved, for its rooms and inside its window; every read is recorded
and later shown to each person whose messages were read (after any legal hold)."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from obrolan.clock import FakeClock
from obrolan.privacy import store as audit_store
from tests.admin.conftest import make_admin
from tests.support.factories import User, login, make_room, make_user
from tests.support.server import RunningServer, start_server

BASE = "/api/v1/admin/lawful-access"
DAY = 86_400
_msg = itertools.count(1)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def app(database_url: str, tmp_path: Path, clock: FakeClock) -> AsyncIterator[RunningServer]:
    running = await start_server(database_url, tmp_path, clock=clock)
    try:
        yield running
    finally:
        await running.shutdown()


def _slug(answer: httpx.Response) -> str:
    assert answer.headers["content-type"] == "application/problem+json", answer.text
    slug: str = answer.json()["type"].rsplit("/", 1)[1]
    return slug


async def _say(person: User, room_id: str, body: str) -> None:
    sent = await person.http.post(
        f"/api/v1/rooms/{room_id}/messages", json={"client_msg_id": f"m{next(_msg)}", "body": body}
    )
    assert sent.status_code == 201, sent.text


def _window(clock: FakeClock, days: int = 7, **extra: Any) -> dict[str, Any]:
    now = clock.now()
    return {
        "reason": "Polda Metro Jaya asks for the messages of a fraud suspect",
        "legal_basis": "UU ITE Art. 43; court order 12/Pid/2026",
        "starts_at": now.isoformat(),
        "ends_at": (now + timedelta(days=days)).isoformat(),
        **extra,
    }


async def _file(operator: User, clock: FakeClock, room_ids: list[str], **extra: Any) -> str:
    filed = await operator.http.post(BASE, json={**_window(clock, **extra), "room_ids": room_ids})
    assert filed.status_code == 201, filed.text
    assert filed.json()["status"] == "pending"
    request_id: str = filed.json()["id"]
    return request_id


async def _chat(app: RunningServer) -> tuple[User, User, dict[str, Any]]:
    ani = await make_user(app, "ani")
    budi = await make_user(app, "budi")
    room = await make_room(ani, kind="group", name="Arisan", members=[budi])
    await _say(ani, room["id"], "transfer ke rekening 123")
    await _say(budi, room["id"], "sudah")
    return ani, budi, room


async def _actions(app: RunningServer, action: str) -> list[Any]:
    async with app.services.db.read() as conn:
        entries = await audit_store.audit_entries(conn, 0, 10_000)
    return [e for e in entries if e.action == action]


async def _signed_in_again(app: RunningServer, person: User) -> User:
    """The same person with a fresh session (weeks later, the old one has expired)."""
    token = await login(app, person.username)
    return User(person.id, person.username, token, app.http(token), app)


async def _my_audit(person: User) -> list[dict[str, Any]]:
    answer = await person.http.get("/api/v1/privacy/audit")
    assert answer.status_code == 200, answer.text
    entries: list[dict[str, Any]] = answer.json()["entries"]
    return entries


async def test_r7_an_operator_reads_a_room_only_under_a_second_approved_request(
    app: RunningServer, clock: FakeClock
) -> None:
    ani, budi, room = await _chat(app)
    other = await make_room(ani, kind="group", name="Keluarga")
    pak_rt = await make_admin(app, "pak.rt")
    bu_rw = await make_admin(app, "bu.rw")
    messages = f"{BASE}/{{}}/rooms/{room['id']}/messages"

    request_id = await _file(pak_rt, clock, [room["id"]])
    before_approval = await pak_rt.http.get(messages.format(request_id))
    own_approval = await pak_rt.http.post(f"{BASE}/{request_id}/approve")
    approved = await bu_rw.http.post(f"{BASE}/{request_id}/approve", json={"note": "order seen"})
    read = await pak_rt.http.get(messages.format(request_id))
    unnamed_room = await pak_rt.http.get(f"{BASE}/{request_id}/rooms/{other['id']}/messages")
    approver_reads = await bu_rw.http.get(messages.format(request_id))
    no_request = await pak_rt.http.get(messages.format("0" * 26))
    member_is_not_operator = await ani.http.get(messages.format(request_id))

    assert before_approval.status_code == 403
    assert _slug(before_approval) == "lawful-access-required"
    assert before_approval.json()["refusal"] == "not-approved"
    assert own_approval.status_code == 403 and _slug(own_approval) == "own-request"
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "approved"
    assert approved.json()["decided_by"] == bu_rw.id
    assert read.status_code == 200, read.text
    assert [m["body"] for m in read.json()["messages"]] == ["transfer ke rekening 123", "sudah"]
    assert read.json()["has_more"] is False
    for refused, why in [
        (unnamed_room, "room-not-named"),
        (approver_reads, "not-the-requester"),
        (no_request, "no-such-request"),
    ]:
        assert refused.status_code == 403 and _slug(refused) == "lawful-access-required"
        assert refused.json()["refusal"] == why
    assert member_is_not_operator.status_code == 403
    assert _slug(member_is_not_operator) == "not-an-admin"

    # Every refused attempt is in the chain, with who tried and why.
    denied = await _actions(app, "lawful_access.denied")
    assert [e.actor_id for e in denied] == [pak_rt.id, pak_rt.id, bu_rw.id, pak_rt.id]
    assert [orjson.loads(e.detail)["refusal"] for e in denied] == [
        "not-approved",
        "room-not-named",
        "not-the-requester",
        "no-such-request",
    ]
    [filed] = await _actions(app, "lawful_access.filed")
    assert b"UU ITE Art. 43" in filed.detail and filed.actor_id == pak_rt.id
    [approval] = await _actions(app, "lawful_access.approved")
    assert approval.actor_id == bu_rw.id
    reads = await _actions(app, "lawful_access.read")
    assert sorted(e.subject_id for e in reads) == sorted([ani.id, budi.id])
    assert (await app.services.audit.verify(app.services.db)).ok
    # Without any lawful access, the member's own history still works as before.
    assert (await budi.http.get(f"/api/v1/rooms/{room['id']}/messages")).status_code == 200


async def test_r7_the_people_read_about_see_the_access_in_their_audit_view(
    app: RunningServer, clock: FakeClock
) -> None:
    ani, budi, room = await _chat(app)
    citra = await make_user(app, "citra")
    pak_rt, bu_rw = await make_admin(app), await make_admin(app)
    request_id = await _file(pak_rt, clock, [room["id"]])
    assert (await bu_rw.http.post(f"{BASE}/{request_id}/approve")).status_code == 200

    read = await pak_rt.http.get(f"{BASE}/{request_id}/rooms/{room['id']}/messages")
    assert read.status_code == 200, read.text

    [seen] = [e for e in await _my_audit(ani) if e["action"] == "lawful_access.read"]
    assert seen["actor_role"] == "operator" and seen["by_me"] is False
    assert seen["detail"] == {
        "request_id": request_id,
        "room_id": room["id"],
        "messages": 1,
        "reactions": 0,
    }
    assert "actor_id" not in seen  # the person sees that an operator read, not which one
    assert [e["action"] for e in await _my_audit(budi)].count("lawful_access.read") == 1
    assert "lawful_access.read" not in [e["action"] for e in await _my_audit(citra)]


async def test_r7_under_a_legal_hold_the_person_sees_the_access_only_when_it_ends(
    app: RunningServer, clock: FakeClock
) -> None:
    ani, _budi, room = await _chat(app)
    pak_rt, bu_rw = await make_admin(app), await make_admin(app)
    hold = clock.now() + timedelta(days=40)
    request_id = await _file(pak_rt, clock, [room["id"]], hold_until=hold.isoformat())
    assert (await bu_rw.http.post(f"{BASE}/{request_id}/approve")).status_code == 200

    read = await pak_rt.http.get(f"{BASE}/{request_id}/rooms/{room['id']}/messages")
    assert read.status_code == 200, read.text
    during = await _my_audit(ani)
    clock.advance(39 * DAY)
    still = await _my_audit(await _signed_in_again(app, ani))
    clock.advance(1 * DAY + 1)
    after = await _my_audit(await _signed_in_again(app, ani))

    assert "lawful_access.read" not in [e["action"] for e in during + still]
    [seen] = [e for e in after if e["action"] == "lawful_access.read"]
    assert seen["detail"]["request_id"] == request_id
    assert "hidden_until" not in seen["detail"]  # internal: steers the view only


async def test_r7_a_request_expires_with_its_window_and_the_expiry_is_recorded(
    app: RunningServer, clock: FakeClock
) -> None:
    _ani, _budi, room = await _chat(app)
    pak_rt, bu_rw = await make_admin(app), await make_admin(app)
    messages = f"{BASE}/{{}}/rooms/{room['id']}/messages"
    request_id = await _file(pak_rt, clock, [room["id"]], days=2)
    late = await _file(pak_rt, clock, [room["id"]], days=1)
    assert (await bu_rw.http.post(f"{BASE}/{request_id}/approve")).status_code == 200

    clock.advance(2 * DAY)
    expired = await pak_rt.http.get(messages.format(request_id))
    too_late = await bu_rw.http.post(f"{BASE}/{late}/approve")
    shown = await pak_rt.http.get(f"{BASE}/{request_id}")

    assert expired.status_code == 403 and expired.json()["refusal"] == "window-ended"
    assert too_late.status_code == 409 and _slug(too_late) == "not-pending"
    assert shown.json()["status"] == "expired"
    assert (await pak_rt.http.get(f"{BASE}/{late}")).json()["status"] == "expired"
    recorded = {e.detail for e in await _actions(app, "lawful_access.expired")}
    assert len(recorded) == 2


async def test_r7_a_refused_request_reads_nothing(app: RunningServer, clock: FakeClock) -> None:
    _ani, _budi, room = await _chat(app)
    pak_rt, bu_rw = await make_admin(app), await make_admin(app)
    request_id = await _file(pak_rt, clock, [room["id"]])

    refused = await bu_rw.http.post(f"{BASE}/{request_id}/refuse", json={"note": "no order"})
    approve_after = await bu_rw.http.post(f"{BASE}/{request_id}/approve")
    read = await pak_rt.http.get(f"{BASE}/{request_id}/rooms/{room['id']}/messages")
    listed = await bu_rw.http.get(BASE, params={"status": "refused"})

    assert refused.status_code == 200 and refused.json()["status"] == "refused"
    assert refused.json()["decision_note"] == "no order"
    assert approve_after.status_code == 409 and _slug(approve_after) == "not-pending"
    assert read.status_code == 403 and read.json()["refusal"] == "not-approved"
    assert [r["id"] for r in listed.json()["requests"]] == [request_id]
    [entry] = await _actions(app, "lawful_access.refused")
    assert entry.actor_id == bu_rw.id
    assert await _actions(app, "lawful_access.read") == []


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"days": 31}, "ends_at"),
        ({"days": 0}, "ends_at"),
        ({"hold_until": "2025-12-31T00:00:00+00:00"}, "hold_until"),
        ({"hold_until": "2027-01-01T00:00:00+00:00"}, "hold_until"),
        ({"reason": "   "}, "reason"),
    ],
)
async def test_a_request_out_of_bounds_is_refused_with_the_field(
    app: RunningServer, clock: FakeClock, change: dict[str, Any], field: str
) -> None:
    ani = await make_user(app, "ani")
    room = await make_room(ani, kind="group", name="Arisan")
    pak_rt = await make_admin(app)
    change = dict(change)
    days = change.pop("days", 7)

    answer = await pak_rt.http.post(
        BASE, json={**_window(clock, days=days), **change, "room_ids": [room["id"]]}
    )

    assert answer.status_code == 422, answer.text
    assert answer.json().get("field") == field or field in answer.text


async def test_a_request_for_an_unknown_room_is_404(app: RunningServer, clock: FakeClock) -> None:
    pak_rt = await make_admin(app)
    answer = await pak_rt.http.post(BASE, json={**_window(clock), "room_ids": ["0" * 26]})
    assert answer.status_code == 404 and answer.json()["field"] == "room_ids"
    naive = await pak_rt.http.post(
        BASE,
        json={**_window(clock), "starts_at": datetime(2026, 1, 1).isoformat(), "room_ids": []},
    )
    assert naive.status_code == 422
