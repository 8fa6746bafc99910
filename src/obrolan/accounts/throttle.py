"""Throttling failed sign-ins, sign-ups and address changes (R17, R18).

Sign-ins follow OWASP's device cookies: a successful sign-in hands the client a device
token, signed by the server and bound to the username. A later attempt that brings a
valid one counts against that device alone; attempts without one count against the
username and the client address. Guesses from any number of addresses therefore lock
out only devices that never signed in, never the owner's own.
"""

from __future__ import annotations

import base64
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncConnection

from obrolan.accounts import throttle_store
from obrolan.accounts.rules import login_retry_after
from obrolan.accounts.throttle_store import ActionScope, FailureScope
from obrolan.config import Settings
from obrolan.crypto import KeyRing
from obrolan.errors import RateLimited
from obrolan.ids import new_id

# Requests without a client address (a Unix socket, a server that does not say) share
# one count, so that throttling never silently switches off.
UNKNOWN_ADDRESS = "unknown"
DEVICE_TOKEN_MAX_CHARS = 100


def address_or_unknown(ip_address: str | None) -> str:
    return ip_address or UNKNOWN_ADDRESS


@dataclass(frozen=True, slots=True)
class AttemptKey:
    """Whose failures an attempt counts against: a keyed hash, never the name or address."""

    scope: FailureScope
    key_hash: bytes
    limit: int


@dataclass(frozen=True, slots=True)
class SignInKeys:
    """What one sign-in attempt counts against, and which count a success clears."""

    keys: list[AttemptKey]
    cleared_on_success: AttemptKey
    # The device token this attempt came with, when it was valid.
    device_token: str | None


class SignInThrottle:
    """Each attempt is counted as a failure before the password is checked, and forgiven on success.

    Counting first, under the write lock, means that many attempts sent at once cannot
    all slip in under the limit while their passwords are being hashed.
    """

    def __init__(self, settings: Settings, keyring: KeyRing) -> None:
        self.settings = settings
        self.keyring = keyring

    def account_key(self, username: str) -> AttemptKey:
        # Keyed by the name tried, whether or not such an account exists, so that a
        # refusal never tells which usernames are taken.
        return AttemptKey(
            "account",
            self.keyring.blind_index("login-account", username),
            self.settings.login_max_failures_per_account,
        )

    def ip_key(self, ip_address: str | None) -> AttemptKey:
        return AttemptKey(
            "ip",
            self.keyring.blind_index("login-ip", address_or_unknown(ip_address)),
            self.settings.login_max_failures_per_ip,
        )

    def sign_in_keys(
        self, username: str, ip_address: str | None, device_token: str | None
    ) -> SignInKeys:
        """A known device counts on its own; any other attempt on the name and the address."""
        nonce = self._device_nonce(username, device_token)
        if nonce is not None:
            device = AttemptKey(
                "device",
                self.keyring.blind_index("login-device", nonce),
                self.settings.login_max_failures_per_account,
            )
            return SignInKeys([device], device, device_token)
        account = self.account_key(username)
        return SignInKeys([account, self.ip_key(ip_address)], account, None)

    def issue_device_token(self, username: str) -> str:
        """A new device token for `username`: a random nonce and the server's signature of it."""
        nonce = secrets.token_urlsafe(16)
        return f"{nonce}.{self._signature(username, nonce)}"

    def _device_nonce(self, username: str, device_token: str | None) -> str | None:
        """The token's nonce when the server signed it for this username; else None."""
        if not device_token or len(device_token) > DEVICE_TOKEN_MAX_CHARS:
            return None
        nonce, _, signature = device_token.partition(".")
        if not nonce or not hmac.compare_digest(signature, self._signature(username, nonce)):
            return None
        return nonce

    def _signature(self, username: str, nonce: str) -> str:
        mac = self.keyring.blind_index("sign-in-device", f"{username}\x00{nonce}")
        return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()

    async def reserve(
        self, conn: AsyncConnection, keys: list[AttemptKey], now: datetime
    ) -> list[str]:
        """Count one attempt against each key, or raise RateLimited when any key is at its limit."""
        window = self.settings.login_window_seconds
        since = now - timedelta(seconds=window)
        # Lazy clean-up: failures older than the window no longer count for anyone.
        await throttle_store.delete_failures_before(conn, since)
        waits = []
        for key in keys:
            recent = await throttle_store.recent_failures(
                conn, key.scope, key.key_hash, since, key.limit
            )
            wait = login_retry_after(recent, now=now, limit=key.limit, window_seconds=window)
            if wait is not None:
                waits.append(wait)
        if waits:
            raise RateLimited("too many failed sign-ins; try again later", retry_after=max(waits))
        attempt_ids = [new_id() for _ in keys]
        await throttle_store.insert_failures(
            conn,
            [
                {"id": attempt_id, "scope": key.scope, "key_hash": key.key_hash, "at": now}
                for attempt_id, key in zip(attempt_ids, keys, strict=True)
            ],
        )
        return attempt_ids

    async def forgive(
        self, conn: AsyncConnection, attempt_ids: list[str], cleared: AttemptKey | None
    ) -> None:
        """The attempt succeeded: it was no failure, and the `cleared` count starts again."""
        await throttle_store.delete_failures_by_ids(conn, attempt_ids)
        if cleared is not None:
            await throttle_store.delete_failures_of(conn, cleared.scope, cleared.key_hash)


