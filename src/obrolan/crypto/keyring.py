"""Per-person data keys wrapped by the KEK, and the keyed blind index.

Every person has their own 256-bit data key. Their personal fields and the messages
they write are sealed under it; the key itself is stored only wrapped (sealed) by the
KEK. Destroying a person's wrapped key makes every copy of their data unreadable,
backups included (R4, crypto-shredding).
"""

from __future__ import annotations

import hashlib
import hmac
from collections import OrderedDict

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from obrolan.crypto.envelope import forget_ciphers, new_key, open_sealed, seal


def derive_key(kek: bytes, info: bytes) -> bytes:
    """A 256-bit key for one purpose (`info`), derived from the KEK with HKDF-SHA256."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(kek)


class KeyRing:
    """Wraps and unwraps data keys; caches unwrapped keys in memory (bounded LRU)."""

    def __init__(self, kek: bytes, cache_size: int = 100_000) -> None:
        self._wrap_key = derive_key(kek, b"obrolan data-key wrapping v1")
        self._index_key = derive_key(kek, b"obrolan blind index v1")
        # Keys the audit log's hash chain (obrolan.privacy.audit, R7).
        self.audit_key = derive_key(kek, b"obrolan audit chain v1")
        self._cache: OrderedDict[str, bytes] = OrderedDict()
        self._cache_size = cache_size

    # -- data keys -------------------------------------------------------------------
    def new_wrapped_key(self, owner_id: str) -> tuple[bytes, bytes]:
        """A fresh data key for `owner_id`: (plain key, wrapped key to store)."""
        key = new_key()
        self.remember(owner_id, key)
        return key, seal(self._wrap_key, key, self._aad(owner_id))

    def unwrap(self, owner_id: str, wrapped: bytes) -> bytes:
        key = open_sealed(self._wrap_key, wrapped, self._aad(owner_id))
        self.remember(owner_id, key)
        return key

    def cached(self, owner_id: str) -> bytes | None:
        key = self._cache.get(owner_id)
        if key is not None:
            self._cache.move_to_end(owner_id)
        return key

    def remember(self, owner_id: str, key: bytes) -> None:
        self._cache[owner_id] = key
        self._cache.move_to_end(owner_id)
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)

    def forget(self, owner_id: str) -> None:
        self._cache.pop(owner_id, None)
        forget_ciphers()

    @staticmethod
    def _aad(owner_id: str) -> bytes:
        return b"data-key:" + owner_id.encode()

    # -- blind index -----------------------------------------------------------------
    def blind_index(self, kind: str, normalised_value: str) -> bytes:
        """Keyed HMAC of a normalised value: equality look-ups without storing plaintext."""
        msg = kind.encode() + b"\x00" + normalised_value.encode()
        return hmac.new(self._index_key, msg, hashlib.sha256).digest()
