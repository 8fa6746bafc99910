"""Lawful access (R7): the only way an operator reads the messages of a room.

One operator files a request (a reason, a legal basis, named rooms, a window of at most
30 days, optionally a legal hold); a second, different operator approves or refuses it.
Only the operator who filed it, only while it is approved and inside its window, and only
for the rooms it names, reads those rooms' messages. Each step and each read is recorded
in the audit log in the same transaction; a read is recorded once per person whose
messages or reactions were shown, so each of them later sees it in their own audit view
(after the hold, when there is one). A refused attempt is recorded too.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from obrolan.accounts.principal import Principal
from obrolan.chat import store as chat_store
from obrolan.chat.service import ChatService, Page
from obrolan.clock import Clock
from obrolan.errors import Conflict, Forbidden, Invalid, NotFound
from obrolan.ids import new_id
from obrolan.privacy import lawful_access_store as store
from obrolan.privacy.audit import HIDDEN_UNTIL, ActorRole, AuditEvent, AuditLog
from obrolan.privacy.lawful_access_rules import (
    MAX_ROOMS,
    LawfulAccessStatus,
    RequestState,
    has_lapsed,
    hold_problem,
    may_decide,
    read_refusal,
    window_problem,
)
from obrolan.privacy.lawful_access_store import LawfulAccessRow
from obrolan.realtime.stream import EventStream

FILED = "lawful_access.filed"
APPROVED = "lawful_access.approved"
REFUSED = "lawful_access.refused"
EXPIRED = "lawful_access.expired"
READ = "lawful_access.read"
DENIED = "lawful_access.denied"

# Requests expired or removed per transaction by the recurring job.
BATCH = 100


class LawfulAccessService:
    def __init__(
        self,
        stream: EventStream,
        chat: ChatService,
        audit: AuditLog,
        clock: Clock,
        *,
        kept: timedelta,
    ) -> None:
        self.stream = stream
        self.db = stream.db
        self.chat = chat
        self.audit = audit
        self.clock = clock
        # R5: a finished request's row is kept as long as the audit log keeps its entries.
        self.kept = kept

    def require_operator(self, principal: Principal) -> None:
        """An operator's own account: the four-eyes rule needs to know who is who."""
        if not principal.is_admin:
            raise Forbidden("only site administrators may do this", type_slug="not-an-admin")
        if not principal.user_id:
            raise Forbidden(
                "lawful access is filed and decided from operators' own accounts",
                type_slug="operator-account-required",
            )

    # -- filing and deciding -----------------------------------------------------------
    async def file(
        self,
        principal: Principal,
        *,
        reason: str,
        legal_basis: str,
        room_ids: list[str],
        starts_at: datetime,
        ends_at: datetime,
        hold_until: datetime | None,
    ) -> LawfulAccessRow:
        """File a request for a second operator to decide."""
        self.require_operator(principal)
        reason, legal_basis = reason.strip(), legal_basis.strip()
        if not reason:
            raise Invalid("say why the rooms must be read", field="reason")
        if not legal_basis:
            raise Invalid("name the law or order that requires it", field="legal_basis")
        rooms = sorted(set(room_ids))
        if not rooms or len(rooms) > MAX_ROOMS:
            raise Invalid(f"name 1 to {MAX_ROOMS} rooms", field="room_ids")
        request_id = new_id()
        async with self.stream.transaction() as tx:
            problem = window_problem(starts_at, ends_at, tx.now)
            if problem is not None:
                raise Invalid(problem, field="ends_at")
            if hold_until is not None and (problem := hold_problem(hold_until, ends_at)):
                raise Invalid(problem, field="hold_until")
            for room_id in rooms:
                if await chat_store.get_room(tx.conn, room_id) is None:
                    raise NotFound(f"no room has the id {room_id}", field="room_ids")
            values = {
                "id": request_id,
                "requested_by": principal.user_id,
                "reason": reason,
                "legal_basis": legal_basis,
                "starts_at": starts_at,
                "ends_at": ends_at,
                "hold_until": hold_until,
                "status": LawfulAccessStatus.pending.value,
                "created_at": tx.now,
            }
            await store.insert_request(tx.conn, values, rooms)
            await self.audit.record(
                tx.conn,
                AuditEvent(
                    FILED,
                    principal.user_id,
                    ActorRole.operator,
                    detail={
                        "request_id": request_id,
                        "room_ids": rooms,
                        "starts_at": starts_at.isoformat(),
                        "ends_at": ends_at.isoformat(),
                        "hold_until": None if hold_until is None else hold_until.isoformat(),
                        # Written by the operator: the evidence of why, in the chain.
                        "reason": reason,
                        "legal_basis": legal_basis,
                    },
                ),
            )
            found = await store.get_request(tx.conn, request_id)
        assert found is not None
        return found

    async def approve(
        self, principal: Principal, request_id: str, note: str | None
    ) -> LawfulAccessRow:
        return await self._decide(principal, request_id, LawfulAccessStatus.approved, note)

    async def refuse(
        self, principal: Principal, request_id: str, note: str | None
    ) -> LawfulAccessRow:
        return await self._decide(principal, request_id, LawfulAccessStatus.refused, note)

    async def _decide(
        self,
        principal: Principal,
        request_id: str,
        status: LawfulAccessStatus,
        note: str | None,
    ) -> LawfulAccessRow:
        self.require_operator(principal)
        note = (note or "").strip() or None
        lapsed = False
        async with self.stream.transaction() as tx:
            row = await store.get_request(tx.conn, request_id)
            if row is None:
                raise NotFound("no lawful access request has this id", field="request_id")
            if not may_decide(row.requested_by, principal.user_id):
                raise Forbidden(
                    "a second operator decides a request, not the one who filed it",
                    type_slug="own-request",
                )
            if has_lapsed(row.status, row.ends_at, tx.now):
                # Deciding too late: the request expires instead, and that is recorded.
                await self.audit.record(tx.conn, *await self._expire(tx.conn, [row.id]))
                lapsed = True
            elif not await store.decide(
                tx.conn, row.id, status, by=principal.user_id, at=tx.now, note=note
            ):
                raise Conflict(f"this request is already {row.status}", type_slug="not-pending")
            else:
                action = APPROVED if status is LawfulAccessStatus.approved else REFUSED
                detail: dict[str, Any] = {"request_id": row.id, "room_ids": row.room_ids}
                if note is not None:
                    detail["note"] = note
                await self.audit.record(
                    tx.conn, AuditEvent(action, principal.user_id, ActorRole.operator, None, detail)
                )
            decided = await store.get_request(tx.conn, row.id)
        if lapsed:
            raise Conflict("this request's window has ended", type_slug="not-pending")
        assert decided is not None
        return decided

    # -- looking at requests -----------------------------------------------------------
    async def get(self, principal: Principal, request_id: str) -> LawfulAccessRow:
        self.require_operator(principal)
        async with self.db.read() as conn:
            row = await store.get_request(conn, request_id)
        if row is None:
            raise NotFound("no lawful access request has this id", field="request_id")
        return row

    async def list_requests(
        self,
        principal: Principal,
        *,
        status: LawfulAccessStatus | None,
        before: str | None,
        limit: int,
    ) -> tuple[list[LawfulAccessRow], str | None]:
        """Requests newest first; the id to pass as `before` for the next page, or None."""
        self.require_operator(principal)
        async with self.db.read() as conn:
            rows = await store.list_requests(conn, status=status, before_id=before, limit=limit + 1)
        page = rows[:limit]
        return page, page[-1].id if len(rows) > limit else None

    # -- reading -------------------------------------------------------------------------
    async def read_messages(
        self,
        principal: Principal,
        request_id: str,
        room_id: str,
        *,
        before: int | None,
        after: int | None,
        limit: int,
    ) -> Page:
        """A page of a named room's messages, as a member's history reads it (R7).

        Refused with 403 `lawful-access-required` unless the request is this operator's,
        approved, inside its window, and names the room; the refusal is recorded too.
        """
        self.require_operator(principal)
        operator = principal.user_id
        page: Page | None = None
        async with self.stream.transaction() as tx:
            row = await store.get_request(tx.conn, request_id)
            refusal = read_refusal(_state(row), operator, room_id, tx.now)
            if refusal is not None:
                events: list[AuditEvent] = []
                if row is not None and has_lapsed(row.status, row.ends_at, tx.now):
                    events += await self._expire(tx.conn, [row.id])
                detail = {"request_id": request_id, "room_id": room_id, "refusal": str(refusal)}
                events.append(AuditEvent(DENIED, operator, ActorRole.operator, None, detail))
                await self.audit.record(tx.conn, *events)
            else:
                assert row is not None
                if await chat_store.get_room(tx.conn, room_id) is None:
                    raise NotFound("the room no longer exists", field="room_id")
                page = await self.chat.room_page(
                    tx.conn, room_id, before=before, after=after, limit=limit
                )
                await self.audit.record(tx.conn, *_read_events(row, operator, room_id, page))
        if page is None:
            raise Forbidden(
                "reading a room's messages needs an approved, current lawful access request"
                " of yours that names the room",
                type_slug="lawful-access-required",
                extra={"refusal": str(refusal)},
            )
        return page

    # -- the recurring job -------------------------------------------------------------
    async def expire_lapsed(self) -> int:
        """Expire pending and approved requests whose window has ended; how many."""
        total = 0
        while True:
            async with self.stream.transaction() as tx:
                ids = await store.lapsed_ids(tx.conn, tx.now, BATCH)
                await self.audit.record(tx.conn, *await self._expire(tx.conn, ids))
            total += len(ids)
            if len(ids) < BATCH:
                return total

    async def prune(self, now: datetime) -> int:
        """Remove finished requests past the audit log's retention (R5); how many."""
        total = 0
        while True:
            async with self.stream.transaction() as tx:
                count = await store.delete_ended_before(tx.conn, now - self.kept, BATCH)
            total += count
            if count < BATCH:
                return total

    async def _expire(self, conn: AsyncConnection, ids: list[str]) -> list[AuditEvent]:
        return [
            AuditEvent(EXPIRED, None, ActorRole.system, None, {"request_id": request_id})
            for request_id in await store.expire(conn, ids)
        ]


def _state(row: LawfulAccessRow | None) -> RequestState | None:
    if row is None:
        return None
    return RequestState(
        row.requested_by, row.status, row.starts_at, row.ends_at, frozenset(row.room_ids)
    )


def _read_events(row: LawfulAccessRow, operator: str, room_id: str, page: Page) -> list[AuditEvent]:
    """One entry per person whose messages or reactions the page showed (one with no
    subject for an empty page): each of them is told, once the hold allows."""
    messages = Counter(m["sender_id"] for m in page.messages)
    reacted = Counter(
        user_id
        for m in page.messages
        for user_ids in m["reactions"].values()
        for user_id in user_ids
    )
    base: dict[str, Any] = {"request_id": row.id, "room_id": room_id}
    if row.hold_until is not None:
        base[HIDDEN_UNTIL] = row.hold_until.isoformat()
    people = sorted(set(messages) | set(reacted))
    if not people:
        return [AuditEvent(READ, operator, ActorRole.operator, None, {**base, "messages": 0})]
    return [
        AuditEvent(
            READ,
            operator,
            ActorRole.operator,
            person,
            {**base, "messages": messages[person], "reactions": reacted[person]},
        )
        for person in people
    ]
