"""Site administrators list and close accounts and remove public rooms; nobody else may."""

from __future__ import annotations

from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed

from tests.admin.conftest import make_admin
from tests.support.factories import PASSWORD, make_room, make_user
from tests.support.server import RunningServer
from tests.support.ws import WsClient

ADMIN_PREFIX = "/api/v1/admin/"


def _problem_slug(answer: Any) -> str:
    assert answer.headers["content-type"] == "application/problem+json", answer.text
    slug: str = answer.json()["type"].rsplit("/", 1)[1]
    return slug


async def test_a_person_who_is_not_an_admin_gets_403_on_every_admin_route(
    server: RunningServer,
) -> None:
    ani = await make_user(server, "ani")
    room = await make_room(ani, kind="public", name="Umum")
    async with server.http() as http:
        paths = (await http.get("/openapi.json")).json()["paths"]
    routes = [
        (method, path)
        for path, operations in paths.items()
        if path.startswith(ADMIN_PREFIX)
        for method in operations
    ]
    assert len(routes) >= 3

    for method, path in routes:
        url = path.replace("{user_id}", ani.id).replace("{room_id}", room["id"])
        answer = await ani.http.request(method.upper(), url)
        assert answer.status_code == 403, (method, path, answer.text)
        assert _problem_slug(answer) == "not-an-admin"

    async with server.http() as anonymous:
        assert (await anonymous.get(f"{ADMIN_PREFIX}users")).status_code == 401
    assert (await ani.http.get("/api/v1/me")).status_code == 200  # nothing was closed
    assert (await ani.http.get(f"/api/v1/rooms/{room['id']}")).status_code == 200


async def test_me_shows_whether_i_am_an_admin(server: RunningServer) -> None:
    admin = await make_admin(server, "pak.rt")
    ani = await make_user(server, "ani")

    assert (await admin.http.get("/api/v1/me")).json()["is_admin"] is True
    assert (await ani.http.get("/api/v1/me")).json()["is_admin"] is False


async def test_an_admin_lists_every_account_page_by_page(server: RunningServer) -> None:
    admin = await make_admin(server, "pak.rt")
    for name in ("budi", "ani", "citra"):
        await make_user(server, name)

    first = await admin.http.get(f"{ADMIN_PREFIX}users", params={"limit": 2})
    assert first.status_code == 200, first.text
    rest = await admin.http.get(
        f"{ADMIN_PREFIX}users", params={"limit": 2, "after": first.json()["next"]}
    )

    accounts = first.json()["users"] + rest.json()["users"]
    assert [a["username"] for a in accounts] == ["ani", "budi", "citra", "pak.rt"]
    assert rest.json()["next"] is None
    ani = accounts[0]
    assert ani["display_name"] == "Ani"
    assert ani["is_admin"] is False and ani["closed_at"] is None
    assert "email" not in ani and "phone" not in ani  # R6: no contact details here
    assert accounts[3]["is_admin"] is True


async def test_r17_closing_an_account_ends_its_sessions_and_sign_in(
    server: RunningServer,
) -> None:
    admin = await make_admin(server)
    budi = await make_user(server, "budi")
    socket = await WsClient.open(server.ws_url, budi.token)

    closed = await admin.http.post(f"{ADMIN_PREFIX}users/{budi.id}/close")

    assert closed.status_code == 200, closed.text
    assert closed.json()["closed_at"] is not None
    with pytest.raises(ConnectionClosed) as ended:
        await socket.recv_until(lambda _frame: False)
    assert ended.value.rcvd is not None and ended.value.rcvd.code == 4401
    assert (await budi.http.get("/api/v1/me")).status_code == 401
    async with server.http() as http:
        sign_in = await http.post(
            "/api/v1/sessions", json={"username": "budi", "password": PASSWORD}
        )
        again = await http.post(
            "/api/v1/accounts",
            json={"username": "budi", "password": PASSWORD, "display_name": "Budi Lain"},
        )
    assert sign_in.status_code == 401
    assert _problem_slug(sign_in) == "invalid-credentials"
    assert again.status_code == 409  # the username stays taken
    assert again.json()["field"] == "username"
    listed = (await admin.http.get(f"{ADMIN_PREFIX}users")).json()["users"]
    assert [a["closed_at"] is not None for a in listed if a["username"] == "budi"] == [True]
    # Closing it again changes nothing.
    repeat = await admin.http.post(f"{ADMIN_PREFIX}users/{budi.id}/close")
    assert repeat.status_code == 200
    assert repeat.json()["closed_at"] == closed.json()["closed_at"]


