"""AES-256-GCM sealing of small values (R6).

A sealed value is `version (1 byte) || nonce (12 bytes) || ciphertext+tag`. The
associated data binds a ciphertext to where it belongs (table, column, row), so a value
copied into another row or column fails to open instead of being shown there.
"""

from __future__ import annotations

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


def seal(key: bytes, plaintext: bytes, aad: bytes) -> bytes:
    nonce = os.urandom(_NONCE_BYTES)
    return _VERSION + nonce + AESGCM(key).encrypt(nonce, plaintext, aad)


def open_sealed(key: bytes, sealed: bytes, aad: bytes) -> bytes:
    if sealed[:1] != _VERSION:
        raise DecryptionError("unknown sealed-value version")
    nonce = sealed[1 : 1 + _NONCE_BYTES]
    try:
        return AESGCM(key).decrypt(nonce, sealed[1 + _NONCE_BYTES :], aad)
    except InvalidTag as exc:
        raise DecryptionError("value does not open with this key and place") from exc
