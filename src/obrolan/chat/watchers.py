"""Room watchers: another domain told, inside the chat's own transaction, of what happens
in rooms of one kind (business chats tell obrolan.business, which reports to the
business's systems). The chat does not know what a watcher does; a room of a kind
nobody watches costs nothing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from obrolan.chat.store import RoomRow
from obrolan.realtime.stream import Transaction


@dataclass(frozen=True, slots=True)
class WatchedMessage:
    room: RoomRow
    message_id: str
    sender_id: str
    body: str
    reply_to: str | None
    created_at: datetime


class RoomWatcher(Protocol):
    async def messages(self, tx: Transaction, sent: list[WatchedMessage]) -> None:
        """New messages, before the transaction's events are written."""

    async def receipt(
        self, tx: Transaction, room: RoomRow, user_id: str, delivered_up_to: int, read_up_to: int
    ) -> None:
        """A member's receipts moved forward."""

    async def reaction(
        self,
        tx: Transaction,
        room: RoomRow,
        message_id: str,
        user_id: str,
        emoji: str,
        *,
        added: bool,
    ) -> None:
        """A member added or removed a reaction."""
