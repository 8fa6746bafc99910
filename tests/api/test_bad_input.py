"""Bad input gets a typed problem+json answer and loses nothing accepted before (principle 7).

Each test is a bug the OpenAPI fuzzer (test_openapi_fuzz.py) found or could have found,
checked on both backends: PostgreSQL refuses what SQLite stores, so the rules live in the
API, not in whichever database happens to be behind it.
"""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import text

from tests.support.factories import User, make_direct, make_room, make_user
from tests.support.server import RunningServer

PROBLEM_JSON = "application/problem+json"


def assert_problem(resp: httpx.Response, status: int, slug: str, field: str | None = None) -> None:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"] == PROBLEM_JSON
    problem: dict[str, Any] = resp.json()
    assert problem["type"] == f"https://obrolan.dev/problems/{slug}"
    assert problem["status"] == status
    assert problem["title"] and problem["detail"]
    if field is not None:
        assert problem["field"] == field, problem


async def _send(user: User, room_id: str, body: str) -> dict[str, Any]:
    resp = await user.http.post(
        f"/api/v1/rooms/{room_id}/messages", json={"client_msg_id": body, "body": body}
    )
    assert resp.status_code == 201, resp.text
    sent: dict[str, Any] = resp.json()
    return sent


async def test_nul_character_in_a_body_field_is_a_422_naming_the_field(
    server: RunningServer,
) -> None:
    ani, budi = await make_user(server), await make_user(server)
    room = await make_direct(ani, budi)
    await _send(ani, room["id"], "sebelum")

    attempts = [
        ("POST", "/api/v1/blocks", {"user_id": "a\x00b"}, "user_id"),
        ("POST", "/api/v1/rooms/direct", {"user_id": "\x00"}, "user_id"),
        ("POST", "/api/v1/rooms", {"name": "Ruang", "members": [budi.id, "x\x00"]}, "members"),
        ("PATCH", "/api/v1/me", {"display_name": "Ani\x00"}, "display_name"),
        (
            "POST",
            f"/api/v1/rooms/{room['id']}/messages",
            {"client_msg_id": "nul", "body": "halo\x00dunia"},
            "body",
        ),
    ]
    for method, url, body, field in attempts:
        assert_problem(await ani.http.request(method, url, json=body), 422, "invalid", field)
    async with server.http() as anonymous:
        login = {"username": "ani\x00", "password": "whatever-long"}
        assert_problem(await anonymous.post("/api/v1/sessions", json=login), 422, "invalid")

    page = (await ani.http.get(f"/api/v1/rooms/{room['id']}/messages")).json()
    assert [m["body"] for m in page["messages"]] == ["sebelum"]
    assert (await ani.http.get("/api/v1/me")).json()["display_name"] == ani.username.title()


async def test_nul_character_in_the_url_is_a_422(server: RunningServer) -> None:
    ani = await make_user(server)
    room = await make_room(ani)
    for url in (
        "/api/v1/users?username=ani%00",
        "/api/v1/rooms/public?q=%00",
        "/api/v1/rooms/public?after=a%00b",
        f"/api/v1/rooms/{room['id'][:-1]}%00",
        f"/api/v1/rooms/{room['id']}/messages?x%00=1",
    ):
        assert_problem(await ani.http.get(url), 422, "invalid")
    assert (await ani.http.get(f"/api/v1/rooms/{room['id']}")).status_code == 200


async def test_position_beyond_64_bits_is_a_422_not_a_database_overflow(
    server: RunningServer,
) -> None:
    ani = await make_user(server)
    room = await make_room(ani)
    first = await _send(ani, room["id"], "pertama")
    history = f"/api/v1/rooms/{room['id']}/messages"

    for cursor in ("before", "after"):
        for huge in (2**63, 10**30):
            resp = await ani.http.get(history, params={cursor: huge})
            assert_problem(resp, 422, "invalid", cursor)
    huge_receipt = await ani.http.post(
        f"/api/v1/rooms/{room['id']}/receipts", json={"read_up_to": 10**30}
    )
    assert_problem(huge_receipt, 422, "invalid", "read_up_to")

    # The largest 64-bit position is still a position: an empty page, not an error.
    newest = await ani.http.get(history, params={"before": 2**63 - 1})
    assert [m["id"] for m in newest.json()["messages"]] == [first["id"]]
    assert (await ani.http.get(history, params={"after": 2**63 - 1})).json()["messages"] == []


