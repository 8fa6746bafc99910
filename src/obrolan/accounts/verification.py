"""Email and phone addresses: confirming them by a one-time code, signing in and finding by them.

F1: an address entered at sign-up or with PATCH /me counts only once its owner types
the code sent to it. Until then it is kept, sealed, and shown to its owner, but it holds
no blind index: it signs in to no one and finds no one. The person who enters the code
takes the index, and any other account holding the same address loses it (whoever can
read the mailbox or the SMS now holds the address). F14, R18: others find a person by a
verified address only when the person allowed it; every other answer is the one for an
address nobody has.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from obrolan.accounts import store
from obrolan.accounts.keys import DataKeys, aad, open_text
from obrolan.accounts.lookups import require_key, require_user
from obrolan.accounts.principal import Principal
from obrolan.accounts.records import Account, PublicProfile
from obrolan.accounts.rules import (
    CodeOutcome,
    SignInName,
    new_verification_code,
    normalise_email,
    normalise_phone,
    typed_code,
    verification_outcome,
)
from obrolan.accounts.store import Channel, UserRow
from obrolan.accounts.throttle import ActionThrottle
from obrolan.accounts.views import account_view, public_view, seal_user_field
from obrolan.config import Settings
from obrolan.crypto import KeyRing
from obrolan.errors import Conflict, Invalid, NotFound
from obrolan.notifications import Language, Notifications
from obrolan.privacy.requests_store import is_restricted
from obrolan.profile import fields as profiles
from obrolan.realtime.stream import EventStream, Transaction

_NOBODY = "no one can be found by this address"
_REFUSED: dict[CodeOutcome | None, tuple[str, str]] = {
    None: ("no-code", "no code is waiting for this address; ask for one with resend"),
    CodeOutcome.WRONG: ("code-wrong", "the code is wrong"),
    CodeOutcome.EXPIRED: ("code-expired", "the code has expired; ask for a new one"),
    CodeOutcome.EXHAUSTED: ("code-exhausted", "too many wrong codes; ask for a new one"),
}
_CODE_TEMPLATE = {"email": "verify_email", "phone": "verify_phone"}
_CHANGED_TEMPLATE = {"email": "email_changed", "phone": "phone_changed"}


@dataclass(frozen=True, slots=True)
class _Verified:
    outcome: CodeOutcome | None
    account: Account | None


class Addresses:
    def __init__(
        self,
        settings: Settings,
        stream: EventStream,
        data_keys: DataKeys,
        keyring: KeyRing,
        actions: ActionThrottle,
        notifications: Notifications,
    ) -> None:
        self.settings = settings
        self.stream = stream
        self.data_keys = data_keys
        self.keyring = keyring
        self.actions = actions
        self.notifications = notifications
        self.code_lifetime = timedelta(minutes=settings.verification_code_minutes)

    async def language_of(self, tx: Transaction, key: bytes, user_id: str) -> Language:
        """The language a person's mail and SMS are written in: their profile's (F1)."""
        own = await profiles.own_profile(tx.conn, key, user_id, self.settings.default_language)
        return own.language

    def normalise(self, channel: Channel, raw: str) -> str:
        if channel == "email":
            return normalise_email(raw)
        return normalise_phone(raw, self.settings.phone_default_region)

    def _index(self, channel: Channel, address: str) -> bytes:
        return self.keyring.blind_index(channel, address)

    def _code_hash(self, user_id: str, channel: Channel, index: bytes, code: str) -> bytes:
        # Keyed, and bound to the person and the address: a copied table is no list of codes.
        return self.keyring.blind_index(
            "verification-code", f"{user_id}\x00{channel}\x00{index.hex()}\x00{code}"
        )

    @staticmethod
    def opened(key: bytes | None, user: UserRow, channel: Channel) -> str | None:
        sealed = user.email_enc if channel == "email" else user.phone_enc
        return open_text(key, sealed, aad("users", f"{channel}_enc", user.id))

    @staticmethod
    def verified(user: UserRow, channel: Channel) -> bool:
        at = user.email_verified_at if channel == "email" else user.phone_verified_at
        return at is not None

    # -- in the caller's transaction -------------------------------------------------------
    async def send_code(
        self, tx: Transaction, key: bytes, user_id: str, channel: Channel, address: str
    ) -> None:
        """Replace the pending code for `channel` with a new one and queue it to `address`."""
        index = self._index(channel, address)
        await self.actions.count(
            tx.conn, self.actions.code_keys(index), tx.now, what="codes sent to this address"
        )
        code = new_verification_code()
        await store.replace_code(
            tx.conn,
            {
                "user_id": user_id,
                "channel": channel,
                "address_index": index,
                "code_hash": self._code_hash(user_id, channel, index, code),
                "attempts": 0,
                "expires_at": tx.now + self.code_lifetime,
                "created_at": tx.now,
            },
        )
        minutes = str(self.settings.verification_code_minutes)
        send = self.notifications.mail if channel == "email" else self.notifications.sms
        await send(
            tx,
            key,
            user_id,
            to=address,
            template=_CODE_TEMPLATE[channel],
            language=await self.language_of(tx, key, user_id),
            params={"code": code, "minutes": minutes},
        )

    async def change(
        self, tx: Transaction, key: bytes, user: UserRow, channel: Channel, new: str | None
    ) -> dict[str, Any]:
        """The `users` values that set (or remove) an address; queues its code and notices.

        A new address starts unverified, without an index, and gets a code. A verified
        address that is replaced or removed hears about it (R17: a thief who changes
        the address does not do it silently).
        """
        old = self.opened(key, user, channel)
        if new == old:
            return {}
        await store.delete_code(tx.conn, user.id, channel)
        if new is not None:
            await self.send_code(tx, key, user.id, channel, new)
        if old is not None and self.verified(user, channel):
            send = self.notifications.mail if channel == "email" else self.notifications.sms
            await send(
                tx,
                key,
                user.id,
                to=old,
                template=_CHANGED_TEMPLATE[channel],
                language=await self.language_of(tx, key, user.id),
                params={"username": user.username},
            )
        return {
            f"{channel}_enc": seal_user_field(key, f"{channel}_enc", user.id, new),
            f"{channel}_index": None,
            f"{channel}_verified_at": None,
        }

    async def mail_new_device(
        self, tx: Transaction, key: bytes, user: UserRow, device_name: str | None
    ) -> None:
        """R17: a new-device alert by mail too, when the person has a verified email."""
        email = self.opened(key, user, "email")
        if email is None or not self.verified(user, "email"):
            return
        await self.notifications.mail(
            tx,
            key,
            user.id,
            to=email,
            template="new_device",
            language=await self.language_of(tx, key, user.id),
            params={
                "username": user.username,
                "device": device_name or "?",
                "at": tx.now.strftime("%Y-%m-%d %H:%M"),
            },
        )

    async def account_for_sign_in(self, tx: Transaction, names: list[SignInName]) -> UserRow | None:
        """The account a sign-in name stands for: a username, or a *verified* address."""
        for name in names:
            if name.channel == "username":
                user = await store.user_by_username(tx.conn, name.value)
            else:
                index = self._index(name.channel, name.value)
                user = await store.user_by_verified_address(tx.conn, name.channel, index)
            if user is not None:
                return user
        return None

    # -- actions -------------------------------------------------------------------------
    async def verify(self, principal: Principal, channel: Channel, raw_code: str) -> Account:
        """Confirm the pending address with its code; every attempt counts (F1)."""
        code = typed_code(raw_code)
        uid = principal.user_id
        async with self.stream.transaction() as tx:
            result = await self._try_code(tx, uid, channel, code)
        if result.account is None:
            slug, detail = _REFUSED[result.outcome]
            raise Invalid(detail, field="code", type_slug=slug)
        return result.account

    async def _try_code(
        self, tx: Transaction, uid: str, channel: Channel, code: str | None
    ) -> _Verified:
        user = await require_user(tx.conn, uid)
        key = await require_key(self.data_keys, uid)
        pending = await store.pending_code(tx.conn, uid, channel)
        address = self.opened(key, user, channel)
        if pending is None or address is None:
            return _Verified(None, None)
        index = self._index(channel, address)
        if not hmac.compare_digest(pending.address_index, index):
            return _Verified(None, None)
        matches = code is not None and hmac.compare_digest(
            pending.code_hash, self._code_hash(uid, channel, index, code)
        )
        outcome = verification_outcome(
            matches=matches,
            attempts=pending.attempts,
            max_attempts=self.settings.verification_max_attempts,
            expires_at=pending.expires_at,
            now=tx.now,
        )
        if outcome is not CodeOutcome.ACCEPTED:
            await store.count_code_attempt(tx.conn, uid, channel)
            return _Verified(outcome, None)
        await store.release_address(tx.conn, channel, index, uid)
        await store.update_user(
            tx.conn, uid, {f"{channel}_index": index, f"{channel}_verified_at": tx.now}
        )
        await store.delete_code(tx.conn, uid, channel)
        user = await require_user(tx.conn, uid)
        own = await profiles.own_profile(tx.conn, key, uid, self.settings.default_language)
        return _Verified(outcome, account_view(key, user, own))

    async def resend(self, principal: Principal, channel: Channel, ip_address: str | None) -> None:
        """A new code for the unverified address; throttled like setting one (R17)."""
        uid = principal.user_id
        async with self.stream.transaction() as tx:
            user = await require_user(tx.conn, uid)
            key = await require_key(self.data_keys, uid)
            address = self.opened(key, user, channel)
            if address is None or self.verified(user, channel):
                raise Conflict(f"there is no unverified {channel} to confirm", field=channel)
            keys = self.actions.address_change_keys(uid, ip_address)
            await self.actions.count(tx.conn, keys, tx.now, what="email or phone changes")
            await self.send_code(tx, key, uid, channel, address)

    async def find(self, principal: Principal, channel: Channel, raw: str) -> PublicProfile:
        """The public profile of whoever verified this address and lets others find them by it.

        R18: an unverified address, or a person who did not allow it, answers exactly as
        an address nobody has. Each look-up counts against the person asking.
        """
        index = self._index(channel, self.normalise(channel, raw))
        async with self.stream.transaction() as tx:
            await self.actions.count(
                tx.conn, self.actions.lookup_keys(principal.user_id), tx.now, what="look-ups"
            )
            user = await store.user_by_verified_address(tx.conn, channel, index)
            # R8: a restricted account cannot be found.
            if user is not None and not await is_restricted(tx.conn, user.id):
                chosen = await store.get_contact_settings(tx.conn, user.id)
                if chosen.findable_by_email if channel == "email" else chosen.findable_by_phone:
                    key = await self.data_keys.get(user.id)
                    shared = await profiles.shared_profile(tx.conn, key, user.id, principal.user_id)
                    return public_view(key, user, shared)
        raise NotFound(_NOBODY, field=channel)
