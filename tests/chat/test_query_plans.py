"""The send path looks rows up through indexes, never by scanning a whole table.

A batch of sends checks memberships, blocks and earlier client ids for many pairs at
once. Written as a row-value IN, SQLite scans the table for that, and a batch that took
4 ms on a new server took 1.7 s once it held a million messages.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event

from tests.support.factories import make_direct, make_user
from tests.support.server import RunningServer
from tests.support.ws import WsClient

BIG_TABLES = ("messages", "memberships", "blocks", "events", "users")


async def test_sending_scans_no_table(server: RunningServer) -> None:
    if not server.settings.is_sqlite:
        pytest.skip("reads SQLite's query plans")
    ani, budi = await make_user(server), await make_user(server)
    room = await make_direct(ani, budi)
    a = await WsClient.open(server.ws_url, ani.token)
    b = await WsClient.open(server.ws_url, budi.token)
    engine = server.services.db.engine.sync_engine
    statements: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, sql: str, params: Any, _ctx: Any, _many: bool) -> None:
        if sql.lstrip().upper().startswith(("SELECT", "WITH")):
            statements.append((sql, params))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        # Pipelined from two people, so that sends are checked in batches.
        for i in range(20):
            for ws in (a, b):
                frame = {"type": "send", "id": i, "room_id": room["id"], "body": "x"}
                await ws.send({**frame, "client_msg_id": f"c{i}"})
        for ws in (a, b):
            for _ in range(20):
                assert (await ws.recv_type("ack"))["type"] == "ack"
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    assert statements
    scans = []
    async with server.services.db.read() as conn:
        for sql, params in statements:
            plan = await conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql, params)
            for row in plan:
                detail = str(row[-1])
                if any(detail.startswith(f"SCAN {t}") for t in BIG_TABLES):
                    scans.append((detail, sql))
    assert scans == []
