"""Everything obrolan holds about one person, read in pages and opened with their key (R1).

Each table of src/obrolan/*/models.py, and what of it an export holds:

- users: id, username, display name, email and phone (opened), when each was verified,
  created / closed, is_admin, totp_enabled. Not the password hash, the TOTP secret or
  the blind indexes: credentials and keyed hashes, no data about the person but a way
  in, and an export that leaks must not be one.
- user_keys: not exported: the wrapped data key is the lock, not data.
- profiles, profile_photos: every field with its visibility; the photo as a file.
- contact_settings: who can find me, and whether strangers' chats arrive as requests.
- auth_sessions: device, IP address, user agent (opened), created, last seen, revoked.
  Not the token hash (a credential).
- verification_codes: not exported: a pending code lives minutes, as a keyed hash only.
- login_failures, throttled_actions: not exported: keyed hashes of an account or an
  address, counted for at most a day, which cannot be told apart from anyone else's
  without the server's key.
- rooms, memberships: each room the person is or was in: id, name, topic, kind, their
  role and state, since when, who invited them; their receipts (delivered / read
  positions) as a section of their own.
- messages: each message they wrote, body opened, with room, created / edited /
  deleted and reply_to (an id: the replied-to message is its author's).
- reactions: their reactions, with the message and room.
- blocks: the blocks they made. Not the blocks others made against them: those are
  the blocker's data, and R18 keeps them from the blocked person.
- message requests: the requests that reached them (memberships in `request` or
  `declined`). Not whether their own requests were accepted or declined: R18 keeps
  that from the sender.
- business_opt_ins: the opt-ins businesses hold for their verified number, with the
  proof (the text they were shown, opened with the business's key), source, reference,
  stops and withdrawals (R16). business_conversations, business_messages: not
  exported: ids and statuses of the business chats, whose rooms and messages are above.
  Business media, webhook events: not exported: what a business sent or was told,
  whose text is in the messages above.
- events: not exported: each row orders an event and names ids; its content lives in
  the rows above.
- jobs: not exported: queued work (a mail to send) holds an address that is already in
  the export, for minutes to days.
- privacy_requests: their data requests, note opened; audit_log: the entries about
  them, as their own audit view shows (legal holds hidden, R7); privacy_exports: their
  earlier exports (ids and times).

Other people appear by id, and with their display name where this person may see it:
the display name that GET /users/{id} shows any signed-in person (an open account's;
none once closed or erased). Never any other field of theirs.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from obrolan.accounts import store as accounts_store
from obrolan.accounts.keys import DataKeys, aad, open_text
from obrolan.business import conversation_store as business_store
from obrolan.chat.rules import Kind, State
from obrolan.chat.views import message_aad
from obrolan.crypto import DecryptionError, open_sealed
from obrolan.privacy.audit import AuditLog
from obrolan.privacy.export import store
from obrolan.profile import fields
from obrolan.profile import store as profile_store
from obrolan.profile.rules import Language
from obrolan.realtime.frames import iso

PHOTO_FILE = "photo.webp"
PHOTO_TYPE = "image/webp"
# The order of the sections in export.json and index.html.
SECTIONS = (
    "account",
    "profile",
    "addresses",
    "contact_settings",
    "sessions",
    "rooms",
    "receipts",
    "message_requests",
    "messages",
    "reactions",
    "blocks",
    "business_opt_ins",
    "data_requests",
    "exports",
    "audit",
    "people",
)


@dataclass(slots=True)
class Section:
    """One part of the export: an object (`value`), or a list read in `pages`."""

    name: str
    value: dict[str, Any] | None = None
    pages: AsyncIterator[list[dict[str, Any]]] | None = None


@dataclass(slots=True)
class Collector:
    """Reads one person's data in one snapshot (`conn`), one page at a time.

    Iterating `sections()` twice reads it twice (export.json, then index.html), so
    nothing larger than a page is ever held.
    """

    conn: AsyncConnection
    data_keys: DataKeys
    audit: AuditLog
    user_id: str
    key: bytes
    now: datetime
    default_language: Language
    page_size: int = 500
    # Ids of the other people the sections name, for the `people` section at the end.
    people: set[str] = field(default_factory=set)

    async def language(self) -> Language:
        profile = await fields.own_profile(self.conn, self.key, self.user_id, self.default_language)
        return profile.language

    async def photo(self) -> bytes | None:
        """The person's photo (WebP, as stored), opened; None without one."""
        sealed = await profile_store.photo_of(self.conn, self.user_id)
        if sealed is None:
            return None
        return _open_bytes(self.key, sealed, aad("profile_photos", "image_enc", self.user_id))

    async def sections(self) -> AsyncIterator[Section]:
        self.people = set()
        yield Section("account", value=await self._account())
        yield Section("profile", value=await self._profile())
        yield Section("addresses", pages=self._one_page(await self._addresses()))
        yield Section("contact_settings", value=await self._contact_settings())
        yield Section("sessions", pages=self._sessions())
        yield Section("rooms", pages=self._rooms())
        yield Section("receipts", pages=self._receipts())
        yield Section("message_requests", pages=self._message_requests())
        yield Section("messages", pages=self._messages())
        yield Section("reactions", pages=self._reactions())
        yield Section("blocks", pages=self._blocks())
        yield Section("business_opt_ins", pages=self._one_page(await self._business_opt_ins()))
        yield Section("data_requests", pages=self._data_requests())
        yield Section("exports", pages=self._exports())
        yield Section("audit", pages=self._audit())
        yield Section("people", pages=self._people())

    # -- the person ---------------------------------------------------------------------
    def _user_field(self, row: Row[Any], column: str) -> str | None:
        return open_text(self.key, getattr(row, column), aad("users", column, self.user_id))

    async def _account(self) -> dict[str, Any]:
        row = await store.account_row(self.conn, self.user_id)
        if row is None:
            return {"id": self.user_id}
        return {
            "id": row.id,
            "username": row.username,
            "display_name": self._user_field(row, "display_name_enc"),
            "created_at": iso(row.created_at),
            "closed_at": iso(row.closed_at),
            "is_admin": bool(row.is_admin),
            "totp_enabled": bool(row.totp_enabled),
        }

    async def _addresses(self) -> list[dict[str, Any]]:
        row = await store.account_row(self.conn, self.user_id)
        if row is None:
            return []
        out = []
        for kind in ("email", "phone"):
            address = self._user_field(row, f"{kind}_enc")
            if address is not None:
                verified = getattr(row, f"{kind}_verified_at")
                out.append({"kind": kind, "address": address, "verified_at": iso(verified)})
        return out

    async def _profile(self) -> dict[str, Any]:
        profile = await fields.own_profile(self.conn, self.key, self.user_id, self.default_language)
        values: dict[str, Any] = {
            "gender": profile.gender,
            "date_of_birth": profile.date_of_birth.isoformat() if profile.date_of_birth else None,
            "bio": profile.bio,
        }
        return {
            "language": profile.language,
            "fields": {
                name: {"value": value, "visibility": str(getattr(profile.visibility, name))}
                for name, value in values.items()
            },
            "photo": {
                "file": PHOTO_FILE if profile.photo else None,
                "media_type": PHOTO_TYPE if profile.photo else None,
                "visibility": str(profile.visibility.photo),
            },
        }

    async def _contact_settings(self) -> dict[str, Any]:
        settings = await accounts_store.get_contact_settings(self.conn, self.user_id)
        return {
            "findable_by_username": settings.findable_by_username,
            "findable_by_email": settings.findable_by_email,
            "findable_by_phone": settings.findable_by_phone,
            "message_requests": settings.message_requests,
        }

    async def _sessions(self) -> AsyncIterator[list[dict[str, Any]]]:
        after: str | None = None
        while rows := await store.sessions_page(self.conn, self.user_id, after, self.page_size):
            yield [
                {
                    "id": r.id,
                    "device": self._session_field(r, "device_name_enc"),
                    "ip_address": self._session_field(r, "ip_address_enc"),
                    "user_agent": self._session_field(r, "user_agent_enc"),
                    "created_at": iso(r.created_at),
                    "last_seen_at": iso(r.last_seen_at),
                    "revoked_at": iso(r.revoked_at),
                }
                for r in rows
            ]
            after = rows[-1].id

    def _session_field(self, row: Row[Any], column: str) -> str | None:
        return open_text(self.key, getattr(row, column), aad("auth_sessions", column, row.id))

    # -- rooms ----------------------------------------------------------------------------
    async def _memberships(
        self, states: tuple[State, ...] | None = None
    ) -> AsyncIterator[list[Row[Any]]]:
        after: str | None = None
        while rows := await store.memberships_page(
            self.conn, self.user_id, after, self.page_size, states
        ):
            yield rows
            after = rows[-1].room_id

    def _person(self, user_id: str | None) -> str | None:
        if user_id is not None and user_id != self.user_id:
            self.people.add(user_id)
        return user_id

    def _direct_with(self, row: Row[Any]) -> str | None:
        """The other person of a direct chat (its key names both)."""
        if row.kind != Kind.DIRECT.value or not row.direct_key:
            return None
        others = [p for p in row.direct_key.split(":") if p != self.user_id]
        return self._person(others[0] if others else None)

    async def _rooms(self) -> AsyncIterator[list[dict[str, Any]]]:
        async for rows in self._memberships():
            yield [
                {
                    "room_id": r.room_id,
                    "name": r.name,
                    "topic": r.topic,
                    "kind": r.kind,
                    "with": self._direct_with(r),
                    "role": r.role,
                    "state": r.state,
                    "since": iso(r.updated_at),
                    "invited_by": self._person(r.invited_by),
                    "room_created_at": iso(r.created_at),
                }
                for r in rows
            ]

    async def _receipts(self) -> AsyncIterator[list[dict[str, Any]]]:
        async for rows in self._memberships():
            yield [
                {
                    "room_id": r.room_id,
                    "delivered_up_to": int(r.delivered_up_to),
                    "read_up_to": int(r.read_up_to),
                }
                for r in rows
            ]

    async def _message_requests(self) -> AsyncIterator[list[dict[str, Any]]]:
        async for rows in self._memberships((State.REQUEST, State.DECLINED)):
            yield [
                {
                    "room_id": r.room_id,
                    "from": self._person(r.created_by),
                    "state": r.state,
                    "since": iso(r.updated_at),
                }
                for r in rows
            ]

    async def _messages(self) -> AsyncIterator[list[dict[str, Any]]]:
        after: tuple[str, str] | None = None
        while rows := await store.messages_page(self.conn, self.user_id, after, self.page_size):
            yield [
                {
                    "id": r.id,
                    "room_id": r.room_id,
                    "client_msg_id": r.client_msg_id,
                    "position": int(r.position),
                    # NULL once deleted for everyone: the tombstone is what is left.
                    "body": open_text(self.key, r.body_enc, message_aad(r.id)),
                    "reply_to": r.reply_to_id,
                    "created_at": iso(r.created_at),
                    "edited_at": iso(r.edited_at),
                    "deleted_at": iso(r.deleted_at),
                }
                for r in rows
            ]
            after = (rows[-1].room_id, rows[-1].client_msg_id)

    async def _reactions(self) -> AsyncIterator[list[dict[str, Any]]]:
        after: tuple[str, str] | None = None
        while rows := await store.reactions_page(self.conn, self.user_id, after, self.page_size):
            yield [
                {
                    "message_id": r.message_id,
                    "room_id": r.room_id,
                    "emoji": r.emoji,
                    "created_at": iso(r.created_at),
                }
                for r in rows
            ]
            after = (rows[-1].message_id, rows[-1].emoji)

    async def _blocks(self) -> AsyncIterator[list[dict[str, Any]]]:
        after: str | None = None
        while rows := await store.blocks_page(self.conn, self.user_id, after, self.page_size):
            yield [
                {"user_id": self._person(r.blocked_id), "since": iso(r.created_at)} for r in rows
            ]
            after = rows[-1].blocked_id

    async def _business_opt_ins(self) -> list[dict[str, Any]]:
        """The opt-ins businesses hold for my verified number, with their proof (R16)."""
        index = await accounts_store.phone_index_of(self.conn, self.user_id)
        if index is None:
            return []
        held = await business_store.opt_ins_of_phone(self.conn, index)
        keys = await self.data_keys.get_many({row.business_id for row, _ in held})
        return [
            {
                "business_id": row.business_id,
                "business_name": name,
                "source": row.source,
                "shown_text": open_text(
                    keys.get(row.business_id),
                    row.shown_text_enc,
                    aad("business_opt_ins", "shown_text_enc", row.id),
                ),
                "reference": row.reference,
                "opted_in_at": iso(row.opted_in_at),
                "marketing_stopped_at": iso(row.marketing_stopped_at)
                if row.marketing_stopped_at
                else None,
                "withdrawn_at": iso(row.withdrawn_at) if row.withdrawn_at else None,
            }
            for row, name in held
        ]

    # -- the privacy engine ----------------------------------------------------------------
    async def _data_requests(self) -> AsyncIterator[list[dict[str, Any]]]:
        after: str | None = None
        while rows := await store.requests_page(self.conn, self.user_id, after, self.page_size):
            yield [
                {
                    "id": r.id,
                    "kind": r.kind,
                    "status": r.status,
                    "opened_by": self._person(r.opened_by),
                    "opened_by_operator": bool(r.opened_by_operator),
                    "note": open_text(
                        self.key, r.note_enc, aad("privacy_requests", "note_enc", r.id)
                    ),
                    "resolution": r.resolution,
                    "progress": int(r.progress),
                    "created_at": iso(r.created_at),
                    "deadline_at": iso(r.deadline_at),
                    "done_at": iso(r.done_at),
                    "due_at": iso(r.due_at),
                }
                for r in rows
            ]
            after = rows[-1].id

    async def _exports(self) -> AsyncIterator[list[dict[str, Any]]]:
        rows = await store.exports_of(self.conn, self.user_id)
        if rows:
            yield [
                {
                    "id": r.id,
                    "request_id": r.request_id,
                    "size": r.size,
                    "created_at": iso(r.created_at),
                    "expires_at": iso(r.expires_at),
                    "downloaded_at": iso(r.downloaded_at),
                }
                for r in rows
            ]

    async def _audit(self) -> AsyncIterator[list[dict[str, Any]]]:
        before: int | None = None
        while True:
            # The person's own audit view (R7): held entries left out, no operator named.
            page = await self.audit.own_page(
                self.conn, self.user_id, now=self.now, before_seq=before, limit=self.page_size
            )
            entries = [
                {
                    "seq": e.seq,
                    "at": iso(e.at),
                    "action": e.action,
                    "actor_role": e.actor_role,
                    "by_me": e.by_me,
                    "detail": e.detail,
                }
                for e in page.entries
            ]
            if entries:
                yield entries
            if page.next is None:
                return
            before = page.next

    async def _people(self) -> AsyncIterator[list[dict[str, Any]]]:
        ids = sorted(self.people)
        for start in range(0, len(ids), self.page_size):
            chunk = ids[start : start + self.page_size]
            rows = {r.id: r for r in await store.users_by_ids(self.conn, chunk)}
            keys = await self.data_keys.get_many(rows)
            yield [
                {
                    "id": uid,
                    "display_name": open_text(
                        keys.get(uid),
                        rows[uid].display_name_enc,
                        aad("users", "display_name_enc", uid),
                    )
                    if uid in rows
                    else None,
                }
                for uid in chunk
            ]

    @staticmethod
    async def _one_page(items: list[dict[str, Any]]) -> AsyncIterator[list[dict[str, Any]]]:
        if items:
            yield items


def _open_bytes(key: bytes, sealed: bytes, where: bytes) -> bytes | None:
    try:
        return open_sealed(key, sealed, where)
    except DecryptionError:
        return None
