"""How rooms and messages look to clients: one shape for REST, acks and events."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row

from obrolan.accounts.keys import aad, open_text
from obrolan.chat.store import RoomRow
from obrolan.realtime.frames import iso


def message_aad(message_id: str) -> bytes:
    return aad("messages", "body_enc", message_id)


def message_view(row: Row[Any] | Any, body: str | None) -> dict[str, Any]:
    """A message as clients see it; `body` is None for a tombstone or an erased author."""
    deleted = row.deleted_at is not None
    return {
        "id": row.id,
        "room_id": row.room_id,
        "sender_id": row.sender_id,
        "client_msg_id": row.client_msg_id,
        "position": row.position,
        "body": None if deleted else body,
        "reply_to": row.reply_to_id,
        "created_at": iso(row.created_at),
        "edited_at": iso(row.edited_at),
        "deleted": deleted,
    }


def new_message_view(
    message_id: str,
    room_id: str,
    sender_id: str,
    client_msg_id: str,
    body: str,
    reply_to: str | None,
    created_at: str | None,
) -> dict[str, Any]:
    """`message_view` of a message being sent: its position comes once it is written."""
    return {
        "id": message_id,
        "room_id": room_id,
        "sender_id": sender_id,
        "client_msg_id": client_msg_id,
        "position": 0,
        "body": body,
        "reply_to": reply_to,
        "created_at": created_at,
        "edited_at": None,
        "deleted": False,
    }


def gone_message_view(message_id: str, room_id: str | None) -> dict[str, Any]:
    """A message whose row no longer exists (disappearing messages removed it): a
    tombstone with nothing but its id and room, so replaying its events still works."""
    return {
        "id": message_id,
        "room_id": room_id,
        "sender_id": None,
        "client_msg_id": None,
        "position": None,
        "body": None,
        "reply_to": None,
        "created_at": None,
        "edited_at": None,
        "deleted": True,
    }


def message_views(rows: Sequence[Row[Any]], keys: dict[str, bytes]) -> list[dict[str, Any]]:
    """Views of stored messages, opening each body with its author's data key."""
    return [
        message_view(r, open_text(keys.get(r.sender_id), r.body_enc, message_aad(r.id)))
        for r in rows
    ]


def room_view(room: RoomRow, **extra: Any) -> dict[str, Any]:
    return {
        "id": room.id,
        "kind": room.kind.value,
        "name": room.name,
        "topic": room.topic,
        "created_by": room.created_by,
        "created_at": iso(room.created_at),
        "disappearing_days": room.disappearing_days,
        **extra,
    }
