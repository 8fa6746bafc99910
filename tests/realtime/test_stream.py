"""The stream: positions ordered and never reused; one row per event, whoever receives it."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import delete, func, select

from obrolan.clock import Clock
from obrolan.db import Database
from obrolan.realtime import stream as stream_module
from obrolan.realtime.hub import Hub, LocalBroker
from obrolan.realtime.models import events
from obrolan.realtime.stream import EventStream, NewEvent
from tests.support.factories import make_room, make_user
from tests.support.server import RunningServer
from tests.support.ws import WsClient


def _event(n: int) -> NewEvent:
    return NewEvent("test.ping", "room", None, {"n": n})


async def test_positions_grow_and_are_never_reused_after_deletion(database_url: str) -> None:
    db = Database(database_url)
    stream = EventStream(db, LocalBroker(Hub()), Clock())
    try:
        async with stream.transaction() as tx:
            tx.append(_event(1), _event(2), _event(3))
            first = await tx.write_events()
        assert first == sorted(first) and len(set(first)) == 3
        # A retention sweep may delete the newest events; their positions stay spent,
        # or a client holding `since` = the deleted position would miss the next event.
        async with db.write() as conn:
            await conn.execute(delete(events).where(events.c.position >= first[1]))
        async with stream.transaction() as tx:
            tx.append(_event(4))
            later = await tx.write_events()
        assert later[0] > first[-1]
        async with db.read() as conn:
            assert await stream.head(conn) == later[0]
    finally:
        await db.dispose()


async def test_a_message_to_a_big_room_is_one_stream_row_and_one_serialisation(
    server: RunningServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    owner = await make_user(server)
    members = [await make_user(server) for _ in range(20)]
    room = await make_room(owner, "group", members=members)
    sockets = [await WsClient.open(server.ws_url, m.token) for m in members]
    sender = await WsClient.open(server.ws_url, owner.token)
    serialised: list[str] = []
    real_dumps = stream_module.dumps

    def counting_dumps(frame: dict[str, Any]) -> str:
        serialised.append(frame["kind"])
        return real_dumps(frame)

    monkeypatch.setattr(stream_module, "dumps", counting_dumps)
    async with server.services.db.read() as conn:
        before = await conn.scalar(select(func.count()).select_from(events))
    ack = await sender.send_message(room["id"], "halo semua")
    for ws in sockets:
        assert (await ws.recv_event("message.created"))["position"] == ack["position"]
    async with server.services.db.read() as conn:
        after = await conn.scalar(select(func.count()).select_from(events))
    assert after == before + 1
    assert serialised == ["message.created"]
