"""Per-person data keys: made before the account, loaded (and cached) to seal and open.

The wrapped keys are in the key store (obrolan.crypto.keystore), not the main database,
so that no backup of the database holds them (R4). Every call here uses the key store's
own connection and commits there: none joins a transaction of the main database.
"""

from __future__ import annotations

from collections.abc import Iterable

from obrolan.clock import Clock
from obrolan.crypto import DecryptionError, KeyRing, open_sealed, seal
from obrolan.crypto.keystore import KeyStore


def aad(table: str, column: str, row_id: str) -> bytes:
    """Associated data that binds a sealed value to its table, column and row."""
    return f"{table}.{column}:{row_id}".encode()


class DataKeys:
    def __init__(self, keyring: KeyRing, store: KeyStore, clock: Clock) -> None:
        self.keyring = keyring
        self.store = store
        self.clock = clock

    async def create(self, user_id: str) -> bytes:
        """A new data key for `user_id`, committed to the key store before it is returned.

        The key store is another database, so the key cannot be committed together with
        the account: it is made first. If the account is then never committed, the key
        is an orphan that seals nothing and names no one who exists: harmless.
        """
        key, wrapped = self.keyring.new_wrapped_key(user_id)
        await self.store.insert(user_id, wrapped, self.clock.now())
        return key

    async def get_many(self, user_ids: Iterable[str]) -> dict[str, bytes]:
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
            for uid, wrapped in (await self.store.wrapped_many(missing)).items():
                found[uid] = self.keyring.unwrap(uid, wrapped)
        return found

    async def get(self, user_id: str) -> bytes | None:
        return (await self.get_many([user_id])).get(user_id)

    async def destroy(self, user_id: str) -> None:
        """Crypto-shred: without the key, everything sealed under it is unreadable (R4).

        Deleted from the key store (committed) and forgotten from this process's cache.
        Data backups never hold the key store, so this reaches them too.
        """
        await self.store.delete(user_id)
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
