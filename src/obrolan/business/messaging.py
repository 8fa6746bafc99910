"""Business messages (F9, R2, R9, R16): a business's sends reach people here as a chat,
and what people do in that chat comes back to the business as webhook events.

A sender number speaks through its own account in a room of kind "business" with one
person. A send is accepted (200, a wamid) once it is checked; what is only known after
that (nobody here has the number, the window is closed, the person stopped marketing) is
reported as a `failed` status with the Cloud API's code, as Meta does. Each send is one
transaction: the room (the first time), the chat message, the Cloud API message row and
its `sent` status event. Receipts, replies and reactions in the room reach this module
as a room watcher (obrolan.chat.watchers), inside the chat's own transaction.

Personal data reaches a business only here (R9): the person's number, name and messages,
in the webhook events of a conversation the business opened with their opt-in or the
person opened by writing; each inbound message's share is recorded in the audit log.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncConnection

from obrolan.accounts import store as accounts_store
from obrolan.accounts.keys import DataKeys, aad, open_text, seal_text
from obrolan.accounts.rules import normalise_phone
from obrolan.business import conversation_store as store
from obrolan.business.conversation_store import ConversationRow, MessageRow, OptInRow
from obrolan.business.graph import GraphError, RelayedError, parameter_value, unknown_object
from obrolan.business.media import MediaService
from obrolan.business.message_rules import (
    ERROR_TITLES,
    Option,
    Outgoing,
    StatusReport,
    answered_option,
    contact,
    message_value,
    metadata,
    parse_send,
    status_value,
    timestamp,
)
from obrolan.business.relay import relay_send
from obrolan.business.rules import (
    Keyword,
    keyword_of,
    wa_id,
    wamid,
    window_closes_at,
    window_is_open,
)
from obrolan.business.service import BusinessPrincipal, BusinessService
from obrolan.business.store import NumberRow, number_by_digits, numbers_by_ids
from obrolan.business.templates import TemplateService
from obrolan.business.throughput import Throughput
from obrolan.business.webhooks import WebhookOutbox
from obrolan.chat import store as chat_store
from obrolan.chat.memberships import change_memberships
from obrolan.chat.rules import Kind, Role, State, direct_key
from obrolan.chat.service import ChatService
from obrolan.chat.store import RoomRow
from obrolan.chat.watchers import WatchedMessage
from obrolan.clock import Clock
from obrolan.config import Settings
from obrolan.crypto import KeyRing
from obrolan.db import Database
from obrolan.errors import NotFound, ObrolanError
from obrolan.ids import new_id
from obrolan.jobs import Job, JobQueue, Worker
from obrolan.privacy.audit import ActorRole, AuditEvent, AuditLog
from obrolan.privacy.requests import restricted
from obrolan.privacy.requests_store import is_restricted
from obrolan.realtime.stream import EventStream, NewEvent, Transaction

KEYWORD_REPLY_JOB = "business.keyword_reply"
# How many of a chat's newest messages with buttons or rows a person's client is given.
CHOICES_SHOWN = 50
MESSAGES = "messages"

# What a person is told after STOP / MULAI, in the language they wrote the word in.
KEYWORD_REPLIES = {
    (Keyword.STOP, "en"): "You will no longer get marketing messages from {name}."
    " Reply START to get them again.",
    (Keyword.STOP, "id"): "Anda tidak akan lagi menerima pesan pemasaran dari {name}."
    " Balas MULAI untuk menerimanya lagi.",
    (Keyword.START, "en"): "You will get marketing messages from {name} again."
    " Reply STOP to stop them.",
    (Keyword.START, "id"): "Anda akan menerima pesan pemasaran dari {name} lagi."
    " Balas BERHENTI untuk menghentikannya.",
}


@dataclass(frozen=True, slots=True)
class Recipient:
    e164: str
    wa_id: str
    phone_index: bytes
    user_id: str  # the business-scoped user id the business sees (pywa 4's `user_id`)


@dataclass(frozen=True, slots=True)
class Accepted:
    wamid: str
    recipient: Recipient
    template: bool


class BusinessMessaging:
    def __init__(
        self,
        settings: Settings,
        db: Database,
        stream: EventStream,
        data_keys: DataKeys,
        keyring: KeyRing,
        business: BusinessService,
        chat: ChatService,
        webhooks: WebhookOutbox,
        templates: TemplateService,
        media: MediaService,
        jobs: JobQueue,
        audit: AuditLog,
        clock: Clock,
    ) -> None:
        self.settings = settings
        self.db = db
        self.stream = stream
        self.data_keys = data_keys
        self.keyring = keyring
        self.business = business
        self.chat = chat
        self.webhooks = webhooks
        self.templates = templates
        self.media = media
        self.jobs = jobs
        self.audit = audit
        self.clock = clock
        self.throughput = Throughput(settings.business_sends_per_second, clock)
        chat.watch(Kind.BUSINESS, self)

    def register(self, worker: Worker) -> None:
        worker.handle(KEYWORD_REPLY_JOB)(self._keyword_reply)

    # -- who is addressed -------------------------------------------------------------
    def recipient(self, business_id: str, to: Any) -> Recipient:
        if not isinstance(to, str) or not to.strip():
            raise GraphError(131008, "Required parameter is missing", details="to is required")
        digits = wa_id(to)
        try:
            e164 = normalise_phone("+" + digits, self.settings.phone_default_region)
        except ObrolanError as exc:
            raise parameter_value(f"to: {exc.detail}") from exc
        index = self.keyring.blind_index("phone", e164)
        scoped = self.keyring.blind_index("business-user", f"{business_id}:{e164}")
        return Recipient(e164, wa_id(e164), index, "ID." + scoped.hex()[:16])

    # -- sending ----------------------------------------------------------------------
    async def send(
        self, principal: BusinessPrincipal, number_id: str, body: dict[str, Any]
    ) -> dict[str, Any]:
        """`POST /{phone_number_id}/messages`: a send, or a mark-as-read."""
        number = await self.business.number_of(principal, number_id)
        if body.get("status") == "read":
            return await self.mark_read(number, body)
        outgoing = parse_send(body)
        self.throughput.take(number.id)
        to = body.get("to", body.get("recipient"))
        recipient = self.recipient(number.business_id, to)
        if number.relay_base_url is not None:
            relayed = await self._relay(number, recipient, body)
            if relayed is not None:
                return relayed
        accepted = await self._send(number, recipient, outgoing)
        sent: dict[str, Any] = {"id": accepted.wamid}
        if accepted.template:
            sent["message_status"] = "accepted"
        return {
            "messaging_product": "whatsapp",
            "contacts": [{"input": to, "wa_id": recipient.wa_id, "user_id": recipient.user_id}],
            "messages": [sent],
        }

    async def _relay(
        self, number: NumberRow, to: Recipient, body: dict[str, Any]
    ) -> dict[str, Any] | None:
        """The upstream's answer when nobody here has the number; None when someone does."""
        async with self.db.read() as conn:
            if await self._person(conn, to) is not None:
                return None
            opt_in = await store.opt_in_of(conn, number.business_id, to.phone_index)
        # R16 holds for relayed sends too. The person's messages reach the business from
        # the upstream, not through here: no window is known, so an opt-in is needed.
        if opt_in is None or opt_in.withdrawn_at is not None:
            raise not_opted_in()
        token = await self.business.relay_token(number)
        assert number.relay_base_url is not None and token is not None
        answer = await relay_send(number.relay_base_url, token, body)
        async with self.stream.transaction() as tx:
            await self.audit.record(
                tx.conn,
                AuditEvent(
                    "business.message_relayed",
                    None,
                    ActorRole.system,
                    None,
                    {
                        "business_id": number.business_id,
                        "number_id": number.id,
                        "upstream_status": answer.status,
                    },
                ),
                at=tx.now,
            )
        if answer.status >= 400:
            raise RelayedError(answer.status, answer.body)
        return answer.body

    async def _send(self, number: NumberRow, to: Recipient, outgoing: Outgoing) -> Accepted:
        rendered = None
        if outgoing.template is not None:
            rendered = await self.templates.for_send(
                number.business_id,
                outgoing.template["name"],
                outgoing.template["language"],
                outgoing.template["components"],
            )
        if outgoing.media_id is not None:
            await self.media.for_send(number.business_id, outgoing.media_id)
        message_id = wamid(new_id())
        async with self.stream.transaction() as tx:
            person = await self._person(tx.conn, to)
            opt_in = await store.opt_in_of(tx.conn, number.business_id, to.phone_index)
            conversation = (
                await store.conversation_of(tx.conn, number.id, person) if person else None
            )
            window_open = window_is_open(
                conversation.last_inbound_at if conversation else None,
                tx.now,
                self.settings.business_window_hours,
            )
            opted_in = opt_in is not None and opt_in.withdrawn_at is None
            # R16: only to someone who opted in, or who wrote within the window.
            if not opted_in and not (window_open and rendered is None):
                raise not_opted_in()
            category = rendered.category.lower() if rendered is not None else "service"
            failure = _failure(
                person=person,
                template=rendered is not None,
                marketing=category == "marketing",
                window_open=window_open,
                opt_in=opt_in,
            )
            # A person who blocked the business's number cannot be reached (R18).
            if (
                failure is None
                and person is not None
                and await chat_store.either_blocked(tx.conn, number.user_id, person)
            ):
                failure = 131026
            if failure is None and person is not None and outgoing.reaction is not None:
                await self._react(tx, number, person, conversation, outgoing.reaction)
            row: dict[str, Any] = {
                "id": message_id,
                "number_id": number.id,
                "direction": "out",
                "type": outgoing.type,
                "template_id": rendered.template_id if rendered else None,
                "category": category,
                "callback_data": outgoing.callback_data,
                "created_at": tx.now,
            }
            if failure is not None or person is None:
                row.update(status="failed", error_code=failure, failed_at=tx.now)
                if conversation is not None:
                    row["conversation_id"] = conversation.id
                await store.insert_messages(tx.conn, [row])
                await self._report(tx, number, to, conversation, row, "failed")
                return Accepted(message_id, to, rendered is not None)
            conversation = conversation or await self._open(tx, number, person)
            options = _options_of(outgoing, rendered)
            row.update(conversation_id=conversation.id, options=options)
            if outgoing.reaction is not None:
                row.update(status="sent", sent_at=tx.now)
                await store.insert_messages(tx.conn, [row])
                await self._report(tx, number, to, conversation, row, "sent")
                return Accepted(message_id, to, False)
            reply_to = await self._chat_target(tx.conn, conversation, outgoing.reply_to)
            if outgoing.media_id is not None:
                await self.media.grant(tx, outgoing.media_id, conversation.room_id)
            text = rendered.text if rendered is not None else outgoing.text
            view = await self.chat.writer.write_in(
                tx, number.user_id, conversation.room_id, message_id[:64], text, reply_to
            )
            row.update(
                chat_message_id=view["id"], position=view["position"], status="sent", sent_at=tx.now
            )
            await store.insert_messages(tx.conn, [row])
            await self._report(tx, number, to, conversation, row, "sent")
        return Accepted(message_id, to, rendered is not None)

    async def _person(self, conn: AsyncConnection, to: Recipient) -> str | None:
        """The open, unrestricted account that verified this number, if any (R8)."""
        user = await accounts_store.user_by_verified_address(conn, "phone", to.phone_index)
        if user is None or await is_restricted(conn, user.id):
            return None
        return user.id

    async def _open(self, tx: Transaction, number: NumberRow, person: str) -> ConversationRow:
        """The conversation's room: the number's account and the person, both joined."""
        room = RoomRow(
            new_id(),
            Kind.BUSINESS,
            number.verified_name,
            None,
            number.user_id,
            tx.now,
            direct_key(number.user_id, person),
        )
        await chat_store.insert_room(tx.conn, room)
        await change_memberships(
            tx,
            room.id,
            [(number.user_id, State.JOIN, Role.MEMBER), (person, State.JOIN, Role.MEMBER)],
            by=number.user_id,
        )
        conversation = ConversationRow(new_id(), number.id, person, room.id, None, tx.now)
        await store.insert_conversation(tx.conn, asdict(conversation))
        return conversation

    async def _chat_target(
        self, conn: AsyncConnection, conversation: ConversationRow, target: str | None
    ) -> str | None:
        """The chat message a `context.message_id` names, in this conversation."""
        if target is None:
            return None
        found = await store.message_by_id(conn, target)
        if found is None or found.conversation_id != conversation.id or not found.chat_message_id:
            raise parameter_value("context.message_id is not a message of this conversation")
        return found.chat_message_id

    async def _react(
        self,
        tx: Transaction,
        number: NumberRow,
        person: str,
        conversation: ConversationRow | None,
        reaction: tuple[str, str],
    ) -> None:
        target_wamid, emoji = reaction
        if conversation is None:
            raise parameter_value("reaction.message_id is not a message of this conversation")
        chat_id = await self._chat_target(tx.conn, conversation, target_wamid)
        assert chat_id is not None
        mine = await chat_store.reactions_of(tx.conn, [chat_id])
        for old in [e for e, who in mine.get(chat_id, {}).items() if number.user_id in who]:
            if old != emoji and await chat_store.remove_reaction(
                tx.conn, chat_id, number.user_id, old
            ):
                data = {"message_id": chat_id, "user_id": number.user_id, "emoji": old}
                tx.append(_event("reaction.removed", conversation.room_id, number, data, chat_id))
        if emoji and await chat_store.add_reaction(tx.conn, chat_id, number.user_id, emoji, tx.now):
            data = {"message_id": chat_id, "user_id": number.user_id, "emoji": emoji}
            tx.append(_event("reaction.added", conversation.room_id, number, data, chat_id))

    # -- mark as read -----------------------------------------------------------------
    async def mark_read(self, number: NumberRow, body: dict[str, Any]) -> dict[str, Any]:
        target = body.get("message_id")
        if not isinstance(target, str):
            raise GraphError(131008, "Required parameter is missing", details="message_id")
        async with self.db.read() as conn:
            found = await store.message_by_id(conn, target)
            chat = (
                await chat_store.get_message(conn, found.chat_message_id)
                if found is not None and found.chat_message_id
                else None
            )
        if found is None or found.number_id != number.id or chat is None:
            raise unknown_object(target)
        await self.chat.mark(number.user_id, chat.room_id, chat.position, chat.position)
        return {"success": True}

    # -- statuses ---------------------------------------------------------------------
    async def _report(
        self,
        tx: Transaction,
        number: NumberRow,
        to: Recipient,
        conversation: ConversationRow | None,
        row: dict[str, Any],
        status: str,
    ) -> None:
        code = row.get("error_code")
        error = None
        if code is not None:
            error = (code, ERROR_TITLES[code], _ERROR_DETAILS[code])
        report = StatusReport(
            wamid=row["id"],
            status=status,
            at=tx.now,
            recipient=to.wa_id,
            recipient_user_id=to.user_id,
            conversation_id=conversation.id if conversation else None,
            window_closes_at=window_closes_at(
                conversation.last_inbound_at if conversation else None,
                self.settings.business_window_hours,
            ),
            category=row.get("category") or "service",
            error=error,
            callback_data=row.get("callback_data"),
        )
        value = status_value(
            metadata(number.display_phone_number, number.id),
            contact(to.wa_id, to.user_id, None),
            report,
        )
        await self.webhooks.emit(tx, number.business_id, _ordering(to), MESSAGES, value)

    # -- the room watcher (obrolan.chat.watchers) -------------------------------------
    async def messages(self, tx: Transaction, sent: list[WatchedMessage]) -> None:
        """People's messages in business chats: to the business, as inbound messages."""
        conversations = await store.conversations_in_rooms(tx.conn, {m.room.id for m in sent})
        inbound = [
            (m, conversations[m.room.id])
            for m in sent
            if m.room.id in conversations and m.sender_id == conversations[m.room.id].customer_id
        ]
        if not inbound:
            return
        await store.set_last_inbound(tx.conn, sorted({c.id for _, c in inbound}), tx.now)
        numbers = await numbers_by_ids(tx.conn, {c.number_id for _, c in inbound})
        replied = await store.messages_by_chat_ids(
            tx.conn, (m.reply_to for m, _ in inbound if m.reply_to)
        )
        rows = []
        for message, conversation in inbound:
            number = numbers[conversation.number_id]
            to = await self._recipient_of(tx.conn, number, conversation.customer_id)
            if to is None:
                continue
            message_wamid = wamid(message.message_id)
            cloud: dict[str, Any] = {
                "from": to.wa_id,
                "id": message_wamid,
                "timestamp": timestamp(tx.now),
                **_inbound_content(message.body, replied.get(message.reply_to or "")),
            }
            if message.reply_to and message.reply_to in replied:
                cloud["context"] = {
                    "from": number.display_phone_number,
                    "id": replied[message.reply_to].id,
                }
            rows.append(
                {
                    "id": message_wamid,
                    "number_id": number.id,
                    "conversation_id": conversation.id,
                    "direction": "in",
                    "type": cloud["type"],
                    "chat_message_id": message.message_id,
                    "status": "received",
                    "created_at": tx.now,
                }
            )
            name = await self._name_of(tx.conn, conversation.customer_id)
            value = message_value(
                metadata(number.display_phone_number, number.id),
                contact(to.wa_id, to.user_id, name),
                cloud,
            )
            await self.webhooks.emit(tx, number.business_id, _ordering(to), MESSAGES, value)
            await self._keyword(tx, number, to, conversation, message.body)
            # R9: the person's message and number went to the business.
            await self.audit.record(
                tx.conn,
                AuditEvent(
                    "business.message_shared",
                    message.sender_id,
                    ActorRole.person,
                    message.sender_id,
                    {"business_id": number.business_id, "message_id": message.message_id},
                ),
                at=tx.now,
            )
        await store.insert_messages(tx.conn, rows)

    async def receipt(
        self, tx: Transaction, room: RoomRow, user_id: str, delivered_up_to: int, read_up_to: int
    ) -> None:
        """The person's receipts move: the business's messages become delivered, then read."""
        conversation = (await store.conversations_in_rooms(tx.conn, [room.id])).get(room.id)
        if conversation is None or user_id != conversation.customer_id:
            return
        covered = await store.unreported(tx.conn, conversation.id, delivered_up_to, read_up_to)
        if not covered:
            return
        number = (await numbers_by_ids(tx.conn, [conversation.number_id]))[conversation.number_id]
        to = await self._recipient_of(tx.conn, number, user_id)
        for message in covered:
            assert message.position is not None
            steps = []
            if message.delivered_at is None:
                steps.append("delivered")
            if message.position <= read_up_to and message.read_at is None:
                steps.append("read")
            values = {f"{step}_at": tx.now for step in steps}
            await store.set_status(tx.conn, message.id, steps[-1], values)
            if to is None:
                continue
            for step in steps:
                await self._report(tx, number, to, conversation, _as_row(message), step)

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
        conversation = (await store.conversations_in_rooms(tx.conn, [room.id])).get(room.id)
        if conversation is None or user_id != conversation.customer_id:
            return
        target = (await store.messages_by_chat_ids(tx.conn, [message_id])).get(message_id)
        if target is None:
            return
        number = (await numbers_by_ids(tx.conn, [conversation.number_id]))[conversation.number_id]
        to = await self._recipient_of(tx.conn, number, user_id)
        if to is None:
            return
        cloud = {
            "from": to.wa_id,
            "id": wamid(new_id()),
            "timestamp": timestamp(tx.now),
            "type": "reaction",
            "reaction": {"message_id": target.id, "emoji": emoji if added else ""},
        }
        name = await self._name_of(tx.conn, user_id)
        value = message_value(
            metadata(number.display_phone_number, number.id),
            contact(to.wa_id, to.user_id, name),
            cloud,
        )
        await self.webhooks.emit(tx, number.business_id, _ordering(to), MESSAGES, value)

    # -- STOP / MULAI (R16) -----------------------------------------------------------
    async def _keyword(
        self,
        tx: Transaction,
        number: NumberRow,
        to: Recipient,
        conversation: ConversationRow,
        text: str,
    ) -> None:
        found = keyword_of(text)
        if found is None:
            return
        keyword, language = found
        opt_in = await store.opt_in_of(tx.conn, number.business_id, to.phone_index)
        if opt_in is None or opt_in.withdrawn_at is not None:
            return  # nothing to stop or start: no marketing can reach them anyway
        stopped = tx.now if keyword is Keyword.STOP else None
        await store.set_opt_in_flags(tx.conn, opt_in.id, {"marketing_stopped_at": stopped})
        await self.jobs.enqueue(
            tx,
            KEYWORD_REPLY_JOB,
            {"conversation_id": conversation.id, "keyword": keyword.value, "language": language},
        )

    async def _keyword_reply(self, job: Job) -> None:
        """The confirmation of a STOP or MULAI, from the business's number."""
        keyword = Keyword(job.payload["keyword"])
        language = job.payload["language"]
        async with self.stream.transaction() as tx:
            conversation = await store.conversation_by_id(tx.conn, job.payload["conversation_id"])
            if conversation is None:
                return
            number = (await numbers_by_ids(tx.conn, [conversation.number_id])).get(
                conversation.number_id
            )
            if number is None:
                return
            business = await self.business.get(number.business_id)
            text = KEYWORD_REPLIES[(keyword, language)].format(name=business.name)
            await self.chat.writer.write_in(
                tx, number.user_id, conversation.room_id, f"keyword-{job.id}", text
            )

    # -- a person writes first ---------------------------------------------------------
    async def open_chat(self, user_id: str, number: str) -> str:
        """The person's chat with a business number (by its digits, as a wa.me link has
        it), opened if needed; the room's id. Writing there opens the window (item 6)."""
        async with self.stream.transaction() as tx:
            found = await number_by_digits(tx.conn, wa_id(number))
            if found is None or not wa_id(number):
                raise NotFound("no business has this number here", field="number")
            if found.user_id == user_id:
                raise NotFound("no business has this number here", field="number")
            if await is_restricted(tx.conn, user_id):
                raise restricted()
            conversation = await store.conversation_of(tx.conn, found.id, user_id)
            if conversation is None:
                conversation = await self._open(tx, found, user_id)
            return conversation.room_id

    async def chat_choices(self, user_id: str, room_id: str) -> list[dict[str, Any]]:
        """The buttons and list rows of the business's newest messages in my chat: my client
        shows them, and answers with the title I pick (which the business gets as an
        `interactive` or `button` message)."""
        async with self.db.read() as conn:
            conversation = (await store.conversations_in_rooms(conn, [room_id])).get(room_id)
            if conversation is None or conversation.customer_id != user_id:
                raise NotFound("no business chat of yours", field="room_id")
            rows = await store.with_options(conn, conversation.id, CHOICES_SHOWN)
        return [
            {
                "message_id": row.chat_message_id,
                "choices": [o["title"] for o in orjson.loads(row.options or "[]")],
            }
            for row in rows
        ]

    async def chat_profile(self, user_id: str, room_id: str) -> dict[str, Any]:
        """Who I talk to in a business chat of mine: the business's profile and number,
        and whether my opt-in lets it write to me first."""
        async with self.db.read() as conn:
            conversation = (await store.conversations_in_rooms(conn, [room_id])).get(room_id)
            if conversation is None or conversation.customer_id != user_id:
                raise NotFound("no business chat of yours", field="room_id")
            number = (await numbers_by_ids(conn, [conversation.number_id]))[conversation.number_id]
            index = await accounts_store.phone_index_of(conn, user_id)
            opt_in = await store.opt_in_of(conn, number.business_id, index) if index else None
        business = await self.business.get(number.business_id)
        return {
            "room_id": room_id,
            "business": business,
            "number_id": number.id,
            "display_phone_number": number.display_phone_number,
            "verified_name": number.verified_name,
            "opt_in_id": opt_in.id if opt_in and opt_in.withdrawn_at is None else None,
            "marketing_stopped": bool(opt_in and opt_in.marketing_stopped_at),
        }

    # -- opt-ins (R16) ----------------------------------------------------------------
    async def record_opt_in(
        self,
        business_id: str,
        phone: Any,
        *,
        source: str,
        shown_text: str,
        reference: str | None,
        recorded_by: str | None,
    ) -> tuple[str, Recipient]:
        to = self.recipient(business_id, phone)
        key = await self.data_keys.get(business_id)
        assert key is not None
        opt_in_id = new_id()
        async with self.stream.transaction() as tx:
            stored_id = await store.put_opt_in(
                tx.conn,
                {
                    "id": opt_in_id,
                    "business_id": business_id,
                    "phone_index": to.phone_index,
                    "phone_enc": b"",
                    "source": source,
                    "shown_text_enc": b"",
                    "reference": reference,
                    "opted_in_at": tx.now,
                    "recorded_by": recorded_by,
                },
            )
            # Sealed to the row they are in (its id is known only now, for a re-record).
            await store.set_opt_in_flags(
                tx.conn,
                stored_id,
                {
                    "phone_enc": seal_text(key, to.e164, _opt_in_aad("phone_enc", stored_id)),
                    "shown_text_enc": seal_text(
                        key, shown_text, _opt_in_aad("shown_text_enc", stored_id)
                    ),
                },
            )
        return stored_id, to

    async def opt_in_view(self, row: OptInRow) -> dict[str, Any]:
        key = await self.data_keys.get(row.business_id)
        return {
            "id": row.id,
            "business_id": row.business_id,
            "wa_id": wa_id(open_text(key, row.phone_enc, _opt_in_aad("phone_enc", row.id)) or ""),
            "source": row.source,
            "shown_text": open_text(key, row.shown_text_enc, _opt_in_aad("shown_text_enc", row.id)),
            "reference": row.reference,
            "opted_in_at": row.opted_in_at,
            "marketing_stopped_at": row.marketing_stopped_at,
            "withdrawn_at": row.withdrawn_at,
        }

    async def opt_in_for(self, business_id: str, phone: Any) -> dict[str, Any] | None:
        to = self.recipient(business_id, phone)
        async with self.db.read() as conn:
            row = await store.opt_in_of(conn, business_id, to.phone_index)
        return await self.opt_in_view(row) if row else None

    async def my_opt_ins(self, user_id: str) -> list[dict[str, Any]]:
        """Every business that holds an opt-in for my verified number, with its proof."""
        async with self.db.read() as conn:
            me = await accounts_store.user_by_id(conn, user_id)
            index = await accounts_store.phone_index_of(conn, user_id) if me else None
            found = await store.opt_ins_of_phone(conn, index) if index else []
        views = []
        for row, name in found:
            view = await self.opt_in_view(row)
            views.append({**view, "business_name": name})
        return views

    async def withdraw_opt_in(self, user_id: str, opt_in_id: str) -> None:
        async with self.stream.transaction() as tx:
            row = await store.opt_in_by_id(tx.conn, opt_in_id)
            index = await accounts_store.phone_index_of(tx.conn, user_id)
            if row is None or index is None or row.phone_index != index:
                raise NotFound("no such opt-in of yours", field="opt_in_id")
            if row.withdrawn_at is None:
                await store.set_opt_in_flags(tx.conn, row.id, {"withdrawn_at": tx.now})

    # -- conversations ----------------------------------------------------------------
    async def conversations(self, business_id: str, limit: int = 100) -> list[dict[str, Any]]:
        async with self.db.read() as conn:
            rows = await store.conversations_of_business(conn, business_id, limit)
        now = self.clock.now()
        hours = self.settings.business_window_hours
        return [
            {
                "id": c.id,
                "number_id": c.number_id,
                "customer_id": c.customer_id,
                "last_inbound_at": c.last_inbound_at,
                "window_open": window_is_open(c.last_inbound_at, now, hours),
                "window_closes_at": window_closes_at(c.last_inbound_at, hours),
            }
            for c in rows
        ]

    # -- people's data, for the business's events -------------------------------------
    async def _recipient_of(
        self, conn: AsyncConnection, number: NumberRow, user_id: str
    ) -> Recipient | None:
        user = await accounts_store.user_by_id(conn, user_id)
        if user is None or user.phone_verified_at is None:
            return None
        key = await self.data_keys.get(user_id)
        phone = open_text(key, user.phone_enc, aad("users", "phone_enc", user_id))
        return self.recipient(number.business_id, phone) if phone else None

    async def _name_of(self, conn: AsyncConnection, user_id: str) -> str | None:
        user = await accounts_store.user_by_id(conn, user_id)
        if user is None:
            return None
        key = await self.data_keys.get(user_id)
        return open_text(key, user.display_name_enc, aad("users", "display_name_enc", user_id))


