"""A socket that connects while its person's rooms or sessions change sees the change.

Each test races the change against the connect many times, on real sockets: the
gateway registers the socket first and reads the rooms and the session after, so no
change committed meanwhile slips between the two (docs/protocol.md, "Connecting").
"""

from __future__ import annotations

import asyncio
import random
from typing import Any

import orjson
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.support.factories import User, login, make_direct, make_room, make_user
from tests.support.server import RunningServer
from tests.support.ws import WsClient

ROUNDS = 10
SOCKETS = 8  # opened at once in each round, so some are mid-connect when the change lands


async def _jittered(work: Any) -> Any:
    # Spread the connects over the change's few milliseconds, so that in every round
    # some socket is at each step of its connect when the change commits.
    await asyncio.sleep(random.uniform(0, 0.02))
    return await work


async def _frames_until_marker(ws: WsClient, marker_room: str) -> list[dict[str, Any]]:
    """Everything the socket receives up to the next message in `marker_room`."""
    seen: list[dict[str, Any]] = []
    async with asyncio.timeout(5):
        while True:
            frame = await ws.recv()
            seen.append(frame)
            if frame.get("kind") == "message.created" and frame.get("room_id") == marker_room:
                return seen


async def test_r18_a_member_kicked_while_connecting_gets_nothing_more_of_the_room(
    server: RunningServer,
) -> None:
    owner = await make_user(server)
    for i in range(ROUNDS):
        member = await make_user(server)
        room = await make_room(owner, "private", "Rahasia", members=[member])
        assert (await member.http.post(f"/api/v1/rooms/{room['id']}/join")).status_code == 200
        marker = await make_direct(owner, member)

        kick = owner.http.post(f"/api/v1/rooms/{room['id']}/kicks", json={"user_id": member.id})
        *sockets, kicked = await asyncio.gather(
            *(_jittered(WsClient.open(server.ws_url, member.token)) for _ in range(SOCKETS)), kick
        )
        assert kicked.status_code == 204
        for ws in sockets:
            await ws.send({"type": "typing", "id": "t", "room_id": room["id"], "typing": True})
        resp = await owner.http.post(
            f"/api/v1/rooms/{room['id']}/messages",
            json={"client_msg_id": f"x{i}", "body": "secret"},
        )
        assert resp.status_code == 201
        await owner.http.post(
            f"/api/v1/rooms/{marker['id']}/messages",
            json={"client_msg_id": f"m{i}", "body": "marker"},
        )
        for ws in sockets:
            seen = await _frames_until_marker(ws, marker["id"])
            leaked = [
                f for f in seen if f.get("kind") == "message.created" and f["room_id"] == room["id"]
            ]
            assert leaked == []
            typing_answer = [f for f in seen if f.get("type") == "error" and f.get("id") == "t"]
            assert typing_answer and typing_answer[0]["error"]["status"] == 404
            await ws.close()


async def _open_or_refused(server: RunningServer, token: str) -> WsClient | None:
    try:
        return await WsClient.open(server.ws_url, token)
    except ConnectionClosed as closed:
        assert closed.rcvd is not None and closed.rcvd.code == 4401
        return None


async def test_r17_a_session_revoked_while_connecting_closes_its_socket(
    server: RunningServer,
) -> None:
    for _ in range(ROUNDS):
        person = await make_user(server)
        other_device = await _second_session(server, person)
        revoke = other_device.delete(f"/api/v1/sessions/{await _session_id(person)}")
        *sockets, revoked = await asyncio.gather(
            *(_jittered(_open_or_refused(server, person.token)) for _ in range(SOCKETS)), revoke
        )
        assert revoked.status_code == 204
        for ws in sockets:
            if ws is None:
                continue  # refused at hello: the revocation came first
            with pytest.raises(ConnectionClosed) as closed:
                async with asyncio.timeout(5):
                    while True:
                        await ws.recv()
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401


async def test_f2_a_person_added_to_a_group_while_connecting_gets_its_messages(
    server: RunningServer,
) -> None:
    owner = await make_user(server)
    for i in range(ROUNDS):
        person = await make_user(server)
        create = make_room(owner, "group", f"Grup {i}", members=[person])
        *sockets, room = await asyncio.gather(
            *(_jittered(WsClient.open(server.ws_url, person.token)) for _ in range(SOCKETS)), create
        )
        resp = await owner.http.post(
            f"/api/v1/rooms/{room['id']}/messages", json={"client_msg_id": f"g{i}", "body": "halo"}
        )
        assert resp.status_code == 201
        for ws in sockets:
            got = await ws.recv_until(
                lambda f, room_id=room["id"]: (
                    f.get("kind") == "message.created" and f.get("room_id") == room_id
                )
            )
            assert got["data"]["body"] == "halo"
            await ws.close()


async def test_f2_ready_is_the_first_frame_when_a_room_connects_at_once(
    server: RunningServer,
) -> None:
    people = [await make_user(server) for _ in range(40)]
    await make_room(people[0], "group", "Ramai", members=people[1:])
    firsts = await asyncio.gather(*(_first_frame(server, p) for p in people))
    assert [f["type"] for f in firsts] == ["ready"] * len(people)


async def _first_frame(server: RunningServer, person: User) -> dict[str, Any]:
    ws = await connect(server.ws_url, max_queue=None)
    try:
        await ws.send(orjson.dumps({"type": "hello", "token": person.token}).decode())
        frame: dict[str, Any] = orjson.loads(await asyncio.wait_for(ws.recv(), 5))
        # Let the others' presence frames arrive before this socket closes.
        await asyncio.sleep(0.05)
        return frame
    finally:
        await ws.close()


async def _second_session(server: RunningServer, person: User) -> Any:
    return server.http(await login(server, person.username))


async def _session_id(person: User) -> str:
    sessions = (await person.http.get("/api/v1/sessions")).json()
    current: str = next(s["id"] for s in sessions if s["current"])
    return current
