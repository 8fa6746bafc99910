"""AES-256-GCM encryption of whole files, in chunks, for backups and business media (R5, R6).

A file is a header and then chunks:

    header = MAGIC (8) || version (1) || kind (1) || nonce prefix (8) || chunk size (4)
    chunk  = AES-256-GCM(key, nonce = prefix || index (4), plaintext chunk,
                         aad = header || index (8) || final flag (1)) (ciphertext + tag)

Every chunk but the last holds exactly `chunk size` bytes of plaintext; the last holds
what is left (maybe nothing) and is the only one sealed with the final flag set. So a
reordered, altered, truncated or extended file fails to open: a chunk moved elsewhere
has the wrong index, a file cut after any chunk ends on one not marked final, and bytes
after the final chunk make it not the last. The header (its kind included) is in every
chunk's associated data, so a key-store copy cannot be opened as a data backup.

Each file has a random nonce prefix; with the chunk index that makes every nonce under
one key distinct (2^64 prefixes: a collision is not a concern at one file a day).
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from obrolan.crypto.envelope import DecryptionError

MAGIC = b"OBROLANB"
VERSION = 1
CHUNK_BYTES = 1024 * 1024
_TAG_BYTES = 16
_HEADER = struct.Struct(">8sBB8sI")
HEADER_BYTES = _HEADER.size


def encrypt_file(
    key: bytes, kind: int, source: BinaryIO, target: BinaryIO, chunk_bytes: int = CHUNK_BYTES
) -> None:
    """Encrypt `source` (read to its end) into `target`."""
    header = _HEADER.pack(MAGIC, VERSION, kind, os.urandom(8), chunk_bytes)
    prefix = header[10:18]
    target.write(header)
    aead = AESGCM(key)
    index = 0
    chunk = source.read(chunk_bytes)
    while True:
        following = source.read(chunk_bytes) if len(chunk) == chunk_bytes else b""
        final = not following
        target.write(aead.encrypt(_nonce(prefix, index), chunk, _aad(header, index, final)))
        if final:
            return
        chunk, index = following, index + 1


def read_kind(source: BinaryIO) -> int:
    """The kind a file's header names, without opening it (DecryptionError if not ours)."""
    return _read_header(source)[1]


def decrypt_file(key: bytes, kind: int, source: BinaryIO, target: BinaryIO) -> None:
    """Decrypt `source` into `target`; DecryptionError if it is not whole and unaltered.

    `target` may hold part of the plaintext when this fails: write it somewhere
    temporary, and use it only once this returns.
    """
    for plain in decrypt_chunks(key, kind, source):
        target.write(plain)


def decrypt_chunks(key: bytes, kind: int, source: BinaryIO) -> Iterator[bytes]:
    """The plaintext of `source`, chunk by chunk, each one checked before it is given.

    DecryptionError, raised at any chunk, means the file is not whole and unaltered:
    whoever streams the chunks must then drop what it was given (a download is cut off).
    """
    header, found_kind, chunk_bytes = _read_header(source)
    if found_kind != kind:
        raise DecryptionError(f"this file is of another kind ({found_kind}, not {kind})")
    prefix = header[10:18]
    aead = AESGCM(key)
    sealed_bytes = chunk_bytes + _TAG_BYTES
    index = 0
    sealed = source.read(sealed_bytes)
    while True:
        following = source.read(sealed_bytes) if len(sealed) == sealed_bytes else b""
        final = not following
        if index >= 2**32:
            raise DecryptionError("too many chunks")
        try:
            plain = aead.decrypt(_nonce(prefix, index), sealed, _aad(header, index, final))
        except InvalidTag as exc:
            raise DecryptionError(
                f"chunk {index} does not open: the file is truncated, altered, or was made"
                " with another key-encryption key"
            ) from exc
        yield plain
        if final:
            return
        sealed, index = following, index + 1


def _read_header(source: BinaryIO) -> tuple[bytes, int, int]:
    header = source.read(HEADER_BYTES)
    if len(header) < HEADER_BYTES:
        raise DecryptionError("not an obrolan backup: too short for its header")
    magic, version, kind, _prefix, chunk_bytes = _HEADER.unpack(header)
    if magic != MAGIC:
        raise DecryptionError("not an obrolan backup")
    if version != VERSION:
        raise DecryptionError(f"unknown backup format version {version}")
    if not 0 < chunk_bytes <= 64 * CHUNK_BYTES:
        raise DecryptionError("implausible chunk size in the header")
    return header, kind, chunk_bytes


def _nonce(prefix: bytes, index: int) -> bytes:
    return prefix + struct.pack(">I", index)


def _aad(header: bytes, index: int, final: bool) -> bytes:
    return header + struct.pack(">QB", index, 1 if final else 0)
