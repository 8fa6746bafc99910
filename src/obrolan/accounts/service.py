"""Account actions: sign up, sign in and out, sessions, password (F1, R6, R17, R18).

Every write is one `stream.transaction()`: the rows and the events that sockets must
see (a revoked session, a new-device alert) commit together. Two-step sign-in lives in
two_step.py, my account and profile in profile.py, the session events in
session_events.py.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import asdict, replace
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from sqlalchemy.exc import IntegrityError

from obrolan.accounts import store
from obrolan.accounts.keys import DataKeys
from obrolan.accounts.lookups import require_user, totp_secret
from obrolan.accounts.passwords import Passwords
from obrolan.accounts.principal import Principal
from obrolan.accounts.profile import ProfileActions
from obrolan.accounts.records import (
    Account,
    ContactSettings,
    ContactSettingsChanges,
    NewAccount,
    SessionInfo,
    SignIn,
)
from obrolan.accounts.rules import (
    SessionCutoffs,
    SessionLifetime,
    check_password_strength,
    normalise_display_name,
    normalise_email,
    normalise_phone,
    normalise_username,
    sign_in_names,
)
from obrolan.accounts.session_events import SessionEventHydrator, alert_new_device, revoke
from obrolan.accounts.store import ActiveToken, UserRow
from obrolan.accounts.throttle import ActionThrottle, SignInThrottle
from obrolan.accounts.token_hints import TokenHints
from obrolan.accounts.two_step import WRONG_CODE, TwoStepSignIn
from obrolan.accounts.verification import Addresses
from obrolan.accounts.views import (
    account_view,
    seal_user_field,
    sealed_session_fields,
    session_view,
)
from obrolan.clock import Clock
from obrolan.config import Settings
from obrolan.crypto import KeyRing
from obrolan.db import Database
from obrolan.errors import Conflict, Forbidden, NotFound, Unauthenticated
from obrolan.ids import new_id
from obrolan.notifications import Notifications
from obrolan.privacy.audit import ActorRole, AuditEvent, AuditLog
from obrolan.profile import fields as profiles
from obrolan.realtime.stream import EventStream, Transaction

# Writing last_seen_at on every request would take the write lock per request; the
# session lifetime allows for it (rules.SessionLifetime).
LAST_SEEN_RESOLUTION = timedelta(minutes=1)
TOKEN_MAX_CHARS = 200
# Sessions whose tokens a node keeps at hand for sockets' hellos: a reconnecting crowd's
# worth; beyond that a hello costs one look-up, as before.
TOKEN_HINTS = 4096
USER_AGENT_MAX_CHARS = 512

_WRONG_CREDENTIALS = "wrong username or password"
_NOT_SIGNED_IN = "the token is unknown, was revoked or has expired"


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
        notifications: Notifications,
        audit: AuditLog,
    ) -> None:
        self.settings = settings
        # R7: sign-ins, failed sign-ins and password changes leave evidence.
        self.audit = audit
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
            ),
            max_concurrent=settings.password_max_concurrent,
        )
        self.throttle = SignInThrottle(settings, keyring)
        self.actions = ActionThrottle(settings, keyring)
        self.session_lifetime = SessionLifetime(
            idle=timedelta(days=settings.session_idle_days),
            maximum=timedelta(days=settings.session_max_days),
            resolution=LAST_SEEN_RESOLUTION,
        )
        self.addresses = Addresses(
            settings, stream, data_keys, keyring, self.actions, notifications
        )
        self.profile = ProfileActions(
            settings, db, stream, data_keys, clock, self.actions, self.addresses
        )
        self.two_step = TwoStepSignIn(
            db, stream, data_keys, self.passwords, self.throttle, clock, settings.default_language
        )
        stream.register_hydrator("session.", SessionEventHydrator(data_keys))
        self.token_hints = TokenHints(TOKEN_HINTS)

    # -- registration ----------------------------------------------------------------
    async def sign_up(
        self,
        *,
        username: str,
        password: str,
        display_name: str,
        email: str | None = None,
        phone: str | None = None,
        ip_address: str | None,
    ) -> Account:
        """Create an account from outside: throttled per client address (R17)."""
        fields = self._new_account(username, password, display_name, email, phone)
        async with self.stream.transaction() as tx:
            keys = self.actions.registration_keys(ip_address)
            await self.actions.count(tx.conn, keys, tx.now, what="sign-ups from this address")
        return await self._create(fields, is_admin=False)

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
        """Create an account, unthrottled (the command line); see `sign_up`."""
        fields = self._new_account(username, password, display_name, email, phone)
        return await self._create(fields, is_admin=is_admin)

    def _new_account(
        self,
        username: str,
        password: str,
        display_name: str,
        email: str | None,
        phone: str | None,
    ) -> NewAccount:
        username = normalise_username(username)
        check_password_strength(password, username=username)
        return NewAccount(
            username,
            password,
            normalise_display_name(display_name),
            normalise_email(email) if email is not None else None,
            normalise_phone(phone, self.settings.phone_default_region)
            if phone is not None
            else None,
        )

    async def create_service_account(self, username: str, display_name: str) -> str:
        """An account that speaks for a service (a business's number) in people's chats.

        Its password is random and shown to nobody, so no one can sign in with it.
        """
        fields = NewAccount(
            normalise_username(username),
            secrets.token_urlsafe(32),
            normalise_display_name(display_name),
            None,
            None,
        )
        return (await self._create(fields, is_admin=False)).id

    async def _create(self, fields: NewAccount, *, is_admin: bool) -> Account:
        """Personal fields are sealed under the person's new data key (R6).

        A taken username is refused before argon2 runs: hashing costs memory and a thread,
        and must not be spent on requests that fail anyway.
        """
        username = fields.username
        async with self.db.read() as conn:
            if await store.username_taken(conn, username):
                raise Conflict("this username is taken", field="username")
        password_hash = await self.passwords.hash(fields.password)
        user_id = new_id()
        # The key store is another database (R4): the key is committed there first, and
        # is a harmless orphan if the account below is not committed.
        key = await self.data_keys.create(user_id)
        try:
            async with self.stream.transaction() as tx:
                if await store.username_taken(tx.conn, username):
                    raise Conflict("this username is taken", field="username")
                await store.insert_user(
                    tx.conn,
                    {
                        "id": user_id,
                        "username": username,
                        "display_name_enc": seal_user_field(
                            key, "display_name_enc", user_id, fields.display_name
                        ),
                        # F1: no blind index until the address is confirmed by its code.
                        "email_enc": seal_user_field(key, "email_enc", user_id, fields.email),
                        "phone_enc": seal_user_field(key, "phone_enc", user_id, fields.phone),
                        "password_hash": password_hash,
                        "totp_enabled": False,
                        "is_admin": is_admin,
                        "created_at": tx.now,
                    },
                )
                if fields.email is not None:
                    await self.addresses.send_code(tx, key, user_id, "email", fields.email)
                if fields.phone is not None:
                    await self.addresses.send_code(tx, key, user_id, "phone", fields.phone)
                created_at = tx.now
        except IntegrityError as exc:
            # Another request took the same username a moment earlier.
            raise Conflict("this username is taken", field="username") from exc
        profile = profiles.default_profile(self.settings.default_language)
        return Account(
            user_id,
            username,
            fields.display_name,
            fields.email,
            fields.phone,
            False,
            is_admin,
            created_at,
            profile.gender,
            profile.date_of_birth,
            profile.bio,
            profile.language,
            profile.photo,
            profile.visibility,
        )

    # -- authentication --------------------------------------------------------------
    async def authenticate(self, token: str) -> Principal:
        """The principal a bearer token stands for (REST and the socket's hello).

        Unauthenticated when the token is unknown, revoked, or its session expired:
        unused for `session_idle_days` or older than `session_max_days` (R17).
        """
        if not token or len(token) > TOKEN_MAX_CHARS:
            raise Unauthenticated(_NOT_SIGNED_IN)
        return self._principal(await self._look_up(token_hash(token)))

    async def authenticate_hello(self, token: str) -> Principal:
        """`authenticate` for a socket's hello, from this node's token hints when it can.

        A hint may be stale about revocation and closed accounts, so the caller must
        check the session in the database afterwards, as the gateway does once the
        socket is registered (realtime/connecting.py). It is used only while it shows a
        use within LAST_SEEN_RESOLUTION: then the session needs no touch, and since
        last_seen_at only grows, an idle limit the hint has not reached the database's
        has not either. The maximum age is checked on every hello. Anything else is
        looked up as ever.
        """
        if not token or len(token) > TOKEN_MAX_CHARS:
            raise Unauthenticated(_NOT_SIGNED_IN)
        digest = token_hash(token)
        hint = self.token_hints.get(digest)
        now = self.clock.now()
        if (
            hint is not None
            and now - hint.last_seen_at < LAST_SEEN_RESOLUTION
            and not self.session_lifetime.expired(
                created_at=hint.created_at, last_seen_at=hint.last_seen_at, now=now
            )
        ):
            return self._principal(hint)
        return self._principal(await self._look_up(digest))

    async def _look_up(self, digest: bytes) -> ActiveToken:
        """The active, unexpired session of a token hash, touched if last used a while ago."""
        async with self.db.read() as conn:
            found = await store.active_token(conn, digest)
        now = self.clock.now()
        if found is None or self.session_lifetime.expired(
            created_at=found.created_at, last_seen_at=found.last_seen_at, now=now
        ):
            self.token_hints.forget(digest)
            raise Unauthenticated(_NOT_SIGNED_IN)
        if now - found.last_seen_at >= LAST_SEEN_RESOLUTION:
            await self.touch_session(found.session_id)
            found = replace(found, last_seen_at=now)
        self.token_hints.remember(digest, found)
        return found

    def _principal(self, found: ActiveToken) -> Principal:
        ends_at = found.created_at + self.session_lifetime.maximum
        return Principal(found.user_id, found.session_id, found.is_admin, ends_at)

    async def touch_session(self, session_id: str) -> None:
        """Record that the session is in use now (its idle time starts again)."""
        async with self.stream.transaction() as tx:
            await store.touch_session(tx.conn, session_id, tx.now)
            touched_at = tx.now
        self.token_hints.touched(session_id, touched_at)

    async def login(
        self,
        *,
        username: str,
        password: str,
        ip_address: str | None = None,
        user_agent: str | None = None,
        device_name: str | None = None,
        totp_code: str | None = None,
        device_token: str | None = None,
    ) -> SignIn:
        """Check the credentials and open a session, throttled as throttle.py says (R17).

        `username` may also be a verified email or phone (F1). Unknown names, unverified
        addresses and wrong passwords get the same answer, in the same time.
        """
        names = sign_in_names(username, self.settings.phone_default_region)
        # Counted under the first reading, so `Sari@X.id` and `sari@x.id` share a count.
        username = names[0].value if names else username.strip().lower()
        counted = self.throttle.sign_in_keys(username, ip_address, device_token)
        async with self.stream.transaction() as tx:
            attempt_ids = await self.throttle.reserve(tx.conn, counted.keys, tx.now)
            user = await self.addresses.account_for_sign_in(tx, names)
            secret = await totp_secret(self.data_keys, user) if user else None
        verified = await self.passwords.verify(user.password_hash if user else None, password)
        if user is None or not verified:
            await self._sign_in_failed(user.id if user else None, "credentials")
            raise Unauthenticated(_WRONG_CREDENTIALS, type_slug="invalid-credentials")
        try:
            totp_step = self.two_step.sign_in_step(user, secret, totp_code)
        except Unauthenticated as exc:
            if exc.type_slug == "totp-invalid":
                await self._sign_in_failed(user.id, "totp")
            raise
        rehashed = (
            await self.passwords.hash(password)
            if self.passwords.needs_rehash(user.password_hash)
            else None
        )
        token = secrets.token_urlsafe(32)
        session_id = new_id()
        device_name = (device_name or "").strip() or None
        async with self.stream.transaction() as tx:
            if totp_step is not None and not await store.use_totp_step(tx.conn, user.id, totp_step):
                # Another sign-in used this code first; the attempt stays counted.
                raise Unauthenticated(WRONG_CODE, type_slug="totp-invalid")
            await self.throttle.forgive(tx.conn, attempt_ids, counted.cleared_on_success)
            key = await self.data_keys.get(user.id)
            if key is None:  # erased: the account can no longer be opened (R4)
                raise Unauthenticated(_WRONG_CREDENTIALS, type_slug="invalid-credentials")
            others = await store.active_session_ids(tx.conn, user.id, self._live(tx.now))
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
                await alert_new_device(tx, user.id, session_id, device_name)
                await self.addresses.mail_new_device(tx, key, user, device_name)
            session = SessionInfo(session_id, device_name, tx.now, tx.now, current=True)
            own = await profiles.own_profile(tx.conn, key, user.id, self.settings.default_language)
            account = account_view(key, user, own)
            await self.audit.record(
                tx.conn,
                AuditEvent(
                    "auth.sign_in", user.id, ActorRole.person, user.id, {"session_id": session_id}
                ),
            )
        device = counted.device_token or self.throttle.issue_device_token(username)
        return SignIn(token, session, account, device)

    # -- sessions --------------------------------------------------------------------
    async def list_sessions(self, principal: Principal) -> list[SessionInfo]:
        """The acting person's sessions that are neither revoked nor expired, oldest first."""
        async with self.db.read() as conn:
            rows = await store.active_sessions(conn, principal.user_id, self._live())
            key = await self.data_keys.get(principal.user_id)
        return [session_view(key, row, principal.session_id) for row in rows]

    async def revoke_session(self, principal: Principal, session_id: str) -> None:
        """End one of the acting person's sessions; its sockets close (NotFound for others')."""
        async with self.stream.transaction() as tx:
            live = self._live(tx.now)
            if session_id not in await store.active_session_ids(tx.conn, principal.user_id, live):
                raise NotFound("no such active session of yours", field="session_id")
            await revoke(tx, principal.user_id, [session_id])
        self.token_hints.forget_sessions([session_id])

    async def logout(self, principal: Principal) -> None:
        """End the session the request came with."""
        await self.revoke_session(principal, principal.session_id)

    async def sign_out_everywhere(self, principal: Principal) -> None:
        """End every active session of the acting person, the one acting included (R17)."""
        async with self.stream.transaction() as tx:
            await self.revoke_all_sessions(tx, principal.user_id)

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
                for sid in await store.active_session_ids(tx.conn, user.id, self._live(tx.now))
                if sid != principal.session_id
            ]
            await revoke(tx, user.id, others)
            self.token_hints.forget_sessions(others)
            await self.audit.record(
                tx.conn,
                AuditEvent(
                    "auth.password_changed",
                    user.id,
                    ActorRole.person,
                    user.id,
                    {"session_id": principal.session_id, "sessions_ended": len(others)},
                ),
            )

    # -- contact settings (F14, R18) -----------------------------------------------
    async def contact_settings(self, principal: Principal) -> ContactSettings:
        async with self.db.read() as conn:
            return await store.get_contact_settings(conn, principal.user_id)

    async def update_contact_settings(
        self, principal: Principal, changes: ContactSettingsChanges
    ) -> ContactSettings:
        """Change the settings sent; the others stay as they are."""
        async with self.stream.transaction() as tx:
            await require_user(tx.conn, principal.user_id)
            current = await store.get_contact_settings(tx.conn, principal.user_id)
            sent = {k: v for k, v in asdict(changes).items() if v is not None}
            updated = replace(current, **sent)
            if updated != current:
                await store.put_contact_settings(tx.conn, principal.user_id, updated, tx.now)
        return updated

    # -- helpers ---------------------------------------------------------------------
    async def _sign_in_failed(self, user_id: str | None, reason: str) -> None:
        """Record a refused sign-in (R7, R17): about the person when the name is theirs.

        Neither the name tried nor the address is written: the attempt was already counted
        under their keyed hashes (throttle.py); the person sees that someone tried.
        """
        async with self.stream.transaction() as tx:
            await self.audit.record(
                tx.conn,
                AuditEvent(
                    "auth.sign_in_failed", None, ActorRole.person, user_id, {"reason": reason}
                ),
            )

    async def _me(self, principal: Principal) -> UserRow:
        async with self.db.read() as conn:
            return await require_user(conn, principal.user_id)

    def _live(self, now: datetime | None = None) -> SessionCutoffs:
        """Which sessions have not expired at `now` (default: the clock's now)."""
        return self.session_lifetime.cutoffs(now or self.clock.now())

    # -- for site administration -----------------------------------------------------
    async def revoke_all_sessions(self, tx: Transaction, user_id: str) -> None:
        """Revoke every active session of a person, within the caller's transaction.

        The same path as signing out: `session.revoked` events close the sockets (4401)
        once the transaction commits.
        """
        await revoke(
            tx, user_id, await store.active_session_ids(tx.conn, user_id, self._live(tx.now))
        )
        self.token_hints.forget_person(user_id)
