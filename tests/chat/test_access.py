"""Outsiders can neither read, send to, nor receive a private room or a direct chat (F2)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.factories import User, make_direct, make_room, make_user
from tests.support.server import RunningServer
from tests.support.ws import WsClient


@pytest.fixture(params=["private", "direct"])
async def closed_room(request: pytest.FixtureRequest, server: RunningServer) -> dict[str, Any]:
    """A room (private or direct) with one message, and an outsider with a socket open."""
    owner, friend, outsider = (
        await make_user(server),
        await make_user(server),
        await make_user(server),
    )
    if request.param == "direct":
        room = await make_direct(owner, friend)
    else:
        room = await make_room(owner, "private", "Rahasia", members=[friend])
        assert (await friend.http.post(f"/api/v1/rooms/{room['id']}/join")).status_code == 200
    sent = await owner.http.post(
        f"/api/v1/rooms/{room['id']}/messages", json={"client_msg_id": "m1", "body": "rahasia"}
    )
    assert sent.status_code == 201
    return {
        "owner": owner,
        "friend": friend,
        "outsider": outsider,
        "room": room,
        "message": sent.json(),
    }


def _denied(resp: Any) -> None:
    assert resp.status_code in (403, 404), resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert "rahasia" not in resp.text


async def test_outsider_cannot_read_the_room(closed_room: dict[str, Any]) -> None:
    outsider: User = closed_room["outsider"]
    rid = closed_room["room"]["id"]
    _denied(await outsider.http.get(f"/api/v1/rooms/{rid}"))


async def test_outsider_cannot_read_history(closed_room: dict[str, Any]) -> None:
    rid = closed_room["room"]["id"]
    _denied(await closed_room["outsider"].http.get(f"/api/v1/rooms/{rid}/messages"))


async def test_outsider_cannot_list_members(closed_room: dict[str, Any]) -> None:
    rid = closed_room["room"]["id"]
    _denied(await closed_room["outsider"].http.get(f"/api/v1/rooms/{rid}/members"))


async def test_outsider_cannot_send_over_rest(closed_room: dict[str, Any]) -> None:
    rid = closed_room["room"]["id"]
    resp = await closed_room["outsider"].http.post(
        f"/api/v1/rooms/{rid}/messages", json={"client_msg_id": "x", "body": "let me in"}
    )
    _denied(resp)


async def test_outsider_cannot_send_over_the_socket(
    closed_room: dict[str, Any], server: RunningServer
) -> None:
    ws = await WsClient.open(server.ws_url, closed_room["outsider"].token)
    reply = await ws.send_message(closed_room["room"]["id"], "let me in")
    assert reply["type"] == "error" and reply["error"]["status"] == 404
    await ws.close()


async def test_outsider_cannot_join_update_invite_kick_or_ban(closed_room: dict[str, Any]) -> None:
    outsider: User = closed_room["outsider"]
    rid = closed_room["room"]["id"]
    friend_id = closed_room["friend"].id
    _denied(await outsider.http.post(f"/api/v1/rooms/{rid}/join"))
    _denied(await outsider.http.patch(f"/api/v1/rooms/{rid}", json={"name": "mine"}))
    _denied(await outsider.http.post(f"/api/v1/rooms/{rid}/invites", json={"user_id": outsider.id}))
    _denied(await outsider.http.post(f"/api/v1/rooms/{rid}/kicks", json={"user_id": friend_id}))
    _denied(await outsider.http.post(f"/api/v1/rooms/{rid}/bans", json={"user_id": friend_id}))
    _denied(await outsider.http.delete(f"/api/v1/rooms/{rid}/bans/{friend_id}"))
    _denied(
        await outsider.http.put(
            f"/api/v1/rooms/{rid}/members/{friend_id}/role", json={"role": "admin"}
        )
    )
    _denied(await outsider.http.post(f"/api/v1/rooms/{rid}/leave"))
    _denied(await outsider.http.post(f"/api/v1/rooms/{rid}/receipts", json={"read_up_to": 1}))


async def test_outsider_cannot_touch_its_messages(closed_room: dict[str, Any]) -> None:
    outsider: User = closed_room["outsider"]
    mid = closed_room["message"]["id"]
    _denied(await outsider.http.patch(f"/api/v1/messages/{mid}", json={"body": "changed"}))
    _denied(await outsider.http.delete(f"/api/v1/messages/{mid}"))
    _denied(await outsider.http.put(f"/api/v1/messages/{mid}/reactions/👍"))
    _denied(await outsider.http.delete(f"/api/v1/messages/{mid}/reactions/👍"))


async def test_outsider_receives_none_of_its_events(
    closed_room: dict[str, Any], server: RunningServer
) -> None:
    outsider: User = closed_room["outsider"]
    owner: User = closed_room["owner"]
    rid = closed_room["room"]["id"]
    ws = await WsClient.open(server.ws_url, outsider.token, since=0)
    own = await WsClient.open(server.ws_url, owner.token)
    await own.send_message(rid, "rahasia lagi")
    await owner.http.put(f"/api/v1/messages/{closed_room['message']['id']}/reactions/🔥")
    await owner.http.post(f"/api/v1/rooms/{rid}/receipts", json={"read_up_to": 10**6})
    await own.send({"type": "typing", "room_id": rid})
    # A marker of our own: everything the room produced was published before it.
    await ws.send({"type": "ping", "id": "marker"})
    seen = []
    while (frame := await ws.recv())["type"] != "pong":
        seen.append(frame)
    assert all(f.get("room_id") != rid for f in seen), seen
    assert "rahasia" not in str(seen)
    await ws.close()
    await own.close()


async def test_outsider_cannot_see_a_private_room_in_search(closed_room: dict[str, Any]) -> None:
    resp = await closed_room["outsider"].http.get("/api/v1/rooms/public", params={"q": "Rahasia"})
    assert resp.status_code == 200
    assert resp.json()["rooms"] == []


async def _private_room_with_invitee(server: RunningServer) -> tuple[User, User, dict[str, Any]]:
    """A private room with one message, its owner, and a person invited who has not joined."""
    owner, invitee = await make_user(server), await make_user(server)
    room = await make_room(owner, "private", "Rahasia", members=[invitee])
    sent = await owner.http.post(
        f"/api/v1/rooms/{room['id']}/messages", json={"client_msg_id": "m1", "body": "rahasia"}
    )
    assert sent.status_code == 201
    return owner, invitee, room


async def test_invited_person_sees_the_room_but_must_join_to_read_or_send(
    server: RunningServer,
) -> None:
    owner, invitee, room = await _private_room_with_invitee(server)
    rid = room["id"]
    seen = await invitee.http.get(f"/api/v1/rooms/{rid}")
    assert seen.status_code == 200 and seen.json()["membership"] == "invite"

    # docs/api.md: the room is visible to them, its messages are not until they join.
    for resp in (
        await invitee.http.get(f"/api/v1/rooms/{rid}/messages"),
        await invitee.http.post(f"/api/v1/rooms/{rid}/receipts", json={"read_up_to": 1}),
    ):
        _denied(resp)
        assert resp.status_code == 403 and resp.json()["type"].endswith("/not-a-member")
    _denied(
        await invitee.http.post(
            f"/api/v1/rooms/{rid}/messages", json={"client_msg_id": "x", "body": "boleh?"}
        )
    )
    ws = await WsClient.open(server.ws_url, invitee.token)
    reply = await ws.send_message(rid, "boleh?")
    assert reply["type"] == "error" and reply["error"]["status"] in (403, 404)

    # Joining is what opens the history: the same request now reads the message.
    assert (await invitee.http.post(f"/api/v1/rooms/{rid}/join")).status_code == 200
    history = (await invitee.http.get(f"/api/v1/rooms/{rid}/messages")).json()["messages"]
    assert [(m["sender_id"], m["body"]) for m in history] == [(owner.id, "rahasia")]


async def test_invited_person_receives_none_of_its_messages_until_joined(
    server: RunningServer,
) -> None:
    owner, invitee, room = await _private_room_with_invitee(server)
    rid = room["id"]
    ws = await WsClient.open(server.ws_url, invitee.token, since=0)
    own = await WsClient.open(server.ws_url, owner.token)
    live = await own.send_message(rid, "rahasia lagi")
    assert live["type"] == "ack"
    await owner.http.put(f"/api/v1/messages/{live['message']['id']}/reactions/🔥")
    await owner.http.patch(f"/api/v1/messages/{live['message']['id']}", json={"body": "rahasia!"})
    # A marker of our own: everything the room produced was published before it.
    await ws.send({"type": "ping", "id": "marker"})
    seen = []
    while (frame := await ws.recv())["type"] != "pong":
        seen.append(frame)
    of_room = [f for f in seen if f.get("room_id") == rid]
    # Only the invitation itself, addressed to the invitee.
    assert [(f["kind"], f["data"].get("user_id")) for f in of_room] == [("membership", invitee.id)]
    assert "rahasia" not in str(seen)

    # Once joined, the same socket gets the room's messages.
    assert (await invitee.http.post(f"/api/v1/rooms/{rid}/join")).status_code == 200
    after = await own.send_message(rid, "selamat datang")
    event = await ws.recv_event("message.created")
    assert event["position"] == after["position"] and event["data"]["body"] == "selamat datang"
