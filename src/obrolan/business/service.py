"""Business accounts (F10): profile, members, sender numbers and system tokens.

Authorisation lives here: people act through their own session (`Principal`) and need a
role in the business; systems act through a token of one business (`BusinessPrincipal`).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

from obrolan.accounts.keys import DataKeys, aad, open_text, seal_text
from obrolan.accounts.principal import Principal
from obrolan.accounts.rules import normalise_phone
from obrolan.accounts.service import AccountsService
from obrolan.business import store
from obrolan.business.graph import invalid_token, unknown_object
from obrolan.business.rules import BusinessRole, may_change_member, may_manage, wa_id
from obrolan.business.store import BusinessRow, NumberRow, TokenRow
from obrolan.chat import store as chat_store
from obrolan.clock import Clock
from obrolan.config import Settings
from obrolan.db import Database
from obrolan.errors import Conflict, Forbidden, Invalid, NotFound
from obrolan.ids import new_id
from obrolan.realtime.stream import EventStream

TOKEN_PREFIX = "obz_"  # noqa: S105 (a prefix that makes leaked tokens findable)


def token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


@dataclass(frozen=True, slots=True)
class BusinessPrincipal:
    """A system acting for one business through one of its tokens."""

    business_id: str
    token_id: str


@dataclass(frozen=True, slots=True)
class NewToken:
    token: TokenRow
    secret: str  # shown once, never stored


class BusinessService:
    def __init__(
        self,
        settings: Settings,
        db: Database,
        stream: EventStream,
        data_keys: DataKeys,
        accounts: AccountsService,
        clock: Clock,
    ) -> None:
        self.settings = settings
        self.db = db
        self.stream = stream
        self.data_keys = data_keys
        self.accounts = accounts
        self.clock = clock

    # -- authorisation ------------------------------------------------------------------
    async def role(self, actor: Principal, business_id: str) -> BusinessRole:
        """The actor's role; outsiders get 'not found' (a business's existence is private)."""
        async with self.db.read() as conn:
            role = await store.role_of(conn, business_id, actor.user_id)
        if role is None:
            if actor.is_admin and await self._exists(business_id):
                return BusinessRole.OWNER  # a site operator acts as the owner
            raise NotFound("no such business", field="business_id")
        return role

    async def require_manager(self, actor: Principal, business_id: str) -> None:
        if not may_manage(await self.role(actor, business_id)):
            raise Forbidden("only the business's owner and admins may do this")

    async def authenticate_token(self, token: str) -> BusinessPrincipal:
        async with self.db.read() as conn:
            row = await store.live_token(conn, token_hash(token))
        if row is None:
            raise invalid_token()
        return BusinessPrincipal(row.business_id, row.id)

    async def number_of(self, principal: BusinessPrincipal, number_id: str) -> NumberRow:
        """The sender number, if it belongs to the token's business (Graph 100/33 if not)."""
        async with self.db.read() as conn:
            number = await store.number_by_id(conn, number_id)
        if number is None or number.business_id != principal.business_id:
            raise unknown_object(number_id)
        return number

    async def _exists(self, business_id: str) -> bool:
        async with self.db.read() as conn:
            return await store.business_by_id(conn, business_id) is not None

    # -- businesses ---------------------------------------------------------------------
    async def create(self, actor: Principal, profile: dict[str, Any]) -> BusinessRow:
        business_id = new_id()
        # Its own data key seals its secrets (webhook secret, relay tokens, opt-in proofs,
        # webhook bodies): closing the business destroys it, and with it all of those.
        await self.data_keys.create(business_id)
        async with self.stream.transaction() as tx:
            await store.insert_business(
                tx.conn,
                {"id": business_id, **profile, "created_by": actor.user_id, "created_at": tx.now},
            )
            await store.put_member(tx.conn, business_id, actor.user_id, BusinessRole.OWNER, tx.now)
            row = await store.business_by_id(tx.conn, business_id)
        assert row is not None
        return row

    async def get(self, business_id: str) -> BusinessRow:
        async with self.db.read() as conn:
            row = await store.business_by_id(conn, business_id)
        if row is None:
            raise NotFound("no such business", field="business_id")
        return row

    async def mine(self, actor: Principal) -> list[tuple[BusinessRow, BusinessRole]]:
        async with self.db.read() as conn:
            return await store.businesses_of(conn, actor.user_id)

    async def update_profile(self, business_id: str, values: dict[str, Any]) -> BusinessRow:
        """Callers have authorised (a manager, or a token of this business)."""
        unknown = set(values) - set(store.PROFILE_FIELDS)
        if unknown:
            raise Invalid(f"not a profile field: {sorted(unknown)[0]}", field=sorted(unknown)[0])
        async with self.stream.transaction() as tx:
            await store.update_business(tx.conn, business_id, values)
            row = await store.business_by_id(tx.conn, business_id)
        if row is None:
            raise NotFound("no such business", field="business_id")
        return row

    # -- members ------------------------------------------------------------------------
    async def members(self, actor: Principal, business_id: str) -> list[tuple[str, BusinessRole]]:
        await self.role(actor, business_id)
        async with self.db.read() as conn:
            return await store.members(conn, business_id)

    async def put_member(
        self, actor: Principal, business_id: str, user_id: str, role: BusinessRole
    ) -> None:
        mine = await self.role(actor, business_id)
        async with self.stream.transaction() as tx:
            if not await chat_store.existing_user_ids(tx.conn, [user_id]):
                raise NotFound("no such person", field="user_id")
            theirs = await store.role_of(tx.conn, business_id, user_id)
            if not may_change_member(mine, theirs or BusinessRole.AGENT, role):
                raise Forbidden("only the owner adds and changes members, and never the owner")
            await store.put_member(tx.conn, business_id, user_id, role, tx.now)

    async def remove_member(self, actor: Principal, business_id: str, user_id: str) -> None:
        mine = await self.role(actor, business_id)
        async with self.stream.transaction() as tx:
            theirs = await store.role_of(tx.conn, business_id, user_id)
            if theirs is None:
                raise NotFound("not a member of this business", field="user_id")
            if not may_change_member(mine, theirs, None):
                raise Forbidden("only the owner removes members, and never the owner")
            await store.delete_member(tx.conn, business_id, user_id)

    # -- sender numbers -----------------------------------------------------------------
    async def add_number(
        self, actor: Principal, business_id: str, phone: str, verified_name: str | None
    ) -> NumberRow:
        await self.require_manager(actor, business_id)
        business = await self.get(business_id)
        digits = wa_id(normalise_phone(phone, self.settings.phone_default_region))
        name = (verified_name or business.name).strip()
        if not 1 <= len(name) <= 100:
            raise Invalid("a verified name has 1 to 100 characters", field="verified_name")
        async with self.db.read() as conn:
            if await store.number_taken(conn, digits):
                raise Conflict("this number is already a business number", field="phone")
        # The account that speaks for the number in people's chats.
        user_id = await self.accounts.create_service_account(f"wa{digits}", name)
        number_id = new_id()
        async with self.stream.transaction() as tx:
            if await store.number_taken(tx.conn, digits):
                raise Conflict("this number is already a business number", field="phone")
            await store.insert_number(
                tx.conn,
                {
                    "id": number_id,
                    "business_id": business_id,
                    "display_phone_number": digits,
                    "verified_name": name,
                    "user_id": user_id,
                    "created_at": tx.now,
                },
            )
            number = await store.number_by_id(tx.conn, number_id)
        assert number is not None
        return number

    async def numbers(self, actor: Principal, business_id: str) -> list[NumberRow]:
        await self.role(actor, business_id)
        async with self.db.read() as conn:
            return await store.numbers_of(conn, business_id)

    async def set_relay(
        self,
        actor: Principal,
        business_id: str,
        number_id: str,
        base_url: str | None,
        token: str | None,
    ) -> NumberRow:
        """Send to numbers nobody here has verified through an upstream Cloud API."""
        await self.require_manager(actor, business_id)
        if (base_url is None) != (token is None):
            raise Invalid("a relay needs both its base URL and its token", field="relay_base_url")
        key = await self._key(business_id)
        async with self.stream.transaction() as tx:
            number = await store.number_by_id(tx.conn, number_id)
            if number is None or number.business_id != business_id:
                raise NotFound("no such number", field="number_id")
            sealed = (
                seal_text(key, token, aad("business_numbers", "relay_token_enc", number_id))
                if token is not None
                else None
            )
            await store.set_relay(tx.conn, number_id, base_url, sealed)
            number = await store.number_by_id(tx.conn, number_id)
        assert number is not None
        return number

    async def relay_token(self, number: NumberRow) -> str | None:
        key = await self.data_keys.get(number.business_id)
        where = aad("business_numbers", "relay_token_enc", number.id)
        return open_text(key, number.relay_token_enc, where)

    # -- tokens -------------------------------------------------------------------------
    async def create_token(self, actor: Principal, business_id: str, name: str) -> NewToken:
        await self.require_manager(actor, business_id)
        secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
        token_id = new_id()
        async with self.stream.transaction() as tx:
            await store.insert_token(
                tx.conn,
                {
                    "id": token_id,
                    "business_id": business_id,
                    "name": name,
                    "token_hash": token_hash(secret),
                    "created_by": actor.user_id,
                    "created_at": tx.now,
                },
            )
            rows = await store.tokens_of(tx.conn, business_id)
        return NewToken(next(r for r in rows if r.id == token_id), secret)

    async def tokens(self, actor: Principal, business_id: str) -> list[TokenRow]:
        await self.require_manager(actor, business_id)
        async with self.db.read() as conn:
            return await store.tokens_of(conn, business_id)

    async def revoke_token(self, actor: Principal, business_id: str, token_id: str) -> None:
        await self.require_manager(actor, business_id)
        async with self.stream.transaction() as tx:
            if not await store.revoke_token(tx.conn, business_id, token_id, tx.now):
                raise NotFound("no such live token", field="token_id")

    async def _key(self, business_id: str) -> bytes:
        key = await self.data_keys.get(business_id)
        if key is None:
            raise NotFound("no such business", field="business_id")
        return key
