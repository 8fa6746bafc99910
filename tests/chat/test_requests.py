"""Message requests: a stranger's direct chat waits for its recipient (R18).

The recipient is told with one event addressed to them; the sender is told nothing
either way. Each test follows one story on both backends, over real HTTP and sockets.
"""

from __future__ import annotations

from typing import Any

from tests.support.factories import User, make_direct, make_room, make_user
from tests.support.server import RunningServer
from tests.support.ws import WsClient


async def _send(user: User, room_id: str, body: str) -> dict[str, Any]:
    resp = await user.http.post(
        f"/api/v1/rooms/{room_id}/messages", json={"client_msg_id": body, "body": body}
    )
    assert resp.status_code == 201, resp.text
    message: dict[str, Any] = resp.json()
    return message


async def _frames_until_marker(ws: WsClient, marker_room: str) -> list[dict[str, Any]]:
    """Every frame up to and including the marker message in `marker_room`."""
    seen: list[dict[str, Any]] = []

    def is_marker(frame: dict[str, Any]) -> bool:
        seen.append(frame)
        return frame.get("kind") == "message.created" and frame.get("room_id") == marker_room

    await ws.recv_until(is_marker)
    return seen


def _messages_in(frames: list[dict[str, Any]], room_id: str) -> list[dict[str, Any]]:
    return [f for f in frames if f.get("kind") == "message.created" and f["room_id"] == room_id]


async def _replayed(user: User, server: RunningServer) -> list[dict[str, Any]]:
    """Everything a fresh socket with since=0 replays, up to a ping's pong."""
    ws = await WsClient.open(server.ws_url, user.token, since=0)
    await ws.send({"type": "ping", "id": "end"})
    frames: list[dict[str, Any]] = []

    def is_pong(frame: dict[str, Any]) -> bool:
        frames.append(frame)
        return frame.get("type") == "pong"

    await ws.recv_until(is_pong)
    await ws.close()
    return frames


async def _stranger_writes(server: RunningServer) -> tuple[User, User, WsClient, dict[str, Any]]:
    """Ani opens a direct chat with Budi, a stranger whose socket is open."""
    ani, budi = await make_user(server), await make_user(server)
    budi_ws = await WsClient.open(server.ws_url, budi.token)
    opened = await ani.http.post("/api/v1/rooms/direct", json={"user_id": budi.id})
    assert opened.status_code == 201
    return ani, budi, budi_ws, opened.json()


async def test_r18_a_strangers_direct_chat_arrives_as_a_request(server: RunningServer) -> None:
    ani, budi, budi_ws, dm = await _stranger_writes(server)
    citra = await make_user(server)
    marker_room = await make_room(citra, members=[budi])
    request = await budi_ws.recv_event("membership")
    assert request["room_id"] == dm["id"]
    assert request["data"]["state"] == "request" and request["data"]["user_id"] == budi.id
    assert request["data"]["by"] == ani.id

    sent = await _send(ani, dm["id"], "halo, Budi")
    await _send(citra, marker_room["id"], "penanda")
    frames = await _frames_until_marker(budi_ws, marker_room["id"])
    assert _messages_in(frames, dm["id"]) == []

    mine = (await budi.http.get("/api/v1/rooms")).json()
    assert dm["id"] not in {r["id"] for r in mine["rooms"]}
    [listed] = mine["requests"]
    assert listed["id"] == dm["id"] and listed["messages"] == 1
    sender = {"id": ani.id, "username": ani.username, "display_name": ani.username.title()}
    assert listed["sender"] == sender
    history = await budi.http.get(f"/api/v1/rooms/{dm['id']}/messages")
    assert history.status_code == 403
    # The sender hears nothing of the request: no event about Budi, live or replayed.
    assert sent["body"] == "halo, Budi"
    about_budi = [
        f for f in await _replayed(ani, server) if f.get("data", {}).get("user_id") == budi.id
    ]
    assert about_budi == []


async def test_r18_an_accepted_request_opens_history_and_live_messages(
    server: RunningServer,
) -> None:
    ani, budi, budi_ws, dm = await _stranger_writes(server)
    await _send(ani, dm["id"], "pesan pertama")
    accepted = await budi.http.post(f"/api/v1/rooms/{dm['id']}/accept")
    assert accepted.status_code == 200 and accepted.json()["id"] == dm["id"]
    joined = await budi_ws.recv_until(
        lambda f: f.get("kind") == "membership" and f["data"]["state"] == "join"
    )
    assert joined["room_id"] == dm["id"]

    history = (await budi.http.get(f"/api/v1/rooms/{dm['id']}/messages")).json()["messages"]
    assert [m["body"] for m in history] == ["pesan pertama"]
    await _send(ani, dm["id"], "pesan kedua")
    live = await budi_ws.recv_event("message.created")
    assert live["room_id"] == dm["id"] and live["data"]["body"] == "pesan kedua"
    mine = (await budi.http.get("/api/v1/rooms")).json()
    assert mine["requests"] == []
    assert [r["unread"] for r in mine["rooms"] if r["id"] == dm["id"]] == [2]


