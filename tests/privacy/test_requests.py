"""R13, R8: data requests with their legal deadlines, the operators' queue, the overdue
alarm, rectification, restriction and objection, on a real server and a fake clock."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import select

from obrolan.clock import FakeClock
from obrolan.privacy.models import audit_log
from obrolan.privacy.requests import EXPORT_KIND
from tests.admin.conftest import make_admin
from tests.privacy.conftest import HOUR, open_request
from tests.support.cli import obrolan_cli
from tests.support.factories import User, login, make_room, make_user
from tests.support.nodes import new_channel, postgres_only, start_nodes
from tests.support.server import RunningServer
from tests.support.ws import WsClient

# Rounds of two nodes opening the same request at once.
ROUNDS = 10


async def _audit(server: RunningServer, subject_id: str) -> list[dict[str, Any]]:
    async with server.services.db.read() as conn:
        rows = await conn.execute(
            select(audit_log).where(audit_log.c.subject_id == subject_id).order_by(audit_log.c.seq)
        )
        return [
            {
                "action": r.action,
                "actor_id": r.actor_id,
                "actor_role": r.actor_role,
                "detail": orjson.loads(r.detail),
            }
            for r in rows
        ]


def _at(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


async def test_r13_each_request_carries_the_shortest_deadline_that_applies(
    privacy_server: RunningServer, clock: FakeClock, exports_failing: None
) -> None:
    ani = await make_user(privacy_server)
    access = await open_request(ani, "access")
    assert access["status"] == "received"
    assert access["opened_by_operator"] is False
    assert _at(access["deadline_at"]) - _at(access["created_at"]) == timedelta(hours=72)
    assert access["overdue"] is False and access["seconds_left"] == 72 * HOUR
    objection = await open_request(ani, "objection", note="no newsletters")
    assert _at(objection["deadline_at"]) - _at(objection["created_at"]) == timedelta(days=14)
    assert objection["status"] == "done"  # takes effect at once

    # access: the export job is queued with the request and the person, by id only.
    job = await privacy_server.services.jobs.get_by_key(f"{EXPORT_KIND}:{access['id']}")
    assert job is not None and job.payload == {"request_id": access["id"], "user_id": ani.id}

    # One open request per kind: a typed 409.
    again = await ani.http.post("/api/v1/privacy/requests", json={"kind": "access"})
    assert again.status_code == 409
    assert again.json()["type"].endswith("/request-open")
    # Bad input: a typed 422 naming the field.
    no_note = await ani.http.post("/api/v1/privacy/requests", json={"kind": "rectification"})
    assert no_note.status_code == 422 and no_note.json()["field"] == "note"
    too_long = await ani.http.post(
        "/api/v1/privacy/requests", json={"kind": "rectification", "note": "x" * 2001}
    )
    assert too_long.status_code == 422
    unknown = await ani.http.post("/api/v1/privacy/requests", json={"kind": "deletion"})
    assert unknown.status_code == 422

    mine = (await ani.http.get("/api/v1/privacy/requests")).json()["requests"]
    assert [r["id"] for r in mine] == [objection["id"], access["id"]]
    assert mine[0]["note"] == "no newsletters"
    one = await ani.http.get(f"/api/v1/privacy/requests/{access['id']}")
    assert one.status_code == 200 and one.json()["kind"] == "access"

    # Nobody else's: 404, as for an id that does not exist.
    budi = await make_user(privacy_server)
    assert (await budi.http.get(f"/api/v1/privacy/requests/{access['id']}")).status_code == 404
    stolen = await budi.http.post(f"/api/v1/privacy/requests/{access['id']}/cancel")
    assert stolen.status_code == 404

    cancelled = await ani.http.post(f"/api/v1/privacy/requests/{access['id']}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    twice = await ani.http.post(f"/api/v1/privacy/requests/{access['id']}/cancel")
    assert twice.status_code == 409
    assert twice.json()["type"].endswith("/request-not-cancellable")
    entries = await _audit(privacy_server, ani.id)
    actions = [e["action"] for e in entries if e["action"].startswith("privacy.")]
    assert actions == [
        "privacy.request.opened",
        "privacy.request.opened",
        "privacy.request.cancelled",
    ]


async def test_r13_an_access_request_opened_at_noon_is_overdue_at_noon_three_days_later(
    privacy_server: RunningServer,
    clock: FakeClock,
    capsys: pytest.CaptureFixture[str],
    exports_failing: None,
) -> None:
    clock.advance(12 * HOUR)  # the fake clock starts at midnight
    assert clock.now().hour == 12
    admin = await make_admin(privacy_server)
    ani = await make_user(privacy_server)
    # Its export cannot finish (exports_failing): the request stays open.
    opened = await open_request(ani, "access")

    clock.advance(72 * HOUR - 1)
    queue = (await admin.http.get("/api/v1/admin/privacy/requests")).json()["requests"]
    assert [(r["id"], r["overdue"], r["seconds_left"]) for r in queue] == [(opened["id"], False, 1)]
    assert (await admin.http.get("/api/v1/admin/privacy/requests?overdue=true")).json()[
        "requests"
    ] == []
    not_yet = await admin.http.get("/api/v1/admin/privacy/requests?overdue=false")
    assert [r["id"] for r in not_yet.json()["requests"]] == [opened["id"]]
    assert "obrolan_privacy_requests_overdue 0.0" in await _metrics(privacy_server)

    clock.advance(1)  # noon, three days later
    assert clock.now().hour == 12
    overdue = (await admin.http.get("/api/v1/admin/privacy/requests?overdue=true")).json()[
        "requests"
    ]
    assert [(r["id"], r["overdue"], r["seconds_left"]) for r in overdue] == [
        (opened["id"], True, 0)
    ]
    on_time = await admin.http.get("/api/v1/admin/privacy/requests?overdue=false")
    assert on_time.json()["requests"] == []
    assert (await ani.http.get(f"/api/v1/privacy/requests/{opened['id']}")).json()["overdue"]
    assert "obrolan_privacy_requests_overdue 1.0" in await _metrics(privacy_server)

    listed = await obrolan_cli(privacy_server, "privacy", "requests", "list", "--overdue")
    assert listed.returncode == 0, listed.stderr
    assert opened["id"] in listed.stdout and "overdue" in listed.stdout

    # The alarm: a warning with the request's id, kind and hours, and no personal data.
    clock.advance(2 * HOUR)
    capsys.readouterr()
    assert await privacy_server.services.erasure.alarm_overdue(clock.now()) == 1
    logged = [orjson.loads(line) for line in capsys.readouterr().out.splitlines() if line]
    warnings = [e for e in logged if e.get("event") == "privacy request overdue"]
    assert [{k: v for k, v in e.items() if k != "timestamp"} for e in warnings] == [
        {
            "event": "privacy request overdue",
            "level": "warning",
            "request_id": opened["id"],
            "kind": "access",
            "hours_overdue": 2.0,
        }
    ]

    # Answered, it leaves the alarm.
    done = await admin.http.post(
        f"/api/v1/admin/privacy/requests/{opened['id']}/complete",
        json={"resolution": "sent by post"},
    )
    assert done.status_code == 200 and done.json()["status"] == "done"
    assert "obrolan_privacy_requests_overdue 0.0" in await _metrics(privacy_server)


async def _metrics(server: RunningServer) -> str:
    async with server.http() as http:
        return (await http.get("/metrics")).text


async def test_r13_operators_open_requests_for_people_and_answer_or_refuse_them(
    privacy_server: RunningServer, clock: FakeClock, exports_failing: None
) -> None:
    admin = await make_admin(privacy_server)
    ani = await make_user(privacy_server)
    # Only operators see the queue.
    refused = await ani.http.get("/api/v1/admin/privacy/requests")
    assert refused.status_code == 403 and refused.json()["type"].endswith("/not-an-admin")

    opened = await admin.http.post(
        "/api/v1/admin/privacy/requests",
        json={"user_id": ani.id, "kind": "rectification", "note": "my username is misspelt"},
    )
    assert opened.status_code == 201, opened.text
    request = opened.json()
    assert request["opened_by_operator"] is True and request["user_id"] == ani.id
    assert (await ani.http.get("/api/v1/privacy/requests")).json()["requests"][0][
        "opened_by_operator"
    ]

    # A reason is required to refuse, a resolution to complete: typed 422s.
    no_reason = await admin.http.post(
        f"/api/v1/admin/privacy/requests/{request['id']}/refuse", json={"reason": ""}
    )
    assert no_reason.status_code == 422
    missing = await admin.http.post(
        f"/api/v1/admin/privacy/requests/{request['id']}/refuse", json={}
    )
    assert missing.status_code == 422
    blank = await admin.http.post(
        f"/api/v1/admin/privacy/requests/{request['id']}/complete", json={"resolution": "  "}
    )
    assert blank.status_code == 422 and blank.json()["field"] == "resolution"

    access = await open_request(ani, "access")
    shown = await obrolan_cli(privacy_server, "privacy", "requests", "show", access["id"])
    assert shown.returncode == 0, shown.stderr
    assert "access" in shown.stdout and "72h" not in shown.stdout and "left" in shown.stdout
    refused_cli = await obrolan_cli(
        privacy_server,
        "privacy",
        "requests",
        "refuse",
        access["id"],
        "--reason",
        "not you",
    )
    assert refused_cli.returncode == 0, refused_cli.stderr
    again = await obrolan_cli(
        privacy_server, "privacy", "requests", "refuse", access["id"], "--reason", "x"
    )
    assert again.returncode == 1 and "refused already" in again.stderr
    seen = (await ani.http.get(f"/api/v1/privacy/requests/{access['id']}")).json()
    assert (seen["status"], seen["resolution"]) == ("refused", "not you")

    completed = await obrolan_cli(
        privacy_server,
        "privacy",
        "requests",
        "complete",
        request["id"],
        "--resolution",
        "fixed",
    )
    assert completed.returncode == 0, completed.stderr
    entries = [
        e for e in await _audit(privacy_server, ani.id) if e["action"].startswith("privacy.")
    ]
    assert [(e["action"], e["actor_role"]) for e in entries] == [
        ("privacy.request.opened", "operator"),
        ("privacy.request.opened", "person"),
        ("privacy.request.refused", "operator"),
        ("privacy.request.completed", "operator"),
    ]
    assert entries[0]["actor_id"] == admin.id
    assert entries[2]["detail"] == {
        "request_id": access["id"],
        "kind": "access",
        "reason": "not you",
    }


async def test_r7_r8_rectification_an_operator_corrects_the_username_the_audit_names_the_field(
    privacy_server: RunningServer, clock: FakeClock
) -> None:
    admin = await make_admin(privacy_server)
    ani = await make_user(privacy_server, "anni_typo")
    request = await open_request(ani, "rectification", note="my name is ani, not anni")
    # The operator reads what the person wrote; the read is recorded.
    read = await admin.http.get(f"/api/v1/admin/privacy/requests/{request['id']}")
    assert read.json()["note"] == "my name is ani, not anni"

    fixed = await admin.http.patch(f"/api/v1/admin/users/{ani.id}", json={"username": "Ani"})
    assert fixed.status_code == 200, fixed.text
    assert fixed.json() == {"user_id": ani.id, "fields": ["username"]}
    assert (await ani.http.get("/api/v1/me")).json()["username"] == "ani"
    bad = await admin.http.patch(f"/api/v1/admin/users/{ani.id}", json={"username": "a b"})
    assert bad.status_code == 422
    other = await make_user(privacy_server)
    taken = await admin.http.patch(f"/api/v1/admin/users/{other.id}", json={"username": "ani"})
    assert taken.status_code == 409
    not_admin = await ani.http.patch(f"/api/v1/admin/users/{ani.id}", json={"username": "x_y"})
    assert not_admin.status_code == 403

    await admin.http.post(
        f"/api/v1/admin/privacy/requests/{request['id']}/complete",
        json={"resolution": "username corrected"},
    )
    entries = await _audit(privacy_server, ani.id)
    rectified = [e for e in entries if e["action"] == "account.rectified"]
    assert rectified == [
        {
            "action": "account.rectified",
            "actor_id": admin.id,
            "actor_role": "operator",
            "detail": {"fields": ["username"]},
        }
    ]
    assert "privacy.request.viewed" in [e["action"] for e in entries]
    assert "ani" not in orjson.dumps([e["detail"] for e in entries]).decode().replace(
        ani.id, ""
    ).replace(request["id"], "")


async def _send(user: User, room_id: str, text: str) -> Any:
    return await user.http.post(
        f"/api/v1/rooms/{room_id}/messages", json={"client_msg_id": text, "body": text}
    )


async def test_r8_restriction_keeps_the_account_readable_and_used_for_nothing_else(
    privacy_server: RunningServer, clock: FakeClock
) -> None:
    ani = await make_user(privacy_server)
    budi = await make_user(privacy_server)
    room = await make_room(budi, members=[ani])
    sent = await _send(ani, room["id"], "before")
    assert sent.status_code == 201
    message_id = sent.json()["id"]

    socket = await WsClient.open(privacy_server.ws_url, ani.token)
    restriction = await open_request(ani, "restriction", note="until my data is corrected")
    assert restriction["status"] == "done"
    again = await ani.http.post("/api/v1/privacy/requests", json={"kind": "restriction"})
    assert again.status_code == 409

    # Readable: sign in, my account, my rooms, their history, my requests.
    token = await login(privacy_server, ani.username)
    async with privacy_server.http(token) as http:
        assert (await http.get("/api/v1/me")).status_code == 200
        assert (await http.get("/api/v1/rooms")).status_code == 200
        history = await http.get(f"/api/v1/rooms/{room['id']}/messages")
        assert [m["body"] for m in history.json()["messages"]] == ["before"]
        assert (await http.get("/api/v1/privacy/requests")).status_code == 200

    # Used for nothing else: a typed 403 `restricted`.
    for attempt in [
        _send(ani, room["id"], "after"),
        ani.http.patch(f"/api/v1/messages/{message_id}", json={"body": "edited"}),
        ani.http.put(f"/api/v1/messages/{message_id}/reactions/👍"),
        ani.http.post("/api/v1/rooms", json={"kind": "group", "name": "x", "members": []}),
        ani.http.post("/api/v1/rooms/direct", json={"user_id": budi.id}),
    ]:
        resp = await attempt
        assert resp.status_code == 403, resp.text
        assert resp.json()["type"] == "https://obrolan.dev/problems/restricted"
    # A retry of what was stored before the restriction still answers as a retry.
    retried = await _send(ani, room["id"], "before")
    assert retried.status_code == 200 and retried.json()["id"] == sent.json()["id"]
    refused = await socket.send_message(room["id"], "on the socket")
    assert refused["type"] == "error"
    assert refused["error"]["type"] == "https://obrolan.dev/problems/restricted"
    # Not findable by others.
    found = await budi.http.get("/api/v1/users", params={"username": ani.username})
    assert found.status_code == 404
    me = (await ani.http.get("/api/v1/privacy/me")).json()
    assert me["account"] == {"restricted": True, "objected": False}

    # Lifted by cancelling it: everything works again.
    lifted = await ani.http.post(f"/api/v1/privacy/requests/{restriction['id']}/cancel")
    assert lifted.status_code == 200 and lifted.json()["status"] == "cancelled"
    assert (await _send(ani, room["id"], "after")).status_code == 201
    found = await budi.http.get("/api/v1/users", params={"username": ani.username})
    assert found.status_code == 200


async def test_r8_restriction_lifted_by_an_operator(
    privacy_server: RunningServer, clock: FakeClock
) -> None:
    admin = await make_admin(privacy_server)
    ani = await make_user(privacy_server)
    room = await make_room(ani)
    restriction = await open_request(ani, "restriction")
    assert (await _send(ani, room["id"], "no")).status_code == 403
    lifted = await admin.http.post(f"/api/v1/admin/privacy/requests/{restriction['id']}/cancel")
    assert lifted.status_code == 200
    assert (await _send(ani, room["id"], "yes")).status_code == 201


async def test_r8_objection_sets_the_flag_at_once_and_can_be_withdrawn(
    privacy_server: RunningServer, clock: FakeClock
) -> None:
    ani = await make_user(privacy_server)
    objection = await open_request(ani, "objection", note="no profiling")
    assert (objection["status"], objection["progress"]) == ("done", 100)
    assert objection["done_at"] is not None
    me = (await ani.http.get("/api/v1/privacy/me")).json()
    assert me["account"] == {"restricted": False, "objected": True}
    again = await ani.http.post("/api/v1/privacy/requests", json={"kind": "objection"})
    assert again.status_code == 409
    withdrawn = await ani.http.post(f"/api/v1/privacy/requests/{objection['id']}/cancel")
    assert withdrawn.status_code == 200
    # The person's own answer carries their note, as every answer of theirs does.
    assert withdrawn.json()["note"] == "no profiling"
    me = (await ani.http.get("/api/v1/privacy/me")).json()
    assert me["account"] == {"restricted": False, "objected": False}
    # The objection still works for the service itself: sending is not restricted.
    room = await make_room(ani)
    assert (await _send(ani, room["id"], "hi")).status_code == 201


async def test_r13_two_nodes_opening_the_same_request_at_once_make_one(
    database_url: str, tmp_path: Path, redis_url: str
) -> None:
    """One open request per kind and person holds across nodes: raced, round after round."""
    postgres_only(database_url)
    nodes = await start_nodes(2, database_url, tmp_path, redis_url, new_channel())
    try:
        ani = await make_user(nodes[0], "ani")
        clients = [ani.http, nodes[1].http(ani.token)]
        for _ in range(ROUNDS):
            answers = await asyncio.gather(
                *(
                    http.post(
                        "/api/v1/privacy/requests",
                        json={"kind": "rectification", "note": "my name is Ani"},
                    )
                    for http in clients
                )
            )
            assert sorted(a.status_code for a in answers) == [201, 409], [a.text for a in answers]
            [made] = [a.json() for a in answers if a.status_code == 201]
            cancelled = await ani.http.post(f"/api/v1/privacy/requests/{made['id']}/cancel")
            assert cancelled.status_code == 200
    finally:
        for node in nodes:
            await node.shutdown()
