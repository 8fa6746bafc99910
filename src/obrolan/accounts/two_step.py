"""Two-step sign-in with an authenticator app (TOTP): turning it on and off, and its codes (R17).

A code is good once (RFC 6238 §5.2): the step of the last accepted code is kept per
person, and a code of that step or an earlier one is refused, at sign-in as here.
"""

from __future__ import annotations

from typing import Any

import pyotp

from obrolan.accounts import store
from obrolan.accounts.keys import DataKeys
from obrolan.accounts.lookups import require_key, require_user, totp_secret
from obrolan.accounts.passwords import Passwords
from obrolan.accounts.principal import Principal
from obrolan.accounts.records import Account, TotpSetup
from obrolan.accounts.rules import totp_accepted_step
from obrolan.accounts.store import UserRow
from obrolan.accounts.throttle import SignInThrottle
from obrolan.accounts.views import account_view, seal_user_field
from obrolan.clock import Clock
from obrolan.db import Database
from obrolan.errors import Conflict, Forbidden, Invalid, Unauthenticated
from obrolan.profile.fields import own_profile
from obrolan.profile.rules import Language
from obrolan.realtime.stream import EventStream

TOTP_ISSUER = "obrolan"
WRONG_CODE = "the authenticator code is wrong, expired or already used"


class TwoStepSignIn:
    def __init__(
        self,
        db: Database,
        stream: EventStream,
        data_keys: DataKeys,
        passwords: Passwords,
        throttle: SignInThrottle,
        clock: Clock,
        default_language: Language,
    ) -> None:
        self.default_language = default_language
        self.db = db
        self.stream = stream
        self.data_keys = data_keys
        self.passwords = passwords
        self.throttle = throttle
        self.clock = clock

    async def begin(self, principal: Principal) -> TotpSetup:
        """A new TOTP secret, stored sealed and not required until confirmed with a code."""
        secret = pyotp.random_base32()
        async with self.stream.transaction() as tx:
            user = await require_user(tx.conn, principal.user_id)
            if user.totp_enabled:
                raise Conflict("two-step sign-in is already on; turn it off first")
            key = await require_key(self.data_keys, user.id)
            await store.update_user(
                tx.conn,
                user.id,
                {"totp_secret_enc": seal_user_field(key, "totp_secret_enc", user.id, secret)},
            )
        uri = pyotp.TOTP(secret).provisioning_uri(name=user.username, issuer_name=TOTP_ISSUER)
        return TotpSetup(secret, uri)

    async def confirm(self, principal: Principal, *, code: str, password: str) -> Account:
        """Turn two-step sign-in on, once a code shows the authenticator app has the secret."""
        await self._set(principal, code, password, enable=True)
        async with self.db.read() as conn:
            user = await require_user(conn, principal.user_id)
            key = await self.data_keys.get(user.id)
            profile = await own_profile(conn, key, user.id, self.default_language)
            return account_view(key, user, profile)

    async def disable(self, principal: Principal, *, code: str, password: str) -> None:
        """Turn two-step sign-in off with a current code and the password."""
        await self._set(principal, code, password, enable=False)

    def sign_in_step(self, user: UserRow, secret: str | None, code: str | None) -> int | None:
        """The step of the sign-in code, to be used up with the session; None when TOTP is off."""
        if not user.totp_enabled:
            return None
        if not code:
            raise Unauthenticated(
                "enter the code from your authenticator app", type_slug="totp-required"
            )
        step = (
            totp_accepted_step(
                secret, code, now=self.clock.now(), last_used_step=user.totp_last_step
            )
            if secret is not None
            else None
        )
        if step is None:
            raise Unauthenticated(WRONG_CODE, type_slug="totp-invalid")
        return step

    async def _set(self, principal: Principal, code: str, password: str, *, enable: bool) -> None:
        """Both ways need the password as well as a code: a stolen session alone could
        otherwise lock the owner out (with a secret of its own) or take two-step off."""
        async with self.db.read() as conn:
            user = await require_user(conn, principal.user_id)
            if user.totp_enabled == enable:
                raise Conflict(f"two-step sign-in is already {'on' if enable else 'off'}")
            secret = await totp_secret(self.data_keys, user)
        if secret is None:
            raise Conflict("no pending secret: start with POST /me/totp")
        account_key = self.throttle.account_key(user.username)
        async with self.stream.transaction() as tx:
            # Passwords and six digits are guessed through a session no faster than at
            # sign-in: both count like failed sign-ins.
            attempt_ids = await self.throttle.reserve(tx.conn, [account_key], tx.now)
        if not await self.passwords.verify(user.password_hash, password):
            raise Forbidden(
                "the password is wrong", field="password", type_slug="invalid-credentials"
            )
        step = totp_accepted_step(
            secret, code, now=self.clock.now(), last_used_step=user.totp_last_step
        )
        if step is None:
            raise Invalid(WRONG_CODE, field="code", type_slug="totp-invalid")
        async with self.stream.transaction() as tx:
            if not await store.use_totp_step(tx.conn, user.id, step):
                # A concurrent request used this code first; this attempt stays counted.
                raise Invalid(WRONG_CODE, field="code", type_slug="totp-invalid")
            await self.throttle.forgive(tx.conn, attempt_ids, account_key)
            values: dict[str, Any] = {"totp_enabled": enable}
            if not enable:
                values["totp_secret_enc"] = None
            await store.update_user(tx.conn, user.id, values)
