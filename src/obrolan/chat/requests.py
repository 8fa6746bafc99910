"""Message requests: a stranger's direct chat waits for its recipient (R18).

When someone opens a direct chat with a person who has `message_requests` on and with
whom they share no room, the recipient's membership is `request`: the opener's
messages are stored, but the recipient is not subscribed to the room, so they reach
them neither live nor on replay, and count as no unread. The recipient gets one
`membership` event addressed to them alone, lists the request under GET /rooms, and
accepts (a joined member: history, then live) or declines (nothing of the room reaches
them). The opener is told of neither: their sends answer as any send does.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from obrolan.accounts import store as accounts_store
from obrolan.accounts.keys import DataKeys
from obrolan.accounts.views import public_view
from obrolan.chat import store
from obrolan.chat.memberships import change_memberships
from obrolan.chat.rules import Kind, Role, State, may_accept_request
from obrolan.chat.store import MembershipRow, RoomRow
from obrolan.chat.views import room_view
from obrolan.errors import NotFound
from obrolan.profile.fields import SharedProfile
from obrolan.realtime.stream import EventStream, Transaction

_NO_REQUEST = "no message request of yours in this room"


class MessageRequests:
    def __init__(self, stream: EventStream, data_keys: DataKeys) -> None:
        self.stream = stream
        self.data_keys = data_keys

    async def accept(self, actor: str, room_id: str) -> dict[str, Any]:
        """Join the direct chat: its history opens, and new messages arrive live.

        Accepting an accepted request changes nothing; a declined one may still be
        accepted.
        """
        async with self.stream.transaction() as tx:
            room, me = await self._request_room(tx.conn, actor, room_id)
            if me.state is not State.JOIN:
                await accept_in(tx, room, actor)
        return room_view(room)

    async def decline(self, actor: str, room_id: str) -> None:
        """Nothing more of the room reaches the actor; the sender is not told."""
        async with self.stream.transaction() as tx:
            room, me = await self._request_room(tx.conn, actor, room_id)
            if me.state is State.JOIN:
                raise NotFound(_NO_REQUEST)
            if me.state is State.REQUEST:
                await change_memberships(
                    tx, room.id, [(actor, State.DECLINED, Role.MEMBER)], by=actor
                )

    async def pending(self, conn: AsyncConnection, actor: str) -> list[dict[str, Any]]:
        """The actor's pending requests: the room, who sent it, how many messages wait."""
        rows = await store.rooms_of(conn, actor, [State.REQUEST])
        counts = await store.request_message_counts(conn, actor)
        out = []
        for room, _ in rows:
            sender = await accounts_store.user_by_id(conn, room.created_by or "")
            if sender is None:
                continue  # the sender's account is closed: nothing to answer
            key = await self.data_keys.get(sender.id)
            # Only the sender's name goes with a request: none of their profile fields.
            profile = public_view(key, sender, SharedProfile())
            out.append(
                room_view(
                    room,
                    sender={
                        "id": profile.id,
                        "username": profile.username,
                        "display_name": profile.display_name,
                    },
                    messages=counts.get(room.id, 0),
                )
            )
        return out

    async def _request_room(
        self, conn: AsyncConnection, actor: str, room_id: str
    ) -> tuple[RoomRow, MembershipRow]:
        room = await store.get_room(conn, room_id)
        me = await store.get_membership(conn, room_id, actor) if room else None
        ok = me is not None and (may_accept_request(me.state) or me.state is State.JOIN)
        if room is None or room.kind is not Kind.DIRECT or me is None or not ok:
            raise NotFound(_NO_REQUEST)
        return room, me


async def accept_in(tx: Transaction, room: RoomRow, actor: str) -> None:
    """Make the actor a joined member of the direct chat, within `tx`."""
    await change_memberships(tx, room.id, [(actor, State.JOIN, Role.MEMBER)], by=actor)
