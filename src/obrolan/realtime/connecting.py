"""The read a socket makes once it is registered with the hub (docs/protocol.md, "Connecting")."""

from __future__ import annotations

from obrolan.accounts.principal import Principal
from obrolan.db import Database
from obrolan.realtime import store
from obrolan.realtime.store import ConnectSnapshot


async def read_connect_snapshot(
    db: Database, principal: Principal, *, with_high_water: bool
) -> ConnectSnapshot:
    """The head, the high-water mark (if asked), the person's rooms and whether the
    session is still active: one statement, so one snapshot on either backend."""
    async with db.single_statement() as conn:
        return await store.connect_snapshot(
            conn, principal.user_id, principal.session_id, with_high_water=with_high_water
        )
