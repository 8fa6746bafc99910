"""Whole-file encryption for backups: any truncation, reordering or change is refused (R5)."""

from __future__ import annotations

import io
import os

import pytest

from obrolan.crypto import DecryptionError
from obrolan.crypto.envelope import new_key
from obrolan.crypto.files import HEADER_BYTES, decrypt_file, encrypt_file, read_kind

KEY = new_key()
CHUNK = 64
SEALED = CHUNK + 16


def _encrypt(plain: bytes, kind: int = 1, key: bytes = KEY) -> bytes:
    out = io.BytesIO()
    encrypt_file(key, kind, io.BytesIO(plain), out, chunk_bytes=CHUNK)
    return out.getvalue()


def _decrypt(sealed: bytes, kind: int = 1, key: bytes = KEY) -> bytes:
    out = io.BytesIO()
    decrypt_file(key, kind, io.BytesIO(sealed), out)
    return out.getvalue()


@pytest.mark.parametrize("size", [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK, 3 * CHUNK + 5])
def test_r5_round_trip_of_every_size_around_the_chunk(size: int) -> None:
    plain = os.urandom(size)
    sealed = _encrypt(plain)
    assert size < 16 or plain not in sealed
    assert read_kind(io.BytesIO(sealed)) == 1
    assert _decrypt(sealed) == plain


def test_r5_a_file_cut_at_a_chunk_boundary_is_refused() -> None:
    """Without the final-chunk flag, dropping the last chunks would go unnoticed."""
    sealed = _encrypt(os.urandom(3 * CHUNK + 5))
    for chunks in (1, 2, 3):
        with pytest.raises(DecryptionError):
            _decrypt(sealed[: HEADER_BYTES + chunks * SEALED])


def test_r5_reordered_altered_or_extended_files_are_refused() -> None:
    sealed = _encrypt(os.urandom(3 * CHUNK))
    first, second = (
        slice(HEADER_BYTES, HEADER_BYTES + SEALED),
        slice(HEADER_BYTES + SEALED, HEADER_BYTES + 2 * SEALED),
    )
    swapped = bytearray(sealed)
    swapped[first], swapped[second] = sealed[second], sealed[first]
    flipped = bytearray(sealed)
    flipped[HEADER_BYTES + 2] ^= 0x80
    header_changed = bytearray(sealed)
    header_changed[12] ^= 0x01  # the nonce prefix
    for damaged in (swapped, flipped, header_changed, sealed + b"x", sealed + sealed[first]):
        with pytest.raises(DecryptionError):
            _decrypt(bytes(damaged))


def test_r5_another_key_or_kind_is_refused() -> None:
    sealed = _encrypt(b"data", kind=1)
    with pytest.raises(DecryptionError):
        _decrypt(sealed, key=new_key())
    with pytest.raises(DecryptionError, match="another kind"):
        _decrypt(sealed, kind=3)
    with pytest.raises(DecryptionError, match="not an obrolan backup"):
        _decrypt(b"SQLite format 3\x00" + bytes(100))
