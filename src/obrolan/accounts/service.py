"""Account actions: register, sign in and out, sessions, profile, two-step sign-in (F1, R6, R17).

Every write is one `stream.transaction()`: the rows and the events that sockets must
see (a revoked session, a new-device alert) commit together.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import orjson
import pyotp
from argon2 import PasswordHasher
from sqlalchemy import Row
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from obrolan.accounts import store
from obrolan.accounts.keys import DataKeys, aad, open_text
from obrolan.accounts.passwords import Passwords
from obrolan.accounts.principal import Principal
from obrolan.accounts.records import (
    KEEP,
    Account,
    ProfileChanges,
    PublicProfile,
    SessionInfo,
    SignIn,
    TotpSetup,
)
from obrolan.accounts.rules import (
    check_password_strength,
    normalise_display_name,
    normalise_email,
    normalise_phone,
    normalise_username,
    totp_code_matches,
)
from obrolan.accounts.store import IndexColumn, UserRow
from obrolan.accounts.throttle import SignInThrottle
from obrolan.accounts.views import (
    account_view,
    open_device_name,
    public_view,
    seal_user_field,
    sealed_session_fields,
    session_view,
)
from obrolan.clock import Clock
from obrolan.config import Settings
from obrolan.crypto import KeyRing
from obrolan.db import Database
from obrolan.errors import Conflict, Forbidden, Invalid, NotFound, Unauthenticated
from obrolan.ids import new_id
from obrolan.realtime.frames import iso
from obrolan.realtime.stream import EventStream, NewEvent, Transaction

# Writing last_seen_at on every request would take the write lock per request.
LAST_SEEN_RESOLUTION = timedelta(minutes=1)
TOKEN_MAX_CHARS = 200
USER_AGENT_MAX_CHARS = 512
TOTP_ISSUER = "obrolan"
SESSION_REVOKED = "session.revoked"
SESSION_NEW_DEVICE = "session.new_device"

_WRONG_CREDENTIALS = "wrong username or password"


def token_hash(token: str) -> bytes:
    """What is stored of a bearer token: its SHA-256, so a database copy holds no usable token."""
    return hashlib.sha256(token.encode()).digest()


class AccountsService:
    def __init__(
        self,
        settings: Settings,
        db: Database,
        stream: EventStream,
        data_keys: DataKeys,
        keyring: KeyRing,
        clock: Clock,
    ) -> None:
        self.settings = settings
        self.db = db
        self.stream = stream
        self.data_keys = data_keys
        self.keyring = keyring
        self.clock = clock
        self.passwords = Passwords(
            PasswordHasher(
                time_cost=settings.password_time_cost,
                memory_cost=settings.password_memory_kib,
                parallelism=settings.password_parallelism,
            )
        )
        self.throttle = SignInThrottle(settings, keyring)
        stream.register_hydrator("session.", self._hydrate_session_events)

    # -- registration ----------------------------------------------------------------
    async def register(
        self,
        *,
        username: str,
        password: str,
        display_name: str,
        email: str | None = None,
        phone: str | None = None,
        is_admin: bool = False,
    ) -> Account:
        """Create an account; personal fields are sealed under the person's new data key (R6)."""
        username = normalise_username(username)
        check_password_strength(password, username=username)
        display_name = normalise_display_name(display_name)
        email = normalise_email(email) if email is not None else None
        if phone is not None:
            phone = normalise_phone(phone, self.settings.phone_default_region)
        password_hash = await self.passwords.hash(password)
        user_id = new_id()
        try:
            async with self.stream.transaction() as tx:
                if await store.username_taken(tx.conn, username):
                    raise Conflict("this username is taken", field="username")
                email_index = await self._unique_index(tx.conn, "email", email, user_id)
                phone_index = await self._unique_index(tx.conn, "phone", phone, user_id)
                key = await self.data_keys.create(tx.conn, user_id)
                await store.insert_user(
                    tx.conn,
                    {
                        "id": user_id,
                        "username": username,
                        "display_name_enc": seal_user_field(
                            key, "display_name_enc", user_id, display_name
                        ),
                        "email_enc": seal_user_field(key, "email_enc", user_id, email),
                        "email_index": email_index,
                        "phone_enc": seal_user_field(key, "phone_enc", user_id, phone),
                        "phone_index": phone_index,
                        "password_hash": password_hash,
                        "totp_enabled": False,
                        "is_admin": is_admin,
                        "created_at": tx.now,
                    },
                )
                created_at = tx.now
        except IntegrityError as exc:
            # Another node registered the same name, email or phone a moment earlier.
            raise Conflict("the username, email or phone is already in use") from exc
        return Account(user_id, username, display_name, email, phone, False, is_admin, created_at)

    # -- authentication --------------------------------------------------------------
    async def authenticate(self, token: str) -> Principal:
        """The principal a bearer token stands for; Unauthenticated when unknown or revoked."""
        if not token or len(token) > TOKEN_MAX_CHARS:
            raise Unauthenticated("the token is unknown or was revoked")
        async with self.db.read() as conn:
            found = await store.active_token(conn, token_hash(token))
        if found is None:
            raise Unauthenticated("the token is unknown or was revoked")
        if self.clock.now() - found.last_seen_at >= LAST_SEEN_RESOLUTION:
            async with self.stream.transaction() as tx:
                await store.touch_session(tx.conn, found.session_id, tx.now)
        return Principal(found.user_id, found.session_id, found.is_admin)

    async def login(
        self,
        *,
        username: str,
        password: str,
        ip_address: str | None = None,
        user_agent: str | None = None,
        device_name: str | None = None,
        totp_code: str | None = None,
    ) -> SignIn:
        """Check the credentials and open a session, throttled per account and per IP (R17).

        Unknown usernames and wrong passwords get the same answer, in the same time.
        """
        account_key = self.throttle.account_key(username.lower())
        keys = [account_key] + ([self.throttle.ip_key(ip_address)] if ip_address else [])
        async with self.stream.transaction() as tx:
            attempt_ids = await self.throttle.reserve(tx.conn, keys, tx.now)
            user = await store.user_by_username(tx.conn, username.lower())
            totp_secret = await self._totp_secret(tx.conn, user) if user else None
        verified = await self.passwords.verify(user.password_hash if user else None, password)
        if user is None or not verified:
            raise Unauthenticated(_WRONG_CREDENTIALS, type_slug="invalid-credentials")
        if user.totp_enabled:
            self._check_sign_in_code(totp_secret, totp_code)
        rehashed = (
            await self.passwords.hash(password)
            if self.passwords.needs_rehash(user.password_hash)
            else None
        )
        token = secrets.token_urlsafe(32)
        session_id = new_id()
        device_name = (device_name or "").strip() or None
        async with self.stream.transaction() as tx:
            await self.throttle.forgive(tx.conn, attempt_ids, account_key)
            key = await self.data_keys.get(tx.conn, user.id)
            if key is None:  # erased: the account can no longer be opened (R4)
                raise Unauthenticated(_WRONG_CREDENTIALS, type_slug="invalid-credentials")
            others = await store.active_session_ids(tx.conn, user.id)
            await store.insert_session(
                tx.conn,
                {
                    "id": session_id,
                    "user_id": user.id,
                    "token_hash": token_hash(token),
                    **sealed_session_fields(
                        key,
                        session_id,
                        device_name=device_name,
                        ip_address=ip_address,
                        user_agent=(user_agent or "")[:USER_AGENT_MAX_CHARS] or None,
                    ),
                    "created_at": tx.now,
                    "last_seen_at": tx.now,
                },
            )
            if rehashed is not None:
                await store.update_user(tx.conn, user.id, {"password_hash": rehashed})
            if others:
                await self._alert_new_device(tx, user.id, session_id, device_name)
            session = SessionInfo(session_id, device_name, tx.now, tx.now, current=True)
        return SignIn(token, session, account_view(key, user))

    # -- sessions --------------------------------------------------------------------
    async def list_sessions(self, principal: Principal) -> list[SessionInfo]:
        """The acting person's active sessions, oldest first."""
        async with self.db.read() as conn:
            rows = await store.active_sessions(conn, principal.user_id)
            key = await self.data_keys.get(conn, principal.user_id)
        return [session_view(key, row, principal.session_id) for row in rows]

    async def revoke_session(self, principal: Principal, session_id: str) -> None:
        """End one of the acting person's sessions; its sockets close (NotFound for others')."""
        async with self.stream.transaction() as tx:
            if session_id not in await store.active_session_ids(tx.conn, principal.user_id):
                raise NotFound("no such active session of yours", field="session_id")
            await self._revoke(tx, principal.user_id, [session_id])

    async def logout(self, principal: Principal) -> None:
        """End the session the request came with."""
        await self.revoke_session(principal, principal.session_id)

    async def change_password(
        self, principal: Principal, *, current_password: str, new_password: str
    ) -> None:
        """Replace the password and end every other session (R17: a thief's session dies too)."""
        user = await self._me(principal)
        check_password_strength(new_password, username=user.username)
        account_key = self.throttle.account_key(user.username)
        async with self.stream.transaction() as tx:
            # A stolen token must not become a way to guess the password without limit.
            attempt_ids = await self.throttle.reserve(tx.conn, [account_key], tx.now)
        if not await self.passwords.verify(user.password_hash, current_password):
            raise Forbidden(
                "the current password is wrong",
                field="current_password",
                type_slug="invalid-credentials",
            )
        new_hash = await self.passwords.hash(new_password)
        async with self.stream.transaction() as tx:
            await self.throttle.forgive(tx.conn, attempt_ids, account_key)
            await store.update_user(tx.conn, user.id, {"password_hash": new_hash})
            others = [
                sid
                for sid in await store.active_session_ids(tx.conn, user.id)
                if sid != principal.session_id
            ]
            await self._revoke(tx, user.id, others)

    # -- profile ---------------------------------------------------------------------
    async def me(self, principal: Principal) -> Account:
        """The acting person's own account, personal fields opened."""
        async with self.db.read() as conn:
            user = await self._require_user(conn, principal.user_id)
            key = await self.data_keys.get(conn, user.id)
        return account_view(key, user)

    async def update_profile(self, principal: Principal, changes: ProfileChanges) -> Account:
        """Change the display name, email or phone; email and phone may be removed (R8)."""
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
            user = await self._require_user(tx.conn, uid)
            key = await self.data_keys.get(tx.conn, uid)
            if key is None:
                raise NotFound("this account was erased")
            if display_name is not None:
                values["display_name_enc"] = seal_user_field(
                    key, "display_name_enc", uid, display_name
                )
            if changes.email is not KEEP:
                values["email_index"] = await self._unique_index(tx.conn, "email", email, uid)
                values["email_enc"] = seal_user_field(key, "email_enc", uid, email)
            if changes.phone is not KEEP:
                values["phone_index"] = await self._unique_index(tx.conn, "phone", phone, uid)
                values["phone_enc"] = seal_user_field(key, "phone_enc", uid, phone)
            if not values:
                return account_view(key, user)  # an empty PATCH changes nothing
            await store.update_user(tx.conn, uid, values)
        return await self.me(principal)

    async def public_profile(self, principal: Principal, user_id: str) -> PublicProfile:
        """What any signed-in person may see of another: id, username, display name."""
        async with self.db.read() as conn:
            user = await self._require_user(conn, user_id)
            key = await self.data_keys.get(conn, user.id)
        return public_view(key, user)

    async def find_by_username(self, principal: Principal, username: str) -> PublicProfile:
        """The public profile of the person with exactly this username."""
        async with self.db.read() as conn:
            user = await store.user_by_username(conn, username.lower())
            if user is None:
                raise NotFound("no one has this username", field="username")
            key = await self.data_keys.get(conn, user.id)
        return public_view(key, user)

    # -- two-step sign-in (TOTP) -----------------------------------------------------
    async def begin_totp(self, principal: Principal) -> TotpSetup:
        """A new TOTP secret, stored sealed and not required until confirmed with a code."""
        secret = pyotp.random_base32()
        async with self.stream.transaction() as tx:
            user = await self._require_user(tx.conn, principal.user_id)
            if user.totp_enabled:
                raise Conflict("two-step sign-in is already on; turn it off first")
            key = await self._require_key(tx.conn, user.id)
            await store.update_user(
                tx.conn,
                user.id,
                {"totp_secret_enc": seal_user_field(key, "totp_secret_enc", user.id, secret)},
            )
        uri = pyotp.TOTP(secret).provisioning_uri(name=user.username, issuer_name=TOTP_ISSUER)
        return TotpSetup(secret, uri)

    async def confirm_totp(self, principal: Principal, code: str) -> Account:
        """Turn two-step sign-in on, once a code shows the authenticator app has the secret."""
        await self._set_totp(principal, code, enable=True)
        return await self.me(principal)

    async def disable_totp(self, principal: Principal, code: str) -> None:
        """Turn two-step sign-in off; a current code is needed, so a stolen session cannot."""
        await self._set_totp(principal, code, enable=False)

    async def _set_totp(self, principal: Principal, code: str, *, enable: bool) -> None:
        user = await self._me(principal)
        if user.totp_enabled == enable:
            raise Conflict(f"two-step sign-in is already {'on' if enable else 'off'}")
        async with self.db.read() as conn:
            secret = await self._totp_secret(conn, user)
        if secret is None:
            raise Conflict("no pending secret: start with POST /me/totp")
        account_key = self.throttle.account_key(user.username)
        async with self.stream.transaction() as tx:
            # Six digits are few: guesses are counted like failed sign-ins (R17).
            attempt_ids = await self.throttle.reserve(tx.conn, [account_key], tx.now)
        if not totp_code_matches(secret, code, now=self.clock.now()):
            raise Invalid(
                "the authenticator code is wrong or expired", field="code", type_slug="totp-invalid"
            )
        async with self.stream.transaction() as tx:
            await self.throttle.forgive(tx.conn, attempt_ids, account_key)
            values: dict[str, Any] = {"totp_enabled": enable}
            if not enable:
                values["totp_secret_enc"] = None
            await store.update_user(tx.conn, user.id, values)

    # -- helpers ---------------------------------------------------------------------
    async def _me(self, principal: Principal) -> UserRow:
        async with self.db.read() as conn:
            return await self._require_user(conn, principal.user_id)

    @staticmethod
    async def _require_user(conn: AsyncConnection, user_id: str) -> UserRow:
        user = await store.user_by_id(conn, user_id)
        if user is None:
            raise NotFound("no such person", field="user_id")
        return user

    async def _require_key(self, conn: AsyncConnection, user_id: str) -> bytes:
        key = await self.data_keys.get(conn, user_id)
        if key is None:
            raise NotFound("this account was erased")
        return key

    async def _unique_index(
        self, conn: AsyncConnection, kind: str, value: str | None, owner_id: str
    ) -> bytes | None:
        """The blind index of an email or phone, or Conflict when someone else holds it (R6)."""
        if value is None:
            return None
        index = self.keyring.blind_index(kind, value)
        column: IndexColumn = "email_index" if kind == "email" else "phone_index"
        holder = await store.holder_of_index(conn, column, index)
        if holder is not None and holder != owner_id:
            raise Conflict(f"this {kind} belongs to another account", field=kind)
        return index

    async def _totp_secret(self, conn: AsyncConnection, user: UserRow) -> str | None:
        if user.totp_secret_enc is None:
            return None
        key = await self.data_keys.get(conn, user.id)
        return open_text(key, user.totp_secret_enc, aad("users", "totp_secret_enc", user.id))

    def _check_sign_in_code(self, secret: str | None, code: str | None) -> None:
        if not code:
            raise Unauthenticated(
                "enter the code from your authenticator app", type_slug="totp-required"
            )
        if secret is None or not totp_code_matches(secret, code, now=self.clock.now()):
            raise Unauthenticated(
                "the authenticator code is wrong or expired", type_slug="totp-invalid"
            )

    async def _revoke(self, tx: Transaction, user_id: str, session_ids: Sequence[str]) -> None:
        """Revoke sessions; the events close their sockets once the transaction commits."""
        await store.revoke_sessions(tx.conn, session_ids, tx.now)
        if session_ids:
            await tx.append(
                *(
                    NewEvent(
                        kind=SESSION_REVOKED,
                        room_id=None,
                        actor_id=user_id,
                        target_user_id=user_id,
                        data={"session_id": sid},
                    )
                    for sid in session_ids
                )
            )

    async def _alert_new_device(
        self, tx: Transaction, user_id: str, session_id: str, device_name: str | None
    ) -> None:
        """Tell the person's other sessions that a new one signed in (R17)."""
        alert = NewEvent(
            kind=SESSION_NEW_DEVICE,
            room_id=None,
            actor_id=user_id,
            target_user_id=user_id,
            data={"session_id": session_id},
        )
        await tx.append(alert)
        # R6: the stored row keeps only the session id (serialised by append above). The
        # device name joins the live frame only; replay reads it from the sealed session.
        alert.data.update(device_name=device_name, at=iso(tx.now))

    async def _hydrate_session_events(
        self, conn: AsyncConnection, rows: Sequence[Row[Any]]
    ) -> dict[int, dict[str, Any]]:
        """Replayed new-device alerts, with the device name opened from the session row.

        `session.revoked` rows are left out: their stored payload is the whole event.
        """
        alerts = [
            (row, str(orjson.loads(row.payload)["session_id"]))
            for row in rows
            if row.kind == SESSION_NEW_DEVICE and row.payload
        ]
        if not alerts:
            return {}
        sessions = {s.id: s for s in await store.sessions_by_ids(conn, [sid for _, sid in alerts])}
        keys = await self.data_keys.get_many(conn, {s.user_id for s in sessions.values()})
        hydrated: dict[int, dict[str, Any]] = {}
        for row, sid in alerts:
            session = sessions.get(sid)
            device_name = open_device_name(keys.get(session.user_id), session) if session else None
            hydrated[row.position] = {
                "session_id": sid,
                "device_name": device_name,
                "at": iso(session.created_at if session else row.created_at),
            }
        return hydrated

    # -- for site administration -----------------------------------------------------
    async def revoke_all_sessions(self, tx: Transaction, user_id: str) -> None:
        """Revoke every active session of a person, within the caller's transaction.

        The same path as signing out: `session.revoked` events close the sockets (4401)
        once the transaction commits.
        """
        await self._revoke(tx, user_id, await store.active_session_ids(tx.conn, user_id))
