"""Per-person data keys: created with the account, loaded (and cached) to seal and open."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from obrolan.accounts.models import user_keys
from obrolan.clock import Clock
from obrolan.crypto import DecryptionError, KeyRing, open_sealed, seal


def aad(table: str, column: str, row_id: str) -> bytes:
    """Associated data that binds a sealed value to its table, column and row."""
    return f"{table}.{column}:{row_id}".encode()


class DataKeys:
    def __init__(self, keyring: KeyRing, clock: Clock) -> None:
        self.keyring = keyring
        self.clock = clock

    async def create(self, conn: AsyncConnection, user_id: str) -> bytes:
        key, wrapped = self.keyring.new_wrapped_key(user_id)
        await conn.execute(
            insert(user_keys).values(
                user_id=user_id, wrapped_key=wrapped, created_at=self.clock.now()
            )
        )
        return key

    async def get_many(self, conn: AsyncConnection, user_ids: Iterable[str]) -> dict[str, bytes]:
        """Data keys of these people; those whose key was destroyed are absent."""
        found: dict[str, bytes] = {}
        missing = []
        for uid in set(user_ids):
            key = self.keyring.cached(uid)
            if key is None:
                missing.append(uid)
            else:
                found[uid] = key
        if missing:
            rows = await conn.execute(
                select(user_keys.c.user_id, user_keys.c.wrapped_key).where(
                    user_keys.c.user_id.in_(missing)
                )
            )
            for uid, wrapped in rows:
                found[uid] = self.keyring.unwrap(uid, wrapped)
        return found

    async def get(self, conn: AsyncConnection, user_id: str) -> bytes | None:
        return (await self.get_many(conn, [user_id])).get(user_id)

    async def destroy(self, conn: AsyncConnection, user_id: str) -> None:
        """Crypto-shred: without the key, everything sealed under it is unreadable (R4)."""
        await conn.execute(delete(user_keys).where(user_keys.c.user_id == user_id))
        self.keyring.forget(user_id)


def seal_text(key: bytes, text: str, where: bytes) -> bytes:
    return seal(key, text.encode(), where)


def open_text(key: bytes | None, sealed: bytes | None, where: bytes) -> str | None:
    """The plaintext, or None when there is no value or its key was destroyed."""
    if sealed is None or key is None:
        return None
    try:
        return open_sealed(key, sealed, where).decode()
    except DecryptionError:
        return None
