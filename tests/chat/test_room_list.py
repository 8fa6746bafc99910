"""The room list: each joined room's newest message, read for all rooms in one query (F2)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event

from tests.support.factories import make_direct, make_room, make_user
from tests.support.server import RunningServer


async def _send(user: Any, room_id: str, cid: str, body: str) -> dict[str, Any]:
    resp = await user.http.post(
        f"/api/v1/rooms/{room_id}/messages", json={"client_msg_id": cid, "body": body}
    )
    assert resp.status_code == 201, resp.text
    message: dict[str, Any] = resp.json()
    return message


async def test_f2_room_list_carries_each_rooms_last_message(server: RunningServer) -> None:
    ani, budi, citra = [await make_user(server) for _ in range(3)]
    direct = await make_direct(ani, budi)
    group = await make_room(ani, "group", "Arisan", [budi, citra])
    quiet = await make_room(ani, "group", "Sepi", [budi])
    await _send(ani, direct["id"], "d1", "halo Budi")
    await _send(budi, direct["id"], "d2", "halo juga")
    await _send(citra, group["id"], "g1", "siapa yang bayar?")
    last = await _send(ani, group["id"], "g2", "aku")
    removed = await ani.http.delete(f"/api/v1/messages/{last['id']}")
    assert removed.status_code == 200

    rooms = {r["id"]: r for r in (await ani.http.get("/api/v1/rooms")).json()["rooms"]}
    newest = rooms[direct["id"]]["last_message"]
    assert newest["body"] == "halo juga" and newest["sender_id"] == budi.id
    assert newest["deleted"] is False and newest["created_at"]
    # A deleted newest message shows as its tombstone: no text, never the old body.
    tomb = rooms[group["id"]]["last_message"]
    assert tomb["id"] == last["id"] and tomb["deleted"] is True and tomb["body"] is None
    assert rooms[quiet["id"]]["last_message"] is None
    # Each person sees the same newest message of a shared room.
    theirs = {r["id"]: r for r in (await budi.http.get("/api/v1/rooms")).json()["rooms"]}
    assert theirs[direct["id"]]["last_message"]["id"] == newest["id"]


async def test_f2_last_messages_take_one_query_for_all_rooms(server: RunningServer) -> None:
    ani, budi = await make_user(server), await make_user(server)
    rooms = [await make_room(ani, "group", f"Ruang {i}", [budi]) for i in range(6)]
    for i, room in enumerate(rooms):
        await _send(budi, room["id"], f"m{i}", f"pesan {i}")
    engine = server.services.db.engine.sync_engine
    reads: list[str] = []

    def capture(_conn: Any, _cursor: Any, sql: str, *_: Any) -> None:
        if "FROM messages" in sql and "max(messages.position)" in sql.lower():
            reads.append(sql)

    event.listen(engine, "before_cursor_execute", capture)
    try:
        listing = (await ani.http.get("/api/v1/rooms")).json()["rooms"]
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    assert sorted(r["last_message"]["body"] for r in listing) == [f"pesan {i}" for i in range(6)]
    assert len(reads) == 1
