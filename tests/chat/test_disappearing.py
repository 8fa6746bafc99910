"""Disappearing messages: a room's admins choose a period (off, 1, 7 or 90 days); the
retention sweep removes the room's messages, text and reactions, once it has passed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from obrolan.chat.models import messages, reactions
from obrolan.clock import FakeClock
from tests.privacy.sweeping import SWEEP_SECONDS, removed, run_next_sweep
from tests.support.factories import User, make_direct, make_room, make_user
from tests.support.server import RunningServer, start_server
from tests.support.ws import WsClient

HOUR = 3600


async def _send(user: User, room_id: str, body: str) -> dict[str, Any]:
    resp = await user.http.post(
        f"/api/v1/rooms/{room_id}/messages", json={"client_msg_id": body, "body": body}
    )
    assert resp.status_code == 201, resp.text
    message: dict[str, Any] = resp.json()
    return message


async def _rows(server: RunningServer, table: Any, **where: str) -> int:
    query = select(func.count()).select_from(table)
    for name, value in where.items():
        query = query.where(table.c[name] == value)
    async with server.services.db.read() as conn:
        return int((await conn.execute(query)).scalar_one())


async def test_messages_older_than_the_rooms_period_go_on_the_next_sweep(
    database_url: str, tmp_path: Path
) -> None:
    clock = FakeClock()
    server = await start_server(
        database_url,
        tmp_path,
        clock=clock,
        jobs_poll_seconds=0.05,
        retention_sweep_seconds=SWEEP_SECONDS,
    )
    try:
        owner, member = await make_user(server), await make_user(server)
        room = await make_room(owner, "group", members=[member])
        other_room = await make_room(owner, "group", name="Tetap", members=[member])
        ws = await WsClient.open(server.ws_url, member.token)

        set_day = await owner.http.patch(
            f"/api/v1/rooms/{room['id']}", json={"disappearing_days": 1}
        )
        assert set_day.status_code == 200, set_day.text
        assert set_day.json()["disappearing_days"] == 1
        announced = await ws.recv_event("room.updated")
        assert announced["room_id"] == room["id"]
        assert announced["data"]["disappearing_days"] == 1
        assert announced["data"]["name"] == room["name"]

        old = await _send(owner, room["id"], "lama")
        kept_elsewhere = await _send(owner, other_room["id"], "di ruang lain")
        liked = await member.http.put(f"/api/v1/messages/{old['id']}/reactions/👍")
        assert liked.status_code == 204
        clock.advance(23 * HOUR)
        new = await _send(owner, room["id"], "baru")
        clock.advance(2 * HOUR)  # "lama" is 25 hours old, "baru" 2 hours
        await run_next_sweep(server, clock)

        page = (await member.http.get(f"/api/v1/rooms/{room['id']}/messages")).json()
        assert [m["id"] for m in page["messages"]] == [new["id"]]
        assert await _rows(server, reactions, message_id=old["id"]) == 0
        assert await _rows(server, messages, id=old["id"]) == 0
        assert await _rows(server, messages, id=kept_elsewhere["id"]) == 1
        assert await removed(server, "messages") == {"messages": 1, "reactions": 1}

        # Replaying the room from the start still works: the removed message's events
        # come back as a tombstone with nothing but its id and room.
        replay = await WsClient.open(server.ws_url, member.token, since=0)
        replayed: list[dict[str, Any]] = []

        def up_to_new(frame: dict[str, Any]) -> bool:
            if frame.get("type") == "event":
                replayed.append(frame)
            return frame.get("kind") == "message.created" and frame["data"]["id"] == new["id"]

        await replay.recv_until(up_to_new)
        created = {f["data"]["id"]: f["data"] for f in replayed if f["kind"] == "message.created"}
        assert created[old["id"]]["deleted"] is True
        assert created[old["id"]]["body"] is None
        assert created[old["id"]]["sender_id"] is None
        assert created[new["id"]]["body"] == "baru"
        assert created[kept_elsewhere["id"]]["body"] == "di ruang lain"
        assert [f["data"]["message_id"] for f in replayed if f["kind"] == "reaction.added"] == [
            old["id"]
        ]
    finally:
        await server.shutdown()


async def test_only_the_rooms_admins_set_disappearing_messages(server: RunningServer) -> None:
    owner, member, outsider = (
        await make_user(server),
        await make_user(server),
        await make_user(server),
    )
    room = await make_room(owner, "private", "Pengurus", members=[member])
    assert (await member.http.post(f"/api/v1/rooms/{room['id']}/join")).status_code == 200
    path = f"/api/v1/rooms/{room['id']}"

    as_member = await member.http.patch(path, json={"disappearing_days": 7})
    assert as_member.status_code == 403, as_member.text
    assert as_member.headers["content-type"].startswith("application/problem+json")
    as_outsider = await outsider.http.patch(path, json={"disappearing_days": 7})
    assert as_outsider.status_code == 404, as_outsider.text
    odd = await owner.http.patch(path, json={"disappearing_days": 3})
    assert odd.status_code == 422, odd.text
    assert (await member.http.get(path)).json()["disappearing_days"] == 0

    appointed = await owner.http.put(
        f"/api/v1/rooms/{room['id']}/members/{member.id}/role", json={"role": "admin"}
    )
    assert appointed.status_code == 204
    as_admin = await member.http.patch(path, json={"disappearing_days": 90})
    assert as_admin.status_code == 200, as_admin.text
    assert (await owner.http.get(path)).json()["disappearing_days"] == 90
    # A name change leaves the period as it is; 0 turns it off.
    renamed = await owner.http.patch(path, json={"name": "Pengurus Baru"})
    assert renamed.json()["disappearing_days"] == 90
    off = await owner.http.patch(path, json={"disappearing_days": 0})
    assert off.json()["disappearing_days"] == 0

    direct = await make_direct(owner, outsider)
    in_direct = await owner.http.patch(
        f"/api/v1/rooms/{direct['id']}", json={"disappearing_days": 1}
    )
    assert in_direct.status_code == 403, in_direct.text
