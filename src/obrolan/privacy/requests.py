"""People's requests about their data, with their legal deadlines (R1, R4, R8, R13).

A person opens a request for themselves; an operator (a site administrator) may open
one on a person's behalf and works the queue: completes or refuses what needs a human.
What each kind does when opened:

- access: queues the `privacy.export` job (the export registers its handler).
- rectification: waits for an operator, who corrects what the person cannot edit
  themselves (`rectify`: the username) and completes it.
- erasure: the account closes at once (sign-in refused, sessions revoked so every
  node closes the sockets, no longer findable); the erasure runs when the grace period
  ends (erasure.py). Until then the person may cancel with the code mailed to them,
  or an operator for them; cancelling opens the account again.
- restriction: the account is restricted at once, and the request is answered (done):
  the person still signs in and reads, nothing else (`require_unrestricted`). Cancelling
  it, by the person or an operator, lifts the restriction.
- objection: the objection flag is set at once (done); cancelling withdraws it.

One open request per kind and person. Every step leaves an audit entry about the person.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncConnection

from obrolan.accounts import store as accounts_store
from obrolan.accounts.keys import DataKeys, aad, open_text, seal_text
from obrolan.accounts.principal import Principal
from obrolan.accounts.rules import normalise_username
from obrolan.accounts.service import AccountsService
from obrolan.clock import Clock
from obrolan.config import Settings
from obrolan.db import Database
from obrolan.errors import Conflict, Forbidden, Invalid, NotFound
from obrolan.ids import new_id
from obrolan.jobs import JobQueue
from obrolan.notifications import Notifications
from obrolan.privacy import requests_store as store
from obrolan.privacy.audit import ActorRole, AuditEvent, AuditLog
from obrolan.privacy.requests_store import RequestRow
from obrolan.privacy.rules import (
    OPEN_STATUSES,
    RequestKind,
    RequestStatus,
    is_overdue,
    request_deadline,
)
from obrolan.profile import fields as profiles
from obrolan.realtime.stream import EventStream, Transaction

EXPORT_KIND = "privacy.export"
NOTE_MAX_CHARS = 2000
RESOLUTION_MAX_CHARS = 2000
# Kinds that take effect when opened and are answered at once.
IMMEDIATE_KINDS = frozenset({RequestKind.restriction, RequestKind.objection})


@dataclass(frozen=True, slots=True)
class PrivacyRequest:
    """A request as its person and the operators see it."""

    id: str
    user_id: str
    kind: RequestKind
    status: RequestStatus
    created_at: datetime
    deadline_at: datetime
    done_at: datetime | None
    due_at: datetime | None
    progress: int
    opened_by_operator: bool
    resolution: str | None
    overdue: bool
    # Until the deadline; negative once it has passed (0 for answered requests).
    seconds_left: int
    # What the person wrote; None when there is none or it was erased.
    note: str | None = None


@dataclass(frozen=True, slots=True)
class Rectified:
    user_id: str
    fields: list[str]


def cancel_code_hash(code: str) -> bytes:
    """What is stored of an erasure's cancel code: its SHA-256, never the code."""
    return hashlib.sha256(code.encode()).digest()


def may_cancel(kind: RequestKind, status: RequestStatus, *, in_force: bool) -> bool:
    """Erasure before it starts, restriction and objection while in force, others while
    no one has answered them."""
    if kind in IMMEDIATE_KINDS:
        return status is RequestStatus.done and in_force
    return status is RequestStatus.received


def restricted() -> Forbidden:
    """The answer to a restricted person's attempt to use their account (R8)."""
    return Forbidden(
        "your account is restricted at your request: it can be read, not used;"
        " cancel the restriction request to lift it",
        type_slug="restricted",
    )


async def require_unrestricted(conn: AsyncConnection, user_id: str) -> None:
    """Forbidden (`restricted`) when the person restricted the processing of their data (R8)."""
    if await store.is_restricted(conn, user_id):
        raise restricted()


