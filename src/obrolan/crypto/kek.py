"""The key-encryption key (KEK): read from the environment or a file, or made on first run.

The KEK wraps every person's data key and keys the blind index. It is never logged:
only its fingerprint (a hash prefix) may appear in output.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from pathlib import Path

from obrolan.crypto.envelope import KEY_BYTES, new_key


class KekError(Exception):
    """The configured key-encryption key is unusable."""


def decode_kek(text: str) -> bytes:
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except binascii.Error as exc:
        raise KekError("the key-encryption key is not valid base64") from exc
    if len(key) != KEY_BYTES:
        raise KekError(f"the key-encryption key must be {KEY_BYTES} bytes, got {len(key)}")
    return key


def load_or_create_kek(env_value: str, path: Path) -> bytes:
    """The KEK from `env_value` if set, else from `path`, else a new one written to `path`."""
    if env_value:
        return decode_kek(env_value)
    if path.exists():
        return decode_kek(path.read_text())
    path.parent.mkdir(parents=True, exist_ok=True)
    key = new_key()
    # O_EXCL: two processes starting at once must not each write their own key.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(base64.b64encode(key).decode() + "\n")
    return key


def fingerprint(key: bytes) -> str:
    return hashlib.sha256(b"obrolan-kek-fingerprint" + key).hexdigest()[:16]
