"""Chat actions: rooms, membership, messages, reactions, receipts, blocks (F2, R18).

Every action takes the acting person's id, decides with rules.py, and writes its rows
and its stream events in one transaction. Sending messages goes through the batching
MessageWriter (writer.py); everything else is one transaction per action.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from obrolan.accounts.keys import DataKeys, seal_text
from obrolan.chat import store
from obrolan.chat.memberships import change_memberships
from obrolan.chat.requests import MessageRequests, accept_in
from obrolan.chat.rules import (
    Kind,
    Role,
    State,
    arrives_as_request,
    direct_key,
    dm_status,
    hides_existence,
    is_admin,
    is_two_person,
    may_delete_message,
    may_invite,
    may_join_uninvited,
    may_remove,
    may_set_role,
    may_update_room,
)
from obrolan.chat.store import MembershipRow, RoomRow
from obrolan.chat.views import gone_message_view, message_aad, message_views, room_view
from obrolan.chat.watchers import RoomWatcher
from obrolan.chat.writer import Done, MessageWriter, SendResult
from obrolan.clock import Clock
from obrolan.config import Settings
from obrolan.db import Database
from obrolan.errors import Conflict, Forbidden, Invalid, NotFound
from obrolan.ids import new_id
from obrolan.ops.metrics import Metrics
from obrolan.privacy.requests import require_unrestricted
from obrolan.privacy.retention import DISAPPEARING_DAYS
from obrolan.realtime.frames import iso
from obrolan.realtime.stream import EventStream, NewEvent, Transaction

# How many people one presence request may ask about.
MAX_PRESENCE_IDS = 100


@dataclass(frozen=True, slots=True)
class Page:
    messages: list[dict[str, Any]]
    has_more: bool


class ChatService:
    def __init__(
        self,
        settings: Settings,
        db: Database,
        stream: EventStream,
        data_keys: DataKeys,
        clock: Clock,
        metrics: Metrics,
    ) -> None:
        self.settings = settings
        self.db = db
        self.stream = stream
        self.data_keys = data_keys
        self.clock = clock
        self.writer = MessageWriter(stream, data_keys, clock, metrics)
        self.requests = MessageRequests(stream, data_keys)
        stream.register_hydrator("message.", self._hydrate_message_events)

    def watch(self, kind: Kind, watcher: RoomWatcher) -> None:
        """Tell `watcher` of messages, receipts and reactions in rooms of `kind`."""
        self.writer.watchers[kind] = watcher

    async def start(self) -> None:
        self.writer.start()

    async def stop(self) -> None:
        await self.writer.stop()

    # -- rooms -------------------------------------------------------------------------
    async def create_room(
        self, actor: str, kind: Kind, name: str | None, topic: str | None, member_ids: Sequence[str]
    ) -> dict[str, Any]:
        """A group, private or public room; `member_ids` join a group, are invited elsewhere."""
        if kind is Kind.DIRECT:
            raise Invalid("open direct chats with POST /rooms/direct", field="kind")
        if kind is Kind.BUSINESS:
            raise Invalid("a business chat is opened by the business's message", field="kind")
        if kind is not Kind.GROUP and not name:
            raise Invalid("private and public rooms need a name", field="name")
        others = [m for m in dict.fromkeys(member_ids) if m != actor]
        async with self.stream.transaction() as tx:
            await require_unrestricted(tx.conn, actor)  # R8
            if set(others) - await store.existing_user_ids(tx.conn, others):
                raise NotFound("some members do not exist", field="members")
            # R18: people who blocked the creator are not added or invited.
            blocked_by = {
                a for a, _ in await store.blocked_pairs(tx.conn, ((o, actor) for o in others))
            }
            others = [o for o in others if o not in blocked_by]
            room = RoomRow(new_id(), kind, name, topic, actor, tx.now)
            await store.insert_room(tx.conn, room)
            state = State.JOIN if kind is Kind.GROUP else State.INVITE
            changes = [(actor, State.JOIN, Role.OWNER)] + [(o, state, Role.MEMBER) for o in others]
            await self._change_memberships(tx, room, changes, by=actor)
        return room_view(room)

    async def open_direct(self, actor: str, other: str) -> tuple[dict[str, Any], bool]:
        """The direct chat between the two, created if needed; (room, created).

        R18: with `other`'s message requests on and no room the two share, it reaches
        them as a request (requests.py). Opening a chat that is a request to the actor
        accepts it.
        """
        if other == actor:
            raise Invalid("a direct chat needs another person", field="user_id")
        key = direct_key(actor, other)
        async with self.stream.transaction() as tx:
            await require_unrestricted(tx.conn, actor)  # R8
            if not await store.existing_user_ids(tx.conn, [other]):
                raise NotFound("no such person", field="user_id")
            if await store.either_blocked(tx.conn, actor, other):
                raise Forbidden("you cannot message this person", type_slug="blocked")
            existing = await store.get_direct_room(tx.conn, key)
            if existing is not None:
                me = await store.get_membership(tx.conn, existing.id, actor)
                if me is not None and me.state is not State.JOIN:
                    await accept_in(tx, existing, actor)
                return room_view(existing), False
            as_request = arrives_as_request(
                wants_requests=await store.wants_message_requests(tx.conn, other),
                share_a_room=await store.share_a_room(tx.conn, actor, other),
            )
            room = RoomRow(new_id(), Kind.DIRECT, None, None, actor, tx.now, key)
            await store.insert_room(tx.conn, room)
            their_state = State.REQUEST if as_request else State.JOIN
            changes = [(actor, State.JOIN, Role.MEMBER), (other, their_state, Role.MEMBER)]
            await self._change_memberships(tx, room, changes, by=actor)
        return room_view(room), True

    async def get_room(self, actor: str, room_id: str) -> dict[str, Any]:
        async with self.db.read() as conn:
            room, membership = await self._visible_room(conn, actor, room_id)
            members = await store.room_members(conn, room_id, [State.JOIN])
        return room_view(
            room,
            member_count=len(members),
            membership=membership.state.value if membership else None,
            role=membership.role.value if membership else None,
        )

    async def my_rooms(self, actor: str) -> dict[str, list[dict[str, Any]]]:
        """Rooms I am in, with unread counts, rooms I am invited to, message requests."""
        async with self.db.read() as conn:
            mine = await store.rooms_of(conn, actor, [State.JOIN, State.INVITE])
            unread = await store.unread_counts(conn, actor)
            newest = await store.last_messages(conn, actor)
            requests = await self.requests.pending(conn, actor)
        keys = await self.data_keys.get_many({r.sender_id for r in newest if r.deleted_at is None})
        last = {view["room_id"]: view for view in message_views(newest, keys)}
        joined = [
            room_view(
                r,
                role=m.role.value,
                unread=unread.get(r.id, 0),
                read_up_to=m.read_up_to,
                last_message=last.get(r.id),
            )
            for r, m in mine
            if m.state is State.JOIN
        ]
        invites = [room_view(r) for r, m in mine if m.state is State.INVITE]
        return {"rooms": joined, "invites": invites, "requests": requests}

    async def search_public(self, query: str, limit: int, after: str | None) -> dict[str, Any]:
        after_name, after_id = None, None
        if after:
            after_name, _, after_id = after.rpartition("\x1f")
        async with self.db.read() as conn:
            found = await store.search_public_rooms(conn, query, limit + 1, after_name, after_id)
        page = found[:limit]
        cursor = f"{page[-1][0].name}\x1f{page[-1][0].id}" if len(found) > limit else None
        return {"rooms": [room_view(r, member_count=n) for r, n in page], "next": cursor}

    async def update_room(
        self,
        actor: str,
        room_id: str,
        name: str | None,
        topic: str | None,
        disappearing_days: int | None = None,
    ) -> dict[str, Any]:
        """Name, topic and disappearing messages (days, 0 for off); None leaves one as is.

        Direct chats have no admins, so their settings stay as they are.
        """
        if disappearing_days is not None and disappearing_days not in DISAPPEARING_DAYS:
            raise Invalid(
                f"disappearing messages: one of {', '.join(map(str, DISAPPEARING_DAYS))} days",
                field="disappearing_days",
            )
        async with self.stream.transaction() as tx:
            room, me = await self._member_room(tx.conn, actor, room_id)
            if not may_update_room(room.kind, me.role):
                raise Forbidden("only admins change a room's settings")
            values: dict[str, Any] = {
                k: v
                for k, v in (
                    ("name", name),
                    ("topic", topic),
                    ("disappearing_days", disappearing_days),
                )
                if v is not None
            }
            if room.kind is not Kind.GROUP and values.get("name") == "":
                raise Invalid("this room needs a name", field="name")
            if not values:
                return room_view(room)  # nothing sent to change: no write, no event
            await store.update_room(tx.conn, room_id, values)
            updated = RoomRow(
                room.id,
                room.kind,
                values.get("name", room.name),
                values.get("topic", room.topic),
                room.created_by,
                room.created_at,
                room.direct_key,
                values.get("disappearing_days", room.disappearing_days),
            )
            tx.append(NewEvent("room.updated", room_id, actor, room_view(updated)))
        return room_view(updated)

    async def members(self, actor: str, room_id: str) -> list[dict[str, Any]]:
        async with self.db.read() as conn:
            await self._member_room(conn, actor, room_id)
            rows = await store.room_members(conn, room_id, [State.JOIN, State.INVITE])
        return [
            {
                "user_id": m.user_id,
                "state": m.state.value,
                "role": m.role.value,
                "delivered_up_to": m.delivered_up_to,
                "read_up_to": m.read_up_to,
            }
            for m in rows
        ]

    async def bans(self, actor: str, room_id: str) -> list[str]:
        """Who is banned from the room, for its admins and owner: the ids, in id order."""
        async with self.db.read() as conn:
            _, me = await self._member_room(conn, actor, room_id)
            if not is_admin(me.role):
                raise Forbidden("only the room's admins see who is banned")
            rows = await store.room_members(conn, room_id, [State.BAN])
        return [m.user_id for m in rows]

    # -- membership --------------------------------------------------------------------
    async def join(self, actor: str, room_id: str) -> dict[str, Any]:
        async with self.stream.transaction() as tx:
            await require_unrestricted(tx.conn, actor)  # R8
            room = await store.get_room(tx.conn, room_id)
            me = await store.get_membership(tx.conn, room_id, actor)
            if room is None or (me is None and hides_existence(room.kind)):
                raise NotFound("room not found")
            if me is not None and me.state is State.JOIN:
                return room_view(room)
            if me is not None and me.state is State.BAN:
                raise Forbidden("you are banned from this room", type_slug="banned")
            invited = me is not None and me.state is State.INVITE
            if not invited and not may_join_uninvited(room.kind):
                raise Forbidden("this room is invite only", type_slug="invite-only")
            role = me.role if me is not None and invited else Role.MEMBER
            await self._change_memberships(tx, room, [(actor, State.JOIN, role)], by=actor)
        return room_view(room)

    async def leave(self, actor: str, room_id: str) -> None:
        async with self.stream.transaction() as tx:
            room = await store.get_room(tx.conn, room_id)
            me = await store.get_membership(tx.conn, room_id, actor)
            if room is None or me is None or me.state not in (State.JOIN, State.INVITE):
                raise NotFound("room not found, or you are not in it")
            if is_two_person(room.kind):
                raise Invalid("a direct chat cannot be left; block the person instead")
            await self._change_memberships(tx, room, [(actor, State.LEAVE, me.role)], by=actor)

    async def invite(self, actor: str, room_id: str, user_id: str) -> None:
        async with self.stream.transaction() as tx:
            await require_unrestricted(tx.conn, actor)  # R8
            room, me = await self._member_room(tx.conn, actor, room_id)
            if not may_invite(room.kind, me.role):
                raise Forbidden("you may not invite people to this room")
            if not await store.existing_user_ids(tx.conn, [user_id]):
                raise NotFound("no such person", field="user_id")
            if await store.either_blocked(tx.conn, actor, user_id):
                raise Forbidden("you cannot invite this person", type_slug="blocked")
            target = await store.get_membership(tx.conn, room_id, user_id)
            if target is not None and target.state is State.BAN:
                raise Conflict("this person is banned; unban them first", field="user_id")
            if target is not None and target.state in (State.JOIN, State.INVITE):
                raise Conflict("already in the room or invited", field="user_id")
            await self._change_memberships(
                tx, room, [(user_id, State.INVITE, Role.MEMBER)], by=actor
            )

    async def remove(self, actor: str, room_id: str, user_id: str, *, ban: bool) -> None:
        """Kick (they may come back if invited or the room is public) or ban."""
        async with self.stream.transaction() as tx:
            room, me = await self._member_room(tx.conn, actor, room_id)
            target = await store.get_membership(tx.conn, room_id, user_id)
            target_role = target.role if target is not None else Role.MEMBER
            if is_two_person(room.kind) or not may_remove(me.role, target_role):
                raise Forbidden("you may not remove this person")
            if not ban and (target is None or target.state not in (State.JOIN, State.INVITE)):
                raise NotFound("this person is not in the room", field="user_id")
            if ban and not await store.existing_user_ids(tx.conn, [user_id]):
                raise NotFound("no such person", field="user_id")
            state = State.BAN if ban else State.LEAVE
            await self._change_memberships(tx, room, [(user_id, state, Role.MEMBER)], by=actor)

    async def unban(self, actor: str, room_id: str, user_id: str) -> None:
        async with self.stream.transaction() as tx:
            room, me = await self._member_room(tx.conn, actor, room_id)
            target = await store.get_membership(tx.conn, room_id, user_id)
            if target is None or target.state is not State.BAN:
                raise NotFound("this person is not banned", field="user_id")
            if not may_remove(me.role, target.role):
                raise Forbidden("you may not unban this person")
            await self._change_memberships(
                tx, room, [(user_id, State.LEAVE, Role.MEMBER)], by=actor
            )

    async def set_role(self, actor: str, room_id: str, user_id: str, role: Role) -> None:
        async with self.stream.transaction() as tx:
            room, me = await self._member_room(tx.conn, actor, room_id)
            target = await store.get_membership(tx.conn, room_id, user_id)
            if target is None or target.state is not State.JOIN:
                raise NotFound("this person is not in the room", field="user_id")
            if not may_set_role(me.role, target.role, role):
                raise Forbidden("only the owner appoints admins")
            await self._change_memberships(tx, room, [(user_id, State.JOIN, role)], by=actor)

    # -- messages ----------------------------------------------------------------------
    async def send(
        self, actor: str, room_id: str, client_msg_id: str, body: str, reply_to: str | None
    ) -> SendResult:
        self._check_body(body)
        return await self.writer.send(actor, room_id, client_msg_id, body, reply_to)

    def submit(
        self,
        actor: str,
        room_id: str,
        client_msg_id: str,
        body: str,
        reply_to: str | None,
        done: Done,
    ) -> None:
        """`send`, answered through `done` once committed (the socket's way: no task
        per message). A body that fails its checks raises here, before anything queues."""
        self._check_body(body)
        self.writer.submit(actor, room_id, client_msg_id, body, reply_to, done)

    async def history(
        self, actor: str, room_id: str, *, before: int | None, after: int | None, limit: int
    ) -> Page:
        async with self.db.read() as conn:
            room, _ = await self._member_room(conn, actor, room_id)
            page = await self.room_page(conn, room_id, before=before, after=after, limit=limit)
            other = None
            if is_two_person(room.kind):
                # A pending or declined recipient shows as "sent" to the sender, as
                # any recipient who has not received the message yet (R18).
                states = [State.JOIN, State.REQUEST, State.DECLINED]
                others = [
                    m for m in await store.room_members(conn, room_id, states) if m.user_id != actor
                ]
                other = others[0] if others else None
        for view in page.messages:
            if other is not None and view["sender_id"] == actor:
                view["status"] = dm_status(
                    view["position"], other.delivered_up_to, other.read_up_to
                )
        return page

    async def room_page(
        self,
        conn: AsyncConnection,
        room_id: str,
        *,
        before: int | None,
        after: int | None,
        limit: int,
    ) -> Page:
        """A page of a room's messages with their reactions, oldest first, unchecked.

        The caller has decided who may read it: `history` for a member, the lawful access
        service for an operator under an approved request (R7); nobody else calls this.
        """
        rows = await store.history(conn, room_id, before=before, after=after, limit=limit + 1)
        has_more = len(rows) > limit
        rows = rows[:limit] if after is not None else rows[-limit:] if has_more else rows
        keys = await self.data_keys.get_many({r.sender_id for r in rows})
        views = message_views(rows, keys)
        reactions = await store.reactions_of(conn, [r.id for r in rows])
        for view in views:
            view["reactions"] = reactions.get(view["id"], {})
        return Page(views, has_more)

    async def edit(self, actor: str, message_id: str, body: str) -> dict[str, Any]:
        self._check_body(body)
        async with self.stream.transaction() as tx:
            await require_unrestricted(tx.conn, actor)  # R8
            await self._own_message(tx.conn, actor, message_id)
            key = await self.data_keys.get(actor)
            if key is None:
                raise Forbidden("this account can no longer write")
            await store.update_message(
                tx.conn,
                message_id,
                {"body_enc": seal_text(key, body, message_aad(message_id)), "edited_at": tx.now},
            )
            view = await self._message_event(tx, "message.edited", actor, message_id)
        return view

    async def delete(self, actor: str, message_id: str) -> dict[str, Any]:
        """Delete for everyone: the text is gone, a tombstone stays in its place."""
        async with self.stream.transaction() as tx:
            row = await store.get_message(tx.conn, message_id)
            if row is None:
                raise NotFound("message not found")
            _, me = await self._member_room(tx.conn, actor, row.room_id)
            if not may_delete_message(actor, row.sender_id, me.role):
                raise Forbidden("you may only delete your own messages")
            if row.deleted_at is None:
                await store.update_message(
                    tx.conn, message_id, {"body_enc": None, "deleted_at": tx.now}
                )
                await store.clear_reactions(tx.conn, message_id)
                return await self._message_event(tx, "message.deleted", actor, message_id)
        return message_views([row], {})[0]  # already a tombstone: no key needed

    async def react(self, actor: str, message_id: str, emoji: str, *, add: bool) -> None:
        if not 1 <= len(emoji) <= 32 or emoji.isspace():
            raise Invalid("an emoji is 1 to 32 characters", field="emoji")
        async with self.stream.transaction() as tx:
            await require_unrestricted(tx.conn, actor)  # R8
            row = await store.get_message(tx.conn, message_id)
            if row is None:
                raise NotFound("message not found")
            room, _ = await self._member_room(tx.conn, actor, row.room_id)
            if row.deleted_at is not None:
                raise Conflict("the message was deleted")
            if add:
                changed = await store.add_reaction(tx.conn, message_id, actor, emoji, tx.now)
            else:
                changed = await store.remove_reaction(tx.conn, message_id, actor, emoji)
            if changed:
                kind = "reaction.added" if add else "reaction.removed"
                data = {"message_id": message_id, "user_id": actor, "emoji": emoji}
                tx.append(NewEvent(kind, row.room_id, actor, data, message_id=message_id))
                watcher = self.writer.watchers.get(room.kind)
                if watcher is not None:
                    await watcher.reaction(tx, room, message_id, actor, emoji, added=add)

    # -- receipts ----------------------------------------------------------------------
    async def mark(
        self, actor: str, room_id: str, delivered_up_to: int | None, read_up_to: int | None
    ) -> dict[str, int]:
        """Move my delivered/read markers forward (never back); read implies delivered."""
        async with self.stream.transaction() as tx:
            room, me = await self._member_room(tx.conn, actor, room_id)
            newest = await store.last_position(tx.conn, room_id)
            read = max(me.read_up_to, min(read_up_to or 0, newest))
            delivered = max(me.delivered_up_to, min(delivered_up_to or 0, newest), read)
            if (delivered, read) != (me.delivered_up_to, me.read_up_to):
                await store.set_receipts(tx.conn, room_id, actor, delivered, read)
                data = {"user_id": actor, "delivered_up_to": delivered, "read_up_to": read}
                tx.append(NewEvent("receipt", room_id, actor, data))
                watcher = self.writer.watchers.get(room.kind)
                if watcher is not None:
                    await watcher.receipt(tx, room, actor, delivered, read)
        return {"delivered_up_to": delivered, "read_up_to": read}

    # -- blocks (R18) ------------------------------------------------------------------
    async def block(self, actor: str, user_id: str) -> None:
        if user_id == actor:
            raise Invalid("you cannot block yourself", field="user_id")
        async with self.stream.transaction() as tx:
            if not await store.existing_user_ids(tx.conn, [user_id]):
                raise NotFound("no such person", field="user_id")
            await store.insert_block(tx.conn, actor, user_id, tx.now)

    async def unblock(self, actor: str, user_id: str) -> None:
        async with self.stream.transaction() as tx:
            await store.delete_block(tx.conn, actor, user_id)

    async def blocked(self, actor: str) -> list[dict[str, Any]]:
        async with self.db.read() as conn:
            rows = await store.list_blocks(conn, actor)
        return [{"user_id": uid, "since": iso(at)} for uid, at in rows]

    # -- for the real-time gateway -----------------------------------------------------
    async def joined_room_ids(self, conn: AsyncConnection, actor: str) -> list[str]:
        return await store.joined_room_ids(conn, actor)

    async def online_among(self, actor: str, user_ids: Sequence[str]) -> list[str]:
        """Those of `user_ids` who are online now and share a room with the actor, in the
        order asked. Anyone else is left out, as if offline: presence is for the people
        one talks with, not for strangers (R18). One query, then one presence read."""
        if len(user_ids) > MAX_PRESENCE_IDS:
            raise Invalid(f"at most {MAX_PRESENCE_IDS} user_ids", field="user_ids")
        wanted = list(dict.fromkeys(user_ids))
        async with self.db.read() as conn:
            shared = await store.sharing_a_room(conn, actor, wanted)
        asked = [u for u in wanted if u in shared]
        online = await self.stream.broker.online(asked) if asked else set()
        return [u for u in asked if u in online]

    # -- helpers -----------------------------------------------------------------------
    def _check_body(self, body: str) -> None:
        if not body or body.isspace():
            raise Invalid("a message needs text", field="body")
        if len(body) > self.settings.max_message_chars:
            raise Invalid(f"at most {self.settings.max_message_chars} characters", field="body")

    async def _visible_room(
        self, conn: AsyncConnection, actor: str, room_id: str
    ) -> tuple[RoomRow, MembershipRow | None]:
        """A room the actor is in, is invited to or has a message request in, or any public
        room; others are 'not found'."""
        room = await store.get_room(conn, room_id)
        me = await store.get_membership(conn, room_id, actor) if room else None
        visible = me is not None and me.state in (State.JOIN, State.INVITE, State.REQUEST)
        if room is None or (not visible and hides_existence(room.kind)):
            raise NotFound("room not found")
        return room, me

    async def _member_room(
        self, conn: AsyncConnection, actor: str, room_id: str
    ) -> tuple[RoomRow, MembershipRow]:
        """A room the actor has joined: outsiders get 'not found' (or 'join first' if public)."""
        room, me = await self._visible_room(conn, actor, room_id)
        if me is None or me.state is not State.JOIN:
            raise Forbidden("join the room first", type_slug="not-a-member")
        return room, me

    async def _own_message(self, conn: AsyncConnection, actor: str, message_id: str) -> Row[Any]:
        row = await store.get_message(conn, message_id)
        if row is None:
            raise NotFound("message not found")
        await self._member_room(conn, actor, row.room_id)
        if row.sender_id != actor:
            raise Forbidden("you may only edit your own messages")
        if row.deleted_at is not None:
            raise Conflict("the message was deleted")
        return row

    async def _message_event(
        self, tx: Transaction, kind: str, actor: str, message_id: str
    ) -> dict[str, Any]:
        row = await store.get_message(tx.conn, message_id)
        assert row is not None
        keys = await self.data_keys.get_many([row.sender_id])
        view = message_views([row], keys)[0]
        tx.append(NewEvent(kind, row.room_id, actor, view, message_id=message_id, store_data=False))
        return view

    async def _change_memberships(
        self,
        tx: Transaction,
        room: RoomRow,
        changes: Sequence[tuple[str, State, Role]],
        *,
        by: str,
    ) -> None:
        await change_memberships(tx, room.id, changes, by=by)

    async def _hydrate_message_events(
        self, conn: AsyncConnection, rows: Sequence[Row[Any]]
    ) -> dict[int, dict[str, Any]]:
        """Replayed message events carry the message as it is now (deleted: a tombstone;
        removed by disappearing messages: a tombstone of only its id and room)."""
        by_id = await store.messages_by_ids(conn, (r.message_id for r in rows if r.message_id))
        keys = await self.data_keys.get_many({m.sender_id for m in by_id.values()})
        views = dict(zip(by_id, message_views(list(by_id.values()), keys), strict=True))
        return {
            r.position: views.get(r.message_id) or gone_message_view(r.message_id, r.room_id)
            for r in rows
            if r.message_id
        }
