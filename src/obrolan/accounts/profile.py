"""Profile actions: my account and profile, changing them, and what others see (F1, R8, R18).

The account fields (display name, email, phone) and the profile fields (profile.fields)
are read in one snapshot and changed in one transaction, since GET and PATCH /me carry
both.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from obrolan.accounts import store
from obrolan.accounts.keys import DataKeys
from obrolan.accounts.lookups import require_user
from obrolan.accounts.principal import Principal
from obrolan.accounts.records import KEEP, Account, ProfileChanges, PublicProfile
from obrolan.accounts.rules import normalise_display_name, normalise_email, normalise_phone
from obrolan.accounts.store import UserRow
from obrolan.accounts.throttle import ActionThrottle
from obrolan.accounts.verification import Addresses
from obrolan.accounts.views import account_view, public_view, seal_user_field
from obrolan.clock import Clock
from obrolan.config import Settings
from obrolan.db import Database
from obrolan.errors import NotFound
from obrolan.privacy.requests_store import is_restricted
from obrolan.profile import fields as profiles
from obrolan.realtime.stream import EventStream


class ProfileActions:
    def __init__(
        self,
        settings: Settings,
        db: Database,
        stream: EventStream,
        data_keys: DataKeys,
        clock: Clock,
        actions: ActionThrottle,
        addresses: Addresses,
    ) -> None:
        self.settings = settings
        self.db = db
        self.stream = stream
        self.data_keys = data_keys
        self.clock = clock
        self.actions = actions
        self.addresses = addresses

    async def me(self, principal: Principal) -> Account:
        """The acting person's own account, personal fields opened."""
        async with self.db.read() as conn:
            user = await require_user(conn, principal.user_id)
            key = await self.data_keys.get(user.id)
            return account_view(key, user, await self._own_profile(conn, key, user.id))

    async def update_profile(
        self, principal: Principal, changes: ProfileChanges, *, ip_address: str | None
    ) -> Account:
        """Change the display name, email, phone or profile; all but the name may be removed (R8).

        Setting an email or phone is throttled per account and per client address, never
        tells whether another account has it, and sends a code to confirm it (F1, R18).
        """
        changes = profiles.checked_changes(changes, self.clock.now())
        values: dict[str, Any] = {}
        uid = principal.user_id
        display_name = email = phone = None
        if changes.display_name is not KEEP:
            display_name = normalise_display_name(changes.display_name)
        if changes.email is not KEEP and changes.email is not None:
            email = normalise_email(changes.email)
        if changes.phone is not KEEP and changes.phone is not None:
            phone = normalise_phone(changes.phone, self.settings.phone_default_region)
        async with self.stream.transaction() as tx:
            user = await require_user(tx.conn, uid)
            key = await self.data_keys.get(uid)
            if key is None:
                raise NotFound("this account was erased")
            if email is not None or phone is not None:
                keys = self.actions.address_change_keys(uid, ip_address)
                await self.actions.count(tx.conn, keys, tx.now, what="email or phone changes")
            if display_name is not None:
                values["display_name_enc"] = seal_user_field(
                    key, "display_name_enc", uid, display_name
                )
            if changes.email is not KEEP:
                values |= await self.addresses.change(tx, key, user, "email", email)
            if changes.phone is not KEEP:
                values |= await self.addresses.change(tx, key, user, "phone", phone)
            if values:
                await store.update_user(tx.conn, uid, values)
            await profiles.write_changes(tx.conn, key, uid, changes, tx.now)
        return await self.me(principal)

    async def public_profile(self, principal: Principal, user_id: str) -> PublicProfile:
        """What a signed-in person may see of another: id, username, display name, and the
        profile fields their owner shows to this viewer (profile.rules.visible_fields)."""
        async with self.db.read() as conn:
            user = await require_user(conn, user_id)
            return await self._public_view(conn, principal, user)

    async def find_by_username(self, principal: Principal, username: str) -> PublicProfile:
        """The profile of the person with exactly this username, if they may be found.

        R18: someone who turned `findable_by_username` off gets the very answer an unknown
        username gets. Every look-up is counted first, in its own transaction, so that
        the refusals count as well (a failing action's transaction would roll back).
        """
        async with self.stream.transaction() as tx:
            keys = self.actions.lookup_keys(principal.user_id)
            await self.actions.count(tx.conn, keys, tx.now, what="look-ups of people")
        async with self.db.read() as conn:
            user = await store.user_by_username(conn, username.lower())
            findable = user is not None and (
                user.id == principal.user_id
                or (
                    (await store.get_contact_settings(conn, user.id)).findable_by_username
                    # R8: a restricted account is used for nothing but its owner's reading.
                    and not await is_restricted(conn, user.id)
                )
            )
            if user is None or not findable:
                raise NotFound("no one has this username", field="username")
            return await self._public_view(conn, principal, user)

    # -- helpers ---------------------------------------------------------------------
    async def _own_profile(
        self, conn: AsyncConnection, key: bytes | None, user_id: str
    ) -> profiles.OwnProfile:
        return await profiles.own_profile(conn, key, user_id, self.settings.default_language)

    async def _public_view(
        self, conn: AsyncConnection, principal: Principal, user: UserRow
    ) -> PublicProfile:
        key = await self.data_keys.get(user.id)
        shared = await profiles.shared_profile(conn, key, user.id, principal.user_id)
        return public_view(key, user, shared)
