"""Writing membership changes and the events that tell of them (F2, R18)."""

from __future__ import annotations

from collections.abc import Sequence

from obrolan.chat import store
from obrolan.chat.rules import Role, State, told_to_target_only
from obrolan.realtime.stream import NewEvent, Transaction


async def change_memberships(
    tx: Transaction, room_id: str, changes: Sequence[tuple[str, State, Role]], *, by: str
) -> None:
    """Set each (person, state, role) in the room and append one `membership` event each.

    The person concerned hears of it even when not (or no longer) in the room. A message
    request and its decline reach that person alone: the event names no room to route
    by (only its data does), so the sender neither receives it live nor on replay.
    """
    await store.put_memberships(tx.conn, room_id, changes, by=by, now=tx.now)
    events = []
    for uid, state, role in changes:
        data = {"user_id": uid, "state": state.value, "role": role.value, "by": by}
        if told_to_target_only(state):
            events.append(NewEvent("membership", None, by, {**data, "room_id": room_id}, uid))
        else:
            events.append(NewEvent("membership", room_id, by, data, target_user_id=uid))
    tx.append(*events)