@dataclass(frozen=True, slots=True)
class ActionKey:
    scope: ActionScope
    key_hash: bytes
    limit: int
    window_seconds: int


def action_windows(settings: Settings) -> dict[ActionScope, int]:
    """Each action scope's counting window, in seconds: past it, a counted action is let go."""
    return {
        "register-ip": settings.register_window_seconds,
        "address-account": settings.address_changes_window_seconds,
        "address-ip": settings.address_changes_window_seconds,
        "code-address": settings.address_changes_window_seconds,
        "lookup-account": settings.lookups_window_seconds,
    }


class ActionThrottle:
    """Counts every sign-up, address change and look-up, successful or not; refuses past the limit.

    Unlike failed sign-ins nothing is forgiven: what is limited is how fast accounts can
    be made, addresses tried and usernames probed.
    """

    def __init__(self, settings: Settings, keyring: KeyRing) -> None:
        self.settings = settings
        self.keyring = keyring

    def registration_keys(self, ip_address: str | None) -> list[ActionKey]:
        s = self.settings
        limit, window = s.register_max_per_ip, s.register_window_seconds
        return [self._address_key("register-ip", ip_address, limit, window)]

    def address_change_keys(self, user_id: str, ip_address: str | None) -> list[ActionKey]:
        s = self.settings
        window = s.address_changes_window_seconds
        return [
            ActionKey(
                "address-account",
                self.keyring.blind_index("address-account", user_id),
                s.address_changes_max_per_account,
                window,
            ),
            self._address_key("address-ip", ip_address, s.address_changes_max_per_ip, window),
        ]

    def code_keys(self, address_index: bytes) -> list[ActionKey]:
        """Codes sent to one email or phone, whoever asks: no one floods an inbox (F1)."""
        s = self.settings
        return [
            ActionKey(
                "code-address",
                self.keyring.blind_index("code-address", address_index.hex()),
                s.verification_codes_max_per_address,
                s.address_changes_window_seconds,
            )
        ]

    def lookup_keys(self, user_id: str) -> list[ActionKey]:
        """Finding people by username, email or phone, counted per person asking: one count
        for all three, so no one walks the names or the numbers (R18)."""
        s = self.settings
        return [
            ActionKey(
                "lookup-account",
                self.keyring.blind_index("lookup-account", user_id),
                s.lookups_max_per_account,
                s.lookups_window_seconds,
            )
        ]

    def _address_key(
        self, scope: ActionScope, ip_address: str | None, limit: int, window: int
    ) -> ActionKey:
        key_hash = self.keyring.blind_index(scope, address_or_unknown(ip_address))
        return ActionKey(scope, key_hash, limit, window)

    async def count(
        self, conn: AsyncConnection, keys: list[ActionKey], now: datetime, *, what: str
    ) -> None:
        """Count one action against each key, or raise RateLimited when any is at its limit."""
        waits = []
        for key in keys:
            since = now - timedelta(seconds=key.window_seconds)
            # Lazy clean-up: actions older than their window no longer count for anyone.
            await throttle_store.delete_actions_before(conn, key.scope, since)
            recent = await throttle_store.recent_actions(
                conn, key.scope, key.key_hash, since, key.limit
            )
            wait = login_retry_after(
                recent, now=now, limit=key.limit, window_seconds=key.window_seconds
            )
            if wait is not None:
                waits.append(wait)
        if waits:
            raise RateLimited(f"too many {what}; try again later", retry_after=max(waits))
        await throttle_store.insert_actions(
            conn,
            [
                {"id": new_id(), "scope": key.scope, "key_hash": key.key_hash, "at": now}
                for key in keys
            ],
        )
