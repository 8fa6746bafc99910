"""Stream positions: ordered within a transaction, and never reused."""

from __future__ import annotations

from sqlalchemy import delete

from obrolan.clock import Clock
from obrolan.db import Database
from obrolan.realtime.hub import Hub, LocalBroker
from obrolan.realtime.models import events
from obrolan.realtime.stream import EventStream, NewEvent


def _event(n: int) -> NewEvent:
    return NewEvent("test.ping", "room", None, {"n": n})


async def test_positions_grow_and_are_never_reused_after_deletion(database_url: str) -> None:
    db = Database(database_url)
    stream = EventStream(db, LocalBroker(Hub()), Clock())
    try:
        async with stream.transaction() as tx:
            first = await tx.append(_event(1), _event(2), _event(3))
        assert first == sorted(first) and len(set(first)) == 3
        # A retention sweep may delete the newest events; their positions stay spent,
        # or a client holding `since` = the deleted position would miss the next event.
        async with db.write() as conn:
            await conn.execute(delete(events).where(events.c.position >= first[1]))
        async with stream.transaction() as tx:
            later = await tx.append(_event(4))
        assert later[0] > first[-1]
        async with db.read() as conn:
            assert await stream.head(conn) == later[0]
    finally:
        await db.dispose()
