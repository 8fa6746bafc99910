"""Encryption at rest: envelope encryption, the key-encryption key, blind indexes (R6)."""

from obrolan.crypto.envelope import DecryptionError, open_sealed, seal
from obrolan.crypto.kek import KekError, fingerprint, load_or_create_kek
from obrolan.crypto.keyring import KeyRing

__all__ = [
    "DecryptionError",
    "KekError",
    "KeyRing",
    "fingerprint",
    "load_or_create_kek",
    "open_sealed",
    "seal",
]
