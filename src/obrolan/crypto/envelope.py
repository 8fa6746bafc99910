"""AES-256-GCM sealing of small values (R6).

A sealed value is `version (1 byte) || nonce (12 bytes) || ciphertext+tag`. The
associated data binds a ciphertext to where it belongs (table, column, row), so a value
copied into another row or column fails to open instead of being shown there.
"""

from __future__ import annotations

import functools
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_VERSION = b"\x01"
_NONCE_BYTES = 12
KEY_BYTES = 32


class DecryptionError(Exception):
    """The value was not sealed with this key for this place, or it was altered."""


def new_key() -> bytes:
    return AESGCM.generate_key(bit_length=256)


@functools.lru_cache(maxsize=4096)
def _cipher(key: bytes) -> AESGCM:
    """The cipher of a key, set up once: every message is sealed, and the keys in use
    are few (the data keys are cached in memory already, obrolan.crypto.keyring)."""
    return AESGCM(key)


def forget_ciphers() -> None:
    """Drop every cipher set up so far, and the keys they hold: after a key is destroyed
    (R4) nothing in this process keeps it. Erasures are rare; the cache refills."""
    _cipher.cache_clear()


def seal(key: bytes, plaintext: bytes, aad: bytes) -> bytes:
    nonce = os.urandom(_NONCE_BYTES)
    return _VERSION + nonce + _cipher(key).encrypt(nonce, plaintext, aad)


def open_sealed(key: bytes, sealed: bytes, aad: bytes) -> bytes:
    if sealed[:1] != _VERSION:
        raise DecryptionError("unknown sealed-value version")
    nonce = sealed[1 : 1 + _NONCE_BYTES]
    try:
        return _cipher(key).decrypt(nonce, sealed[1 + _NONCE_BYTES :], aad)
    except InvalidTag as exc:
        raise DecryptionError("value does not open with this key and place") from exc
