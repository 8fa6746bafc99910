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