async def test_body_that_is_not_json_or_of_the_wrong_type_is_a_422_problem(
    server: RunningServer,
) -> None:
    ani = await make_user(server)
    room = await make_room(ani)
    url = f"/api/v1/rooms/{room['id']}/messages"
    json_type = {"content-type": "application/json"}
    bad_bodies: list[dict[str, Any]] = [
        {"content": b"{not json", "headers": json_type},
        {"content": b"", "headers": json_type},
        {"content": b"client_msg_id=a&body=b", "headers": {"content-type": "text/plain"}},
        {"json": ["client_msg_id", "body"]},
        {"json": "a string"},
        {"json": {"client_msg_id": 7, "body": ["not", "text"]}},
        {"json": {"client_msg_id": "a", "body": "b", "unknown": True}},
    ]
    for request in bad_bodies:
        assert_problem(await ani.http.post(url, **request), 422, "invalid")
    not_json = await ani.http.post(url, content=b"{not json", headers=json_type)
    assert "not valid JSON" in not_json.json()["detail"]
    as_text = await ani.http.post(
        url, content=b'{"body": "x"}', headers={"content-type": "text/plain"}
    )
    assert "Content-Type: application/json" in as_text.json()["detail"]
    not_text = await ani.http.post(url, content=b"\xff\xfe\x00", headers=json_type)
    assert_problem(not_text, 400, "bad-request")
    wrong_type = await ani.http.get(url, params={"limit": "banyak"})
    assert_problem(wrong_type, 422, "invalid", "limit")

    await _send(ani, room["id"], "masih bisa")
    assert len((await ani.http.get(url)).json()["messages"]) == 1


async def test_too_long_path_parameter_is_a_422_problem(server: RunningServer) -> None:
    ani = await make_user(server)
    for url in (
        "/api/v1/rooms/" + "r" * 27,
        "/api/v1/users/" + "u" * 1000,
        "/api/v1/messages/" + "m" * 27 + "/reactions/" + "%F0%9F%91%8D" * 33,
    ):
        resp = await (ani.http.put(url) if "reactions" in url else ani.http.get(url))
        assert_problem(resp, 422, "invalid")


async def test_undeclared_method_is_a_405_problem_that_says_what_is_allowed(
    server: RunningServer,
) -> None:
    ani = await make_user(server)
    resp = await ani.http.request("TRACE", "/api/v1/me")
    assert_problem(resp, 405, "method-not-allowed")
    assert "GET" in resp.headers["allow"]


async def test_unexpected_server_error_is_a_500_problem_without_internals(
    server: RunningServer,
) -> None:
    ani = await make_user(server)
    # A real failure, not a stand-in: the table behind GET /blocks is gone.
    async with server.services.db.write() as conn:
        await conn.execute(text("DROP TABLE blocks"))
    resp = await ani.http.get("/api/v1/blocks")
    assert_problem(resp, 500, "internal-error")
    assert resp.json()["instance"] == "/api/v1/blocks"
    assert "SELECT" not in resp.text and "table" not in resp.text


async def test_room_update_with_nothing_to_change_answers_the_room_unchanged(
    server: RunningServer,
) -> None:
    ani, budi = await make_user(server), await make_user(server)
    room = await make_room(ani, name="Ruang", members=[budi])
    url = f"/api/v1/rooms/{room['id']}"
    for nothing in ({}, {"name": None, "topic": None}):
        resp = await ani.http.patch(url, json=nothing)
        assert resp.status_code == 200, resp.text
        assert resp.json() == room
    # The rule still comes first: a member who may not change the room is told so.
    assert_problem(await budi.http.patch(url, json={}), 403, "forbidden")
    renamed = await ani.http.patch(url, json={"name": "Ruang Baru"})
    assert renamed.json()["name"] == "Ruang Baru"