class PrivacyRequests:
    def __init__(
        self,
        settings: Settings,
        db: Database,
        stream: EventStream,
        data_keys: DataKeys,
        accounts: AccountsService,
        notifications: Notifications,
        jobs: JobQueue,
        audit: AuditLog,
        clock: Clock,
    ) -> None:
        self.settings = settings
        self.db = db
        self.stream = stream
        self.data_keys = data_keys
        self.accounts = accounts
        self.notifications = notifications
        self.jobs = jobs
        self.audit = audit
        self.clock = clock

    # -- the person ----------------------------------------------------------------------
    async def open(
        self, principal: Principal, kind: RequestKind, note: str | None
    ) -> PrivacyRequest:
        """Open a request about the acting person's own data."""
        return await self._open(principal, principal.user_id, kind, note, by_operator=False)

    async def mine(self, principal: Principal) -> list[PrivacyRequest]:
        """The acting person's requests, newest first."""
        async with self.db.read() as conn:
            rows = await store.requests_of(conn, principal.user_id)
            key = await self.data_keys.get(principal.user_id)
        now = self.clock.now()
        return [_view(r, now, key) for r in rows]

    async def get_mine(self, principal: Principal, request_id: str) -> PrivacyRequest:
        """One of the acting person's requests; anyone else's is not found."""
        async with self.db.read() as conn:
            row = await store.get_request(conn, request_id)
            if row is None or row.user_id != principal.user_id:
                raise NotFound("no such request of yours", field="request_id")
            key = await self.data_keys.get(row.user_id)
        return _view(row, self.clock.now(), key)

    async def cancel(self, principal: Principal, request_id: str) -> PrivacyRequest:
        """Withdraw one of the acting person's requests (see `may_cancel`)."""
        async with self.stream.transaction() as tx:
            row = await store.get_request(tx.conn, request_id)
            if row is None or row.user_id != principal.user_id:
                raise NotFound("no such request of yours", field="request_id")
            return await self._cancel(tx, row, principal.user_id, ActorRole.person)

    async def cancel_erasure_with_code(self, code: str) -> PrivacyRequest:
        """Cancel an erasure with the code mailed to the person (who cannot sign in)."""
        async with self.stream.transaction() as tx:
            row = await store.request_by_cancel_code(tx.conn, cancel_code_hash(code.strip()))
            if row is None:
                raise NotFound("no erasure waits for this code", field="code")
            return await self._cancel(tx, row, row.user_id, ActorRole.person)

    # -- operators -----------------------------------------------------------------------
    @staticmethod
    def require_operator(principal: Principal) -> None:
        """Forbidden (`not-an-admin`) unless the principal is an operator."""
        _require_operator(principal)

    async def open_for(
        self, principal: Principal, user_id: str, kind: RequestKind, note: str | None
    ) -> PrivacyRequest:
        """Open a request on a person's behalf (they asked by mail, by phone, in person)."""
        _require_operator(principal)
        return await self._open(principal, user_id, kind, note, by_operator=True)

    async def queue(
        self,
        principal: Principal,
        *,
        status: RequestStatus | None = None,
        overdue: bool | None = None,
        limit: int = 100,
    ) -> list[PrivacyRequest]:
        """Requests by deadline, soonest first; by default the open ones."""
        _require_operator(principal)
        now = self.clock.now()
        statuses = [str(status)] if status else sorted(str(s) for s in OPEN_STATUSES)
        async with self.db.read() as conn:
            rows = await store.queue(
                conn, statuses=statuses, overdue_at=now, overdue=overdue, limit=limit
            )
        return [_view(r, now, None) for r in rows]

    async def get_any(self, principal: Principal, request_id: str) -> PrivacyRequest:
        """One request with the person's note; the read is recorded (R7)."""
        _require_operator(principal)
        async with self.stream.transaction() as tx:
            row = await _require(tx.conn, request_id)
            key = await self.data_keys.get(row.user_id)
            view = _view(row, tx.now, key)
            if view.note is not None:
                await self._record(tx, "privacy.request.viewed", principal, row, ActorRole.operator)
        return view

    async def complete(
        self, principal: Principal, request_id: str, resolution: str
    ) -> PrivacyRequest:
        """Answer a request: say what was done. Erasures complete by themselves."""
        _require_operator(principal)
        resolution = _operator_text(resolution, "resolution")
        async with self.stream.transaction() as tx:
            row = await _require(tx.conn, request_id)
            if row.status not in OPEN_STATUSES:
                raise Conflict(f"this request is {row.status} already", type_slug="request-closed")
            if row.kind == RequestKind.erasure:
                raise Conflict(
                    "an erasure completes by itself when its grace period ends",
                    type_slug="erasure-runs-itself",
                )
            values = {
                "status": RequestStatus.done,
                "resolution": resolution,
                "done_at": tx.now,
                "progress": 100,
            }
            await store.update_request(tx.conn, row.id, values)
            await self._record(tx, "privacy.request.completed", principal, row, ActorRole.operator)
            return await self._reread(tx, row.id)

    async def refuse(self, principal: Principal, request_id: str, reason: str) -> PrivacyRequest:
        """Refuse a request, with the reason the person will read (required)."""
        _require_operator(principal)
        reason = _operator_text(reason, "reason")
        async with self.stream.transaction() as tx:
            row = await _require(tx.conn, request_id)
            if row.status not in OPEN_STATUSES:
                raise Conflict(f"this request is {row.status} already", type_slug="request-closed")
            if row.kind == RequestKind.erasure and row.status != RequestStatus.received:
                raise Conflict("this erasure is running", type_slug="erasure-running")
            await store.update_request(
                tx.conn,
                row.id,
                {"status": RequestStatus.refused, "resolution": reason, "done_at": tx.now},
            )
            if row.kind == RequestKind.erasure:
                await self._reopen(tx, row)
            await self._record(
                tx,
                "privacy.request.refused",
                principal,
                row,
                ActorRole.operator,
                reason=reason,
            )
            return await self._reread(tx, row.id)

    async def cancel_for(self, principal: Principal, request_id: str) -> PrivacyRequest:
        """Withdraw a request on the person's behalf (an erasure they asked to stop)."""
        _require_operator(principal)
        async with self.stream.transaction() as tx:
            row = await _require(tx.conn, request_id)
            return await self._cancel(tx, row, principal.user_id or None, ActorRole.operator)

    async def rectify(self, principal: Principal, user_id: str, *, username: str) -> Rectified:
        """Correct what a person cannot correct themselves: their username (R8).

        Everything else of the account and profile the person edits with PATCH /me.
        The audit names the fields changed, never their values.
        """
        _require_operator(principal)
        new = normalise_username(username)
        async with self.stream.transaction() as tx:
            user = await accounts_store.user_by_id(tx.conn, user_id)
            if user is None:
                raise NotFound("no such person", field="user_id")
            changed: list[str] = []
            if new != user.username:
                if await accounts_store.username_taken(tx.conn, new):
                    raise Conflict("this username is taken", field="username")
                await store.set_username(tx.conn, user_id, new)
                changed.append("username")
            if changed:
                await self.audit.record(
                    tx.conn,
                    AuditEvent(
                        "account.rectified",
                        principal.user_id or None,
                        ActorRole.operator,
                        user_id,
                        {"fields": changed},
                    ),
                    at=tx.now,
                )
        return Rectified(user_id, changed)

    # -- for the export and the overdue alarm --------------------------------------------
    async def set_progress(self, request_id: str, progress: int) -> None:
        """A job reports how far it is (0..100); the request is in progress meanwhile."""
        async with self.stream.transaction() as tx:
            row = await _require(tx.conn, request_id)
            if row.status in OPEN_STATUSES:
                await store.update_request(
                    tx.conn,
                    request_id,
                    {"status": RequestStatus.in_progress, "progress": max(0, min(progress, 99))},
                )

    async def complete_by_system(self, tx: Transaction, request_id: str, resolution: str) -> None:
        """Answer a request from a job (the export once its file is ready), in `tx`."""
        row = await _require(tx.conn, request_id)
        if row.status not in OPEN_STATUSES:
            return
        await store.update_request(
            tx.conn,
            request_id,
            {
                "status": RequestStatus.done,
                "resolution": resolution[:RESOLUTION_MAX_CHARS],
                "done_at": tx.now,
                "progress": 100,
            },
        )
        await self.audit.record(
            tx.conn,
            AuditEvent(
                "privacy.request.completed",
                None,
                ActorRole.system,
                row.user_id,
                {"request_id": row.id, "kind": row.kind},
            ),
            at=tx.now,
        )

    async def overdue(self, now: datetime, limit: int = 1000) -> list[PrivacyRequest]:
        """Open requests past their deadline at `now`, oldest deadline first."""
        async with self.db.read() as conn:
            rows = await store.queue(conn, statuses=None, overdue_at=now, overdue=True, limit=limit)
        return [_view(r, now, None) for r in rows]

    async def overdue_count(self) -> int:
        async with self.db.read() as conn:
            return await store.count_overdue(conn, self.clock.now())

    # -- helpers -------------------------------------------------------------------------
    async def _open(
        self,
        principal: Principal,
        user_id: str,
        kind: RequestKind,
        note: str | None,
        *,
        by_operator: bool,
    ) -> PrivacyRequest:
        note = _note(kind, note)
        request_id = new_id()
        async with self.stream.transaction() as tx:
            # Locked: "one open request per kind" is checked, then inserted, by one
            # transaction of this person's at a time, whichever node they reach.
            flags = await store.account_flags(tx.conn, user_id, lock=True)
            key = await self.data_keys.get(user_id)
            if not flags.exists or flags.erased_at is not None or key is None:
                raise NotFound("no such person", field="user_id")
            if await store.open_request_of_kind(tx.conn, user_id, kind) is not None:
                raise Conflict(
                    f"there is an open {kind} request already; wait for its answer or cancel it",
                    field="kind",
                    type_slug="request-open",
                )
            if kind == RequestKind.restriction and flags.restricted_at is not None:
                raise Conflict(
                    "the account is restricted already", field="kind", type_slug="request-open"
                )
            if kind == RequestKind.objection and flags.objected_at is not None:
                raise Conflict(
                    "the objection stands already", field="kind", type_slug="request-open"
                )
            values: dict[str, object] = {
                "id": request_id,
                "user_id": user_id,
                "kind": kind,
                "status": RequestStatus.received,
                "opened_by": principal.user_id or user_id,
                "opened_by_operator": by_operator,
                "note_enc": seal_text(key, note, _note_aad(request_id)) if note else None,
                "progress": 0,
                "created_at": tx.now,
                "deadline_at": request_deadline(kind, tx.now, self.settings),
                "closed_account": False,
            }
            if kind in IMMEDIATE_KINDS:
                flag = "restricted_at" if kind == RequestKind.restriction else "objected_at"
                await store.set_flags(tx.conn, user_id, {flag: tx.now})
                values |= {"status": RequestStatus.done, "done_at": tx.now, "progress": 100}
            code = None
            if kind == RequestKind.erasure:
                code = secrets.token_urlsafe(16)
                due = tx.now + timedelta(days=self.settings.privacy_erasure_grace_days)
                values |= {
                    "due_at": due,
                    "cancel_code_hash": cancel_code_hash(code),
                    "closed_account": flags.closed_at is None,
                }
            await store.insert_request(tx.conn, values)
            if kind == RequestKind.access:
                await self.jobs.enqueue(
                    tx,
                    EXPORT_KIND,
                    {"request_id": request_id, "user_id": user_id},
                    key=f"{EXPORT_KIND}:{request_id}",
                )
            if kind == RequestKind.erasure:
                assert code is not None
                await self._mail_erasure_received(tx, key, user_id, values["due_at"], code)
                if flags.closed_at is None:
                    # Closed at once: sign-in refused, not findable, and the revoked
                    # sessions' sockets close on every node (R4).
                    await accounts_store.close_user(tx.conn, user_id, tx.now)
                await self.accounts.revoke_all_sessions(tx, user_id)
            role = ActorRole.operator if by_operator else ActorRole.person
            row = await _require(tx.conn, request_id)
            await self._record(tx, "privacy.request.opened", principal, row, role)
            return _view(row, tx.now, key)

    async def _cancel(
        self, tx: Transaction, row: RequestRow, actor_id: str | None, role: ActorRole
    ) -> PrivacyRequest:
        kind = RequestKind(row.kind)
        flags = await store.account_flags(tx.conn, row.user_id)
        in_force = (
            flags.restricted_at is not None
            if kind == RequestKind.restriction
            else flags.objected_at is not None
        )
        if not may_cancel(kind, RequestStatus(row.status), in_force=in_force):
            raise Conflict(
                "this request can no longer be cancelled", type_slug="request-not-cancellable"
            )
        if kind == RequestKind.restriction:
            await store.set_flags(tx.conn, row.user_id, {"restricted_at": None})
        if kind == RequestKind.objection:
            await store.set_flags(tx.conn, row.user_id, {"objected_at": None})
        if kind == RequestKind.erasure:
            await self._reopen(tx, row)
        await store.update_request(
            tx.conn,
            row.id,
            {"status": RequestStatus.cancelled, "cancel_code_hash": None, "done_at": tx.now},
        )
        await self.audit.record(
            tx.conn,
            AuditEvent(
                "privacy.request.cancelled",
                actor_id,
                role,
                row.user_id,
                {"request_id": row.id, "kind": row.kind},
            ),
            at=tx.now,
        )
        # The person's own answers carry their note; an operator's queue answers do not.
        key = await self.data_keys.get(row.user_id) if role is ActorRole.person else None
        return await self._reread(tx, row.id, key)

    async def _reopen(self, tx: Transaction, row: RequestRow) -> None:
        """A stopped erasure opens the account it closed (not one closed for another reason).

        Its sessions stay revoked: the person signs in again with their password.
        """
        if row.closed_account:
            await store.set_flags(tx.conn, row.user_id, {"closed_at": None})
        await store.update_request(tx.conn, row.id, {"cancel_code_hash": None})

    async def _mail_erasure_received(
        self, tx: Transaction, key: bytes, user_id: str, due: object, code: str
    ) -> None:
        contact = await store.mail_contact(tx.conn, user_id)
        if contact is None or not contact.email_verified:
            return  # no confirmed address: the person cancels through an operator
        email = open_text(key, contact.email_enc, aad("users", "email_enc", user_id))
        if email is None:
            return
        assert isinstance(due, datetime)
        own = await profiles.own_profile(tx.conn, key, user_id, self.settings.default_language)
        await self.notifications.mail(
            tx,
            key,
            user_id,
            to=email,
            template="erasure_received",
            language=own.language,
            params={
                "username": contact.username,
                "date": f"{due:%Y-%m-%d %H:%M}",
                "code": code,
                "operator": self.settings.privacy_operator_contact
                or self.settings.privacy_operator_name,
            },
        )

    async def _record(
        self,
        tx: Transaction,
        action: str,
        principal: Principal,
        row: RequestRow,
        role: ActorRole,
        **extra: str,
    ) -> None:
        detail: dict[str, object] = {"request_id": row.id, "kind": row.kind, **extra}
        await self.audit.record(
            tx.conn,
            AuditEvent(action, principal.user_id or None, role, row.user_id, detail),
            at=tx.now,
        )

    async def _reread(
        self, tx: Transaction, request_id: str, key: bytes | None = None
    ) -> PrivacyRequest:
        row = await _require(tx.conn, request_id)
        return _view(row, tx.now, key)