async def test_an_admin_cannot_close_their_own_account_or_no_one(server: RunningServer) -> None:
    admin = await make_admin(server)

    own = await admin.http.post(f"{ADMIN_PREFIX}users/{admin.id}/close")
    nobody = await admin.http.post(f"{ADMIN_PREFIX}users/0000000000000000000000000/close")

    assert own.status_code == 403
    assert _problem_slug(own) == "own-account"
    assert nobody.status_code == 404
    assert (await admin.http.get("/api/v1/me")).status_code == 200


async def test_removing_a_public_room_makes_it_gone_for_everyone(server: RunningServer) -> None:
    admin = await make_admin(server)
    ani, budi, citra, dewi = [await make_user(server, n) for n in ("ani", "budi", "citra", "dewi")]
    room = await make_room(ani, kind="public", name="Pasar Malam", members=[citra])
    for person in (budi, dewi):
        assert (await person.http.post(f"/api/v1/rooms/{room['id']}/join")).status_code == 200
    sent = await ani.http.post(
        f"/api/v1/rooms/{room['id']}/messages", json={"client_msg_id": "c-1", "body": "halo"}
    )
    assert sent.status_code == 201
    online = [await WsClient.open(server.ws_url, p.token) for p in (ani, budi)]
    since = online[0].ready["position"]

    removed = await admin.http.delete(f"{ADMIN_PREFIX}rooms/{room['id']}")

    assert removed.status_code == 204, removed.text
    for socket in online:
        event = await socket.recv_event("room.removed")
        assert event["room_id"] == room["id"]
        assert event["data"] == {"room_id": room["id"], "name": "Pasar Malam"}
        # One event per person, to that person only: not the others' as well.
        await socket.send({"type": "ping", "id": "after-removal"})
        frames = []
        while (frame := await socket.recv())["type"] != "pong":
            frames.append(frame)
        assert [f for f in frames if f.get("kind") == "room.removed"] == []
    # Dewi was offline: she hears of it on replay. Citra was only invited: her too.
    for person in (dewi, citra):
        replay = await WsClient.open(server.ws_url, person.token, since=since)
        assert (await replay.recv_event("room.removed"))["room_id"] == room["id"]
    for person in (ani, budi, citra, admin):
        assert (await person.http.get(f"/api/v1/rooms/{room['id']}")).status_code == 404
        mine = (await person.http.get("/api/v1/rooms")).json()
        assert room["id"] not in [r["id"] for r in mine["rooms"] + mine["invites"]]
    search = (await budi.http.get("/api/v1/rooms/public", params={"q": "Pasar"})).json()
    assert search["rooms"] == []
    history = await ani.http.get(f"/api/v1/rooms/{room['id']}/messages")
    assert history.status_code == 404
    assert (await ani.http.post(f"/api/v1/rooms/{room['id']}/join")).status_code == 404
    again = await admin.http.delete(f"{ADMIN_PREFIX}rooms/{room['id']}")
    assert again.status_code == 404


async def test_only_public_rooms_can_be_removed(server: RunningServer) -> None:
    admin = await make_admin(server)
    ani = await make_user(server, "ani")
    private = await make_room(ani, kind="private", name="Keluarga")
    group = await make_room(ani, kind="group", name="Teman")

    for room in (private, group):
        answer = await admin.http.delete(f"{ADMIN_PREFIX}rooms/{room['id']}")
        assert answer.status_code == 404  # their existence stays private to their members
        assert (await ani.http.get(f"/api/v1/rooms/{room['id']}")).status_code == 200