_ERROR_DETAILS = {
    131026: "The number is not one a person here has verified, or they cannot be reached.",
    131047: "More than 24 hours have passed since the person last wrote; send a template.",
    131050: "The person stopped marketing messages from this business.",
}


def _failure(
    *,
    person: str | None,
    template: bool,
    marketing: bool,
    window_open: bool,
    opt_in: OptInRow | None,
) -> int | None:
    """What the Cloud API reports after acceptance, in its order of checks."""
    if person is None:
        return 131026
    if not template and not window_open:
        return 131047
    if marketing and opt_in is not None and opt_in.marketing_stopped_at is not None:
        return 131050
    return None


def not_opted_in() -> GraphError:
    return GraphError(
        131030,
        "Recipient has not opted in",
        details="record the person's opt-in with its proof first (POST /{waba_id}/opt_ins),"
        " or answer within 24 hours of their message",
    )


def _ordering(to: Recipient) -> str:
    """One conversation's events go out in order: keyed by the person, per business."""
    return f"r:{to.user_id}"


def _opt_in_aad(column: str, opt_in_id: str) -> bytes:
    return aad("business_opt_ins", column, opt_in_id)


def _options_of(outgoing: Outgoing, rendered: Any) -> str | None:
    if outgoing.options:
        kind = "button_reply" if outgoing.interactive_type == "button" else "list_reply"
        options = [{"id": o.id, "title": o.title, "kind": kind} for o in outgoing.options]
    elif rendered is not None and rendered.buttons:
        options = [
            {"id": b.get("payload") or b["text"], "title": b["text"], "kind": "button"}
            for b in rendered.buttons
            if b.get("type") == "quick_reply"
        ]
    else:
        return None
    return orjson.dumps(options).decode() if options else None


def _inbound_content(body: str, replied: MessageRow | None) -> dict[str, Any]:
    """A person's message as the Cloud API reports it: an answer to buttons or a list
    (a reply whose text is one option's title), else text."""
    if replied is not None and replied.options:
        options = orjson.loads(replied.options)
        picked = answered_option(body, [Option(o["id"], o["title"]) for o in options])
        if picked is not None:
            kind = next(o["kind"] for o in options if o["id"] == picked.id)
            if kind == "button":
                return {"type": "button", "button": {"payload": picked.id, "text": picked.title}}
            return {
                "type": "interactive",
                "interactive": {"type": kind, kind: {"id": picked.id, "title": picked.title}},
            }
    return {"type": "text", "text": {"body": body}}


def _as_row(message: MessageRow) -> dict[str, Any]:
    return {
        "id": message.id,
        "category": message.category,
        "callback_data": message.callback_data,
        "error_code": None,
    }


def _event(
    kind: str, room_id: str, number: NumberRow, data: dict[str, Any], message_id: str
) -> NewEvent:
    return NewEvent(kind, room_id, number.user_id, data, message_id=message_id)
