"""Generated ids: fixed length, URL-safe, unique, and ordered by creation time."""

from __future__ import annotations

import time

from obrolan.ids import new_id, new_numeric_id


def test_ids_are_26_url_safe_characters_and_unique() -> None:
    ids = [new_id() for _ in range(10_000)]
    assert len(set(ids)) == len(ids)
    assert all(len(i) == 26 and i.isalnum() and i.islower() for i in ids)


def test_later_ids_sort_after_earlier_ones() -> None:
    first = new_id()
    time.sleep(0.002)
    assert new_id() > first


def test_numeric_ids_are_25_digits_unique_and_ordered_by_time() -> None:
    ids = [new_numeric_id() for _ in range(10_000)]
    assert len(set(ids)) == len(ids)
    assert all(len(i) == 25 and i.isdigit() for i in ids)
    first = new_numeric_id()
    time.sleep(0.002)
    assert new_numeric_id() > first


def test_an_id_is_its_millisecond_time_and_random_bits_in_crockford_base32() -> None:
    alphabet = "0123456789abcdefghjkmnpqrstvwxyz"
    before = int(time.time() * 1000)
    value = 0
    for char in new_id():
        value = value * 32 + alphabet.index(char)
    after = int(time.time() * 1000)
    # 26 digits are 130 bits: the 48-bit time, 80 random bits, then two zero bits.
    assert value & 0b11 == 0
    assert before <= value >> 82 <= after