async def test_r18_a_declined_request_never_reaches_its_recipient(server: RunningServer) -> None:
    ani, budi, budi_ws, dm = await _stranger_writes(server)
    citra = await make_user(server)
    marker_room = await make_room(citra, members=[budi])
    before = await _send(ani, dm["id"], "sebelum")
    ani_view = [
        (await ani.http.get(path)).json()
        for path in (f"/api/v1/rooms/{dm['id']}", f"/api/v1/rooms/{dm['id']}/members")
    ]
    declined = await budi.http.post(f"/api/v1/rooms/{dm['id']}/decline")
    assert declined.status_code == 204

    # The sender's sends answer as any send does, over REST and over the socket.
    after = await _send(ani, dm["id"], "sesudah")
    assert after.keys() == before.keys()
    ani_ws = await WsClient.open(server.ws_url, ani.token)
    ack = await ani_ws.send_message(dm["id"], "lewat socket")
    assert ack["type"] == "ack" and ack["message"]["body"] == "lewat socket"
    statuses = (await ani.http.get(f"/api/v1/rooms/{dm['id']}/messages")).json()["messages"]
    assert [m["status"] for m in statuses] == ["sent", "sent", "sent"]
    assert ani_view == [
        (await ani.http.get(path)).json()
        for path in (f"/api/v1/rooms/{dm['id']}", f"/api/v1/rooms/{dm['id']}/members")
    ]
    about_budi = [
        f for f in await _replayed(ani, server) if f.get("data", {}).get("user_id") == budi.id
    ]
    assert about_budi == []

    # Not live, not on replay, not in history, not in unread counts.
    await _send(citra, marker_room["id"], "penanda")
    frames = await _frames_until_marker(budi_ws, marker_room["id"])
    assert _messages_in(frames, dm["id"]) == []
    replayed = await _replayed(budi, server)
    assert _messages_in(replayed, dm["id"]) == []
    assert (await budi.http.get(f"/api/v1/rooms/{dm['id']}/messages")).status_code == 404
    mine = (await budi.http.get("/api/v1/rooms")).json()
    assert mine["requests"] == [] and dm["id"] not in {r["id"] for r in mine["rooms"]}


async def test_r18_people_who_share_a_group_skip_the_request(server: RunningServer) -> None:
    ani, budi = await make_user(server), await make_user(server)
    await make_room(ani, members=[budi])
    budi_ws = await WsClient.open(server.ws_url, budi.token)
    opened = await ani.http.post("/api/v1/rooms/direct", json={"user_id": budi.id})
    dm = opened.json()
    joined = await budi_ws.recv_event("membership")
    assert joined["room_id"] == dm["id"] and joined["data"]["user_id"] in (ani.id, budi.id)
    await _send(ani, dm["id"], "kita sudah kenal")
    live = await budi_ws.recv_event("message.created")
    assert live["room_id"] == dm["id"]
    assert (await budi.http.get("/api/v1/rooms")).json()["requests"] == []


async def test_r18_with_requests_off_a_strangers_chat_arrives_directly(
    server: RunningServer,
) -> None:
    ani, budi = await make_user(server), await make_user(server)
    await budi.http.patch("/api/v1/me/contact-settings", json={"message_requests": False})
    budi_ws = await WsClient.open(server.ws_url, budi.token)
    dm = await make_direct(ani, budi, accept=False)
    await _send(ani, dm["id"], "langsung")
    live = await budi_ws.recv_event("message.created")
    assert live["room_id"] == dm["id"] and live["data"]["body"] == "langsung"
    mine = (await budi.http.get("/api/v1/rooms")).json()
    assert mine["requests"] == [] and dm["id"] in {r["id"] for r in mine["rooms"]}


async def test_r18_a_block_wins_over_a_pending_request(server: RunningServer) -> None:
    ani, budi, _, dm = await _stranger_writes(server)
    assert (await budi.http.post("/api/v1/blocks", json={"user_id": ani.id})).status_code == 204
    refused = await ani.http.post(
        f"/api/v1/rooms/{dm['id']}/messages", json={"client_msg_id": "c", "body": "halo"}
    )
    assert refused.status_code == 403 and refused.json()["type"].endswith("/blocked")


async def test_opening_the_chat_yourself_accepts_a_request(server: RunningServer) -> None:
    ani, budi, _, dm = await _stranger_writes(server)
    await budi.http.post(f"/api/v1/rooms/{dm['id']}/decline")
    again = await budi.http.post("/api/v1/rooms/direct", json={"user_id": ani.id})
    assert again.status_code == 200 and again.json()["id"] == dm["id"]
    assert (await _send(budi, dm["id"], "maaf, baru lihat"))["sender_id"] == budi.id


async def test_only_the_recipient_answers_a_request(server: RunningServer) -> None:
    ani, budi, _, dm = await _stranger_writes(server)
    citra = await make_user(server)
    for user in (ani, citra):
        assert (await user.http.post(f"/api/v1/rooms/{dm['id']}/decline")).status_code == 404
    assert (await citra.http.post(f"/api/v1/rooms/{dm['id']}/accept")).status_code == 404
    assert (await budi.http.get(f"/api/v1/rooms/{dm['id']}")).json()["membership"] == "request"
