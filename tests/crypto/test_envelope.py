"""Envelope encryption, key wrapping and the blind index (R6)."""

from __future__ import annotations

import base64
import os
import stat
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from obrolan.crypto import DecryptionError, KekError, KeyRing, load_or_create_kek, open_sealed, seal
from obrolan.crypto.envelope import new_key


@given(st.binary(max_size=5000), st.binary(max_size=100))
def test_sealed_values_open_only_with_their_key_and_place(plaintext: bytes, where: bytes) -> None:
    key = new_key()
    sealed = seal(key, plaintext, where)
    assert open_sealed(key, sealed, where) == plaintext
    with pytest.raises(DecryptionError):
        open_sealed(key, sealed, where + b"-elsewhere")
    with pytest.raises(DecryptionError):
        open_sealed(new_key(), sealed, where)


def test_tampered_value_does_not_open() -> None:
    key = new_key()
    sealed = bytearray(seal(key, b"halo", b"messages.body_enc:m1"))
    sealed[-1] ^= 1
    with pytest.raises(DecryptionError):
        open_sealed(key, bytes(sealed), b"messages.body_enc:m1")


def test_same_text_seals_differently_each_time() -> None:
    key = new_key()
    assert seal(key, b"halo", b"x") != seal(key, b"halo", b"x")


owner_ids = st.text(min_size=1, max_size=26)


@given(owner_ids, owner_ids)
def test_data_key_unwraps_to_itself_only_for_its_owner_and_kek(owner: str, other: str) -> None:
    kek = os.urandom(32)
    key, wrapped = KeyRing(kek).new_wrapped_key(owner)
    assert len(key) == 32 and key not in wrapped
    # A ring of its own (nothing cached) opens the wrapped key to exactly that key.
    assert KeyRing(kek).unwrap(owner, wrapped) == key
    if other != owner:
        with pytest.raises(DecryptionError):
            KeyRing(kek).unwrap(other, wrapped)
    with pytest.raises(DecryptionError):
        KeyRing(os.urandom(32)).unwrap(owner, wrapped)


@given(st.data())
def test_wrapped_key_altered_in_any_byte_does_not_unwrap(data: st.DataObject) -> None:
    kek = os.urandom(32)
    _, wrapped = KeyRing(kek).new_wrapped_key("u1")
    tampered = bytearray(wrapped)
    index = data.draw(st.integers(0, len(wrapped) - 1), label="index")
    tampered[index] ^= data.draw(st.integers(1, 255), label="flip")
    with pytest.raises(DecryptionError):
        KeyRing(kek).unwrap("u1", bytes(tampered))
    with pytest.raises(DecryptionError):
        KeyRing(kek).unwrap("u1", wrapped[:-1])


def test_every_owner_gets_a_key_of_their_own() -> None:
    ring = KeyRing(os.urandom(32))
    keys = {ring.new_wrapped_key(f"u{i}")[0] for i in range(50)}
    assert len(keys) == 50


def test_blind_index_is_keyed_and_separates_kinds() -> None:
    kek = os.urandom(32)
    a, b = KeyRing(kek), KeyRing(kek)
    assert a.blind_index("email", "x@y.id") == b.blind_index("email", "x@y.id")
    assert a.blind_index("email", "x@y.id") != a.blind_index("phone", "x@y.id")
    assert a.blind_index("email", "x@y.id") != KeyRing(os.urandom(32)).blind_index(
        "email", "x@y.id"
    )


def test_kek_is_generated_once_private_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "var" / "kek.key"
    first = load_or_create_kek("", path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create_kek("", path) == first
    from_env = base64.b64encode(os.urandom(32)).decode()
    assert load_or_create_kek(from_env, path) == base64.b64decode(from_env)


@pytest.mark.parametrize("bad", ["not base64!!", base64.b64encode(b"short").decode()])
def test_unusable_kek_is_refused_with_a_reason(bad: str, tmp_path: Path) -> None:
    with pytest.raises(KekError):
        load_or_create_kek(bad, tmp_path / "kek.key")


def test_r4_a_forgotten_key_leaves_no_cipher_behind_in_the_process() -> None:
    from obrolan.crypto import envelope

    ring = KeyRing(os.urandom(32))
    key, wrapped = ring.new_wrapped_key("01hzzzzzzzzzzzzzzzzzzzzzzz")
    ring.unwrap("01hzzzzzzzzzzzzzzzzzzzzzzz", wrapped)
    sealed = seal(key, b"rahasia", b"here")
    assert envelope._cipher.cache_info().currsize > 0  # sealing set a cipher up
    ring.forget("01hzzzzzzzzzzzzzzzzzzzzzzz")
    # The data key's bytes lived on in its cipher; forgetting the key drops them too.
    assert envelope._cipher.cache_info().currsize == 0
    assert open_sealed(key, sealed, b"here") == b"rahasia"
