"""Pure privacy rules: request deadlines (R13), the audit chain (R7), promised settings."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from obrolan.config import Settings
from obrolan.privacy.rules import (
    GENESIS,
    AuditEntry,
    RequestKind,
    entry_hash,
    first_break,
    is_overdue,
    request_deadline,
)

NOON = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
KEY = bytes(range(32))


@pytest.mark.parametrize(
    ("kind", "allowed"),
    [
        (RequestKind.access, timedelta(hours=72)),
        (RequestKind.rectification, timedelta(hours=72)),
        (RequestKind.restriction, timedelta(hours=72)),
        (RequestKind.erasure, timedelta(days=14)),
        (RequestKind.objection, timedelta(days=14)),
    ],
)
def test_r13_each_request_gets_the_shortest_deadline_that_applies(
    kind: RequestKind, allowed: timedelta
) -> None:
    assert request_deadline(kind, NOON, Settings()) == NOON + allowed


def test_r13_an_access_request_opened_at_noon_is_overdue_at_noon_three_days_later() -> None:
    deadline = request_deadline(RequestKind.access, NOON, Settings())
    assert not is_overdue("received", deadline, NOON + timedelta(days=3) - timedelta(seconds=1))
    assert is_overdue("received", deadline, NOON + timedelta(days=3))
    assert is_overdue("in_progress", deadline, NOON + timedelta(days=3))
    assert not is_overdue("done", deadline, NOON + timedelta(days=4))


def test_r4_start_refuses_a_grace_period_that_breaks_the_erasure_promise() -> None:
    with pytest.raises(ValidationError, match="ERASURE_DEADLINE_DAYS"):
        Settings(privacy_erasure_grace_days=30)
    with pytest.raises(ValidationError, match="ERASURE_DEADLINE_DAYS"):
        # 29 days of grace and a daily sweep: the erasure could come on day 30.
        Settings(privacy_erasure_grace_days=29, retention_sweep_seconds=86_400)
    Settings(privacy_erasure_grace_days=28, retention_sweep_seconds=86_400)


def test_r13_start_refuses_an_urgent_deadline_longer_than_the_ordinary_one() -> None:
    with pytest.raises(ValidationError, match="URGENT_REQUEST_HOURS"):
        Settings(privacy_urgent_request_hours=15 * 24)


def _chain(count: int) -> list[AuditEntry]:
    entries = []
    prev = GENESIS
    for seq in range(1, count + 1):
        at = NOON + timedelta(minutes=seq)
        detail = b'{"n":%d}' % seq
        digest = entry_hash(KEY, prev, seq, f"id{seq}", at, "u1", "person", "a", "u1", detail)
        entries.append(
            AuditEntry(seq, f"id{seq}", at, "u1", "person", "a", "u1", detail, prev, digest)
        )
        prev = digest
    return entries


def _walk(entries: list[AuditEntry]) -> tuple[int, str] | None:
    broken = first_break(KEY, entries, start_seq=1, start_hash=GENESIS)
    return None if broken is None else (broken.seq, broken.problem)


def test_r7_an_intact_chain_verifies() -> None:
    assert _walk(_chain(5)) is None


def test_r7_an_edited_entry_is_named() -> None:
    entries = _chain(5)
    entries[2] = dataclasses.replace(entries[2], detail=b'{"n":99}')
    assert _walk(entries) == (3, "was edited: its hash does not match")


def test_r7_a_removed_entry_is_named() -> None:
    entries = _chain(5)
    del entries[1]
    assert _walk(entries) == (3, "entries 2..2 are missing")


def test_r7_an_entry_inserted_with_a_foreign_hash_is_named() -> None:
    entries = _chain(5)
    forged = _chain(5)[3]
    # Same seq and fields, re-hashed with another key: whoever lacks the KEK cannot forge.
    other = entry_hash(
        bytes(32), forged.prev_hash, 4, "x", forged.at, None, "system", "a", None, b"{}"
    )
    entries[3] = dataclasses.replace(
        forged,
        id="x",
        actor_id=None,
        actor_role="system",
        subject_id=None,
        detail=b"{}",
        hash=other,
    )
    assert _walk(entries) == (4, "was edited: its hash does not match")


def test_r7_an_entry_moved_out_of_order_is_named() -> None:
    entries = _chain(5)
    entries[1], entries[2] = entries[2], entries[1]
    assert _walk(entries) == (3, "entries 2..2 are missing")
