"""The key-encryption key (KEK): read from the environment or a file, or made on first run.

The KEK wraps every person's data key and keys the blind index. It is never logged:
only its fingerprint (a hash prefix) may appear in output.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import tempfile
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
    """The KEK from `env_value` if set, else from `path`, else a new one written to `path`.

    Several processes may start at once on a fresh data dir: exactly one key is made,
    and every process uses it.
    """
    if env_value:
        return decode_kek(env_value)
    if path.exists():
        return decode_kek(path.read_text())
    path.parent.mkdir(parents=True, exist_ok=True)
    key = new_key()
    # The key is written whole to a private temporary file, then linked into place: the
    # link either makes a complete key file appear at once or fails because another
    # process linked its own first, whose key is then complete and is the one to use.
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".kek-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:  # mkstemp makes it 0600
            f.write(base64.b64encode(key).decode() + "\n")
            f.flush()
            os.fsync(f.fileno())
        try:
            os.link(temporary, path)
        except FileExistsError:
            return decode_kek(path.read_text())
    finally:
        os.unlink(temporary)
    _sync_directory(path.parent)
    return key


def _sync_directory(directory: Path) -> None:
    """Make the new directory entry durable, so a crash cannot lose a key already in use."""
    if hasattr(os, "O_DIRECTORY"):
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def fingerprint(key: bytes) -> str:
    return hashlib.sha256(b"obrolan-kek-fingerprint" + key).hexdigest()[:16]
