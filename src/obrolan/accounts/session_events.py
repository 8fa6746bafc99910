"""What sockets see of sessions: revocations (which close them) and new-device alerts (R17)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from obrolan.accounts import store
from obrolan.accounts.keys import DataKeys
from obrolan.accounts.views import open_device_name
from obrolan.realtime.frames import iso
from obrolan.realtime.stream import NewEvent, Transaction

SESSION_REVOKED = "session.revoked"
SESSION_NEW_DEVICE = "session.new_device"


async def revoke(tx: Transaction, user_id: str, session_ids: Sequence[str]) -> None:
    """Revoke sessions; the events close their sockets once the transaction commits."""
    await store.revoke_sessions(tx.conn, session_ids, tx.now)
    if session_ids:
        tx.append(
            *(
                NewEvent(
                    kind=SESSION_REVOKED,
                    room_id=None,
                    actor_id=user_id,
                    target_user_id=user_id,
                    data={"session_id": sid},
                )
                for sid in session_ids
            )
        )


async def alert_new_device(
    tx: Transaction, user_id: str, session_id: str, device_name: str | None
) -> None:
    """Tell the person's other sessions that a new one signed in."""
    alert = NewEvent(
        kind=SESSION_NEW_DEVICE,
        room_id=None,
        actor_id=user_id,
        target_user_id=user_id,
        data={"session_id": session_id},
    )
    tx.append(alert)
    # R6: the stored row keeps only the session id (serialised by append above). The
    # device name joins the live frame only; replay reads it from the sealed session.
    alert.data.update(device_name=device_name, at=iso(tx.now))


class SessionEventHydrator:
    """Replayed new-device alerts, with the device name opened from the session row.

    `session.revoked` rows are left out: their stored payload is the whole event.
    """

    def __init__(self, data_keys: DataKeys) -> None:
        self.data_keys = data_keys

    async def __call__(
        self, conn: AsyncConnection, rows: Sequence[Row[Any]]
    ) -> dict[int, dict[str, Any]]:
        alerts = [
            (row, str(orjson.loads(row.payload)["session_id"]))
            for row in rows
            if row.kind == SESSION_NEW_DEVICE and row.payload
        ]
        if not alerts:
            return {}
        sessions = {s.id: s for s in await store.sessions_by_ids(conn, [sid for _, sid in alerts])}
        keys = await self.data_keys.get_many({s.user_id for s in sessions.values()})
        hydrated: dict[int, dict[str, Any]] = {}
        for row, sid in alerts:
            session = sessions.get(sid)
            device_name = open_device_name(keys.get(session.user_id), session) if session else None
            hydrated[row.position] = {
                "session_id": sid,
                "device_name": device_name,
                "at": iso(session.created_at if session else row.created_at),
            }
        return hydrated
