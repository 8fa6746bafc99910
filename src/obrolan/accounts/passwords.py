"""argon2id password hashing, always off the event loop, and bounded (R17)."""

from __future__ import annotations

import asyncio
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError


class Passwords:
    """Hashes and verifies passwords in worker threads: argon2 is slow and memory-hard on purpose.

    At most `max_concurrent` computations run at once, since each takes the hasher's
    whole memory cost; new hashes (sign-ups, password changes) may take only half of
    those slots, so a burst of sign-ups cannot keep sign-ins waiting.
    """

    def __init__(self, hasher: PasswordHasher | None = None, *, max_concurrent: int = 2) -> None:
        # Public so that the running server's argon2 work can be observed, as tests do.
        self.hasher = hasher or PasswordHasher()
        self._slots = asyncio.Semaphore(max(1, max_concurrent))
        self._new_hash_slots = asyncio.Semaphore(max(1, max_concurrent // 2))
        self._decoy_hash: str | None = None

    async def hash(self, password: str) -> str:
        async with self._new_hash_slots, self._slots:
            return await asyncio.to_thread(self.hasher.hash, password)

    async def verify(self, password_hash: str | None, password: str) -> bool:
        """Whether `password` matches; with no hash (unknown person) it costs the same and fails.

        Checking a decoy hash keeps the answer time the same for unknown usernames, so
        timing does not tell who has an account.
        """
        checked = password_hash if password_hash is not None else await self._decoy()
        async with self._slots:
            matches = await asyncio.to_thread(self._verify, checked, password)
        return matches and password_hash is not None

    def needs_rehash(self, password_hash: str) -> bool:
        """True when the hash was made with weaker parameters than today's."""
        return self.hasher.check_needs_rehash(password_hash)

    def _verify(self, password_hash: str, password: str) -> bool:
        try:
            return self.hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    async def _decoy(self) -> str:
        if self._decoy_hash is None:
            self._decoy_hash = await self.hash(secrets.token_urlsafe(16))
        return self._decoy_hash