def _require_operator(principal: Principal) -> None:
    if not principal.is_admin:
        raise Forbidden("only operators may do this", type_slug="not-an-admin")


async def _require(conn: AsyncConnection, request_id: str) -> RequestRow:
    row = await store.get_request(conn, request_id)
    if row is None:
        raise NotFound("no such request", field="request_id")
    return row


def _note(kind: RequestKind, note: str | None) -> str | None:
    note = (note or "").strip() or None
    if note is not None and len(note) > NOTE_MAX_CHARS:
        raise Invalid(f"a note has at most {NOTE_MAX_CHARS} characters", field="note")
    if kind == RequestKind.rectification and note is None:
        raise Invalid("say what is wrong and what it should be", field="note")
    return note


def _operator_text(text: str, field: str) -> str:
    text = text.strip()
    if not text:
        raise Invalid(f"the {field} is required", field=field)
    if len(text) > RESOLUTION_MAX_CHARS:
        raise Invalid(f"at most {RESOLUTION_MAX_CHARS} characters", field=field)
    return text


def _note_aad(request_id: str) -> bytes:
    return aad("privacy_requests", "note_enc", request_id)


def _view(row: RequestRow, now: datetime, key: bytes | None) -> PrivacyRequest:
    status = RequestStatus(row.status)
    overdue = is_overdue(status, row.deadline_at, now)
    left = int((row.deadline_at - now).total_seconds()) if status in OPEN_STATUSES else 0
    return PrivacyRequest(
        id=row.id,
        user_id=row.user_id,
        kind=RequestKind(row.kind),
        status=status,
        created_at=row.created_at,
        deadline_at=row.deadline_at,
        done_at=row.done_at,
        due_at=row.due_at,
        progress=row.progress,
        opened_by_operator=row.opened_by_operator,
        resolution=row.resolution,
        overdue=overdue,
        seconds_left=left,
        note=open_text(key, row.note_enc, _note_aad(row.id)),
    )
