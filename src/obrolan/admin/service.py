"""Site administration: list and close accounts, remove public rooms.

Every action checks that the acting principal is a site administrator (`users.is_admin`)
and raises Forbidden otherwise; a route never decides that alone. Writes are one
`stream.transaction()` each: the change and the events its sockets must see commit
together.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from obrolan.accounts import store as accounts_store
from obrolan.accounts.keys import DataKeys, aad, open_text
from obrolan.accounts.principal import Principal
from obrolan.accounts.service import AccountsService
from obrolan.accounts.store import AccountSummaryRow
from obrolan.admin.records import AccountPage, AccountSummary
from obrolan.admin.rules import may_close_account, may_remove_room
from obrolan.chat import store as chat_store
from obrolan.db import Database
from obrolan.errors import Forbidden, NotFound
from obrolan.privacy.audit import ActorRole, AuditEvent, AuditLog
from obrolan.realtime.hub import ROOM_REMOVED
from obrolan.realtime.stream import EventStream, NewEvent

# The command line acts with the operator's own access to the database and the key, so it
# holds an administrator's powers without being an account (its user id matches none).
OPERATOR = Principal(user_id="", session_id="", is_admin=True)


class AdminService:
    def __init__(
        self,
        db: Database,
        stream: EventStream,
        data_keys: DataKeys,
        accounts: AccountsService,
        audit: AuditLog,
    ) -> None:
        self.db = db
        self.stream = stream
        self.data_keys = data_keys
        self.accounts = accounts
        # R7: every operator action, and every operator read of a person's data, is
        # recorded in the transaction that does it.
        self.audit = audit

    # -- accounts ----------------------------------------------------------------------
    async def list_accounts(
        self, principal: Principal, *, after: str | None, limit: int
    ) -> AccountPage:
        """Every account, open and closed, by username; `after` is the previous page's last."""
        _require_admin(principal)
        async with self.stream.transaction() as tx:
            rows = await accounts_store.list_accounts(
                tx.conn, after_username=after, limit=limit + 1
            )
            page = rows[:limit]
            summaries = await self._summaries(tx.conn, page)
            await self._record_read(tx.conn, principal, [s.id for s in summaries], "account-list")
        return AccountPage(summaries, page[-1].username if len(rows) > limit else None)

    async def find_account(self, principal: Principal, username: str) -> AccountSummary:
        """The account with exactly this username, open or closed."""
        _require_admin(principal)
        async with self.stream.transaction() as tx:
            row = await accounts_store.account_summary(tx.conn, username=username.lower())
            if row is None:
                raise NotFound("no account has this username", field="username")
            found = (await self._summaries(tx.conn, [row]))[0]
            await self._record_read(tx.conn, principal, [found.id], "account")
        return found

    async def close_account(self, principal: Principal, user_id: str) -> AccountSummary:
        """Close an account: it can no longer sign in, its sessions end, its sockets close.

        The row and its username stay (R3 keeps a closed account 90 days), so the name
        cannot be taken by someone else. Closing a closed account changes nothing.
        """
        _require_admin(principal)
        if not may_close_account(principal.user_id, user_id):
            raise Forbidden(
                "administrators cannot close their own account", type_slug="own-account"
            )
        async with self.stream.transaction() as tx:
            row = await accounts_store.account_summary(tx.conn, user_id=user_id)
            if row is None:
                raise NotFound("no such person", field="user_id")
            closing = row.closed_at is None
            if closing:
                await accounts_store.close_user(tx.conn, user_id, tx.now)
                await self.accounts.revoke_all_sessions(tx, user_id)
            row = await accounts_store.account_summary(tx.conn, user_id=user_id)
            assert row is not None
            closed = (await self._summaries(tx.conn, [row]))[0]
            if closing:
                await self.audit.record(
                    tx.conn,
                    AuditEvent(
                        "operator.account_closed",
                        principal.user_id or None,
                        ActorRole.operator,
                        user_id,
                    ),
                )
            else:  # nothing changed, but the account was shown
                await self._record_read(tx.conn, principal, [user_id], "account")
        return closed

    # -- rooms -------------------------------------------------------------------------
    async def remove_room(self, principal: Principal, room_id: str) -> None:
        """Remove a public room with its messages, for everyone.

        Each person in it or invited to it gets a `room.removed` event addressed to them,
        so a socket that was offline learns of it on replay; then the room answers 404
        to everyone. Other kinds of rooms are 'not found' here too: their existence is
        private to their members.
        """
        _require_admin(principal)
        async with self.stream.transaction() as tx:
            room = await chat_store.get_room(tx.conn, room_id)
            if room is None or not may_remove_room(room.kind):
                raise NotFound("no public room has this id", field="room_id")
            audience = await chat_store.room_audience(tx.conn, room_id)
            await chat_store.delete_room(tx.conn, room_id)
            data = {"room_id": room.id, "name": room.name}
            actor = principal.user_id or None  # None: the operator, from the command line
            if audience:
                tx.append(
                    *(
                        NewEvent(ROOM_REMOVED, room.id, actor, data, target_user_id=uid)
                        for uid in audience
                    )
                )
            await self.audit.record(
                tx.conn,
                AuditEvent(
                    "operator.room_removed",
                    actor,
                    ActorRole.operator,
                    detail={"room_id": room.id, "people": len(audience)},
                ),
            )

    # -- helpers -----------------------------------------------------------------------
    async def _record_read(
        self, conn: AsyncConnection, principal: Principal, shown: list[str], what: str
    ) -> None:
        """An operator read of personal data: one entry per person shown, so each sees it."""
        await self.audit.record(
            conn,
            *(
                AuditEvent(
                    "operator.read",
                    principal.user_id or None,
                    ActorRole.operator,
                    uid,
                    {"what": what},
                )
                for uid in shown
            ),
        )

    async def _summaries(
        self, conn: AsyncConnection, rows: list[AccountSummaryRow]
    ) -> list[AccountSummary]:
        keys = await self.data_keys.get_many({r.id for r in rows})
        return [
            AccountSummary(
                id=r.id,
                username=r.username,
                display_name=open_text(
                    keys.get(r.id), r.display_name_enc, aad("users", "display_name_enc", r.id)
                ),
                is_admin=r.is_admin,
                created_at=r.created_at,
                closed_at=r.closed_at,
            )
            for r in rows
        ]


def _require_admin(principal: Principal) -> None:
    if not principal.is_admin:
        raise Forbidden("only site administrators may do this", type_slug="not-an-admin")
