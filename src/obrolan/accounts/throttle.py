"""Counting failed sign-ins per account and per IP address, and refusing past the limit (R17)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncConnection

from obrolan.accounts import store
from obrolan.accounts.rules import login_retry_after
from obrolan.accounts.store import FailureScope
from obrolan.config import Settings
from obrolan.crypto import KeyRing
from obrolan.errors import RateLimited
from obrolan.ids import new_id


@dataclass(frozen=True, slots=True)
class AttemptKey:
    """Whose failures an attempt counts against: a keyed hash, never the name or address."""

    scope: FailureScope
    key_hash: bytes
    limit: int


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

    def ip_key(self, ip_address: str) -> AttemptKey:
        return AttemptKey(
            "ip",
            self.keyring.blind_index("login-ip", ip_address),
            self.settings.login_max_failures_per_ip,
        )

    async def reserve(
        self, conn: AsyncConnection, keys: list[AttemptKey], now: datetime
    ) -> list[str]:
        """Count one attempt against each key, or raise RateLimited when any key is at its limit."""
        window = self.settings.login_window_seconds
        since = now - timedelta(seconds=window)
        # Lazy clean-up: failures older than the window no longer count for anyone.
        await store.delete_failures_before(conn, since)
        waits = []
        for key in keys:
            recent = await store.recent_failures(conn, key.scope, key.key_hash, since, key.limit)
            wait = login_retry_after(recent, now=now, limit=key.limit, window_seconds=window)
            if wait is not None:
                waits.append(wait)
        if waits:
            raise RateLimited("too many failed sign-ins; try again later", retry_after=max(waits))
        attempt_ids = [new_id() for _ in keys]
        await store.insert_failures(
            conn,
            [
                {"id": attempt_id, "scope": key.scope, "key_hash": key.key_hash, "at": now}
                for attempt_id, key in zip(attempt_ids, keys, strict=True)
            ],
        )
        return attempt_ids

    async def forgive(
        self, conn: AsyncConnection, attempt_ids: list[str], account: AttemptKey | None
    ) -> None:
        """The attempt succeeded: it was no failure, and the account's count starts again."""
        await store.delete_failures_by_ids(conn, attempt_ids)
        if account is not None:
            await store.delete_failures_of(conn, account.scope, account.key_hash)
