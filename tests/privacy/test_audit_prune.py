"""Audit retention (R5: logs 12 months): the oldest entries go, the chain still holds,
and removing anything more from its start is still caught (R7)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import orjson
import pytest
from sqlalchemy import delete, select

from obrolan.clock import FakeClock
from obrolan.crypto import KeyRing
from obrolan.db import Database
from obrolan.privacy import audit as audit_module
from obrolan.privacy.audit import PRUNED, ActorRole, AuditEvent, AuditLog, Checkpoint
from obrolan.privacy.models import audit_log

DAY = 86_400


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url)
    yield database
    await database.dispose()


async def _append(log: AuditLog, db: Database, count: int) -> None:
    async with db.write() as conn:
        await log.record(
            conn,
            *(
                AuditEvent("test.step", "op", ActorRole.operator, "ani", {"n": n})
                for n in range(count)
            ),
        )


async def _seqs(db: Database) -> list[tuple[int, str]]:
    async with db.read() as conn:
        rows = await conn.execute(select(audit_log.c.seq, audit_log.c.action).order_by("seq"))
        return [(r.seq, r.action) for r in rows]


async def test_r5_audit_entries_past_the_log_rule_are_pruned_and_the_chain_still_verifies(
    db: Database,
) -> None:
    clock = FakeClock()
    log = AuditLog(KeyRing(bytes(32)), clock, kept=timedelta(days=365))
    await _append(log, db, 10)  # day 0
    early = await log.head(db)
    clock.advance(200 * DAY)
    await _append(log, db, 5)  # day 200

    assert await log.prune(db, clock.now()) == 0  # nothing is a year old yet
    clock.advance(166 * DAY)  # day 366: the first ten are past the rule
    removed = await log.prune(db, clock.now())
    result = await log.verify(db)

    assert removed == 10
    assert await _seqs(db) == [(n, "test.step") for n in range(11, 16)] + [(16, PRUNED)]
    assert result.ok, result.broken
    assert result.entries == 6 and result.head_seq == 16
    async with db.read() as conn:
        [marker] = await conn.execute(select(audit_log.c.detail).where(audit_log.c.seq == 16))
    assert orjson.loads(marker.detail)["through_seq"] == 10
    assert orjson.loads(marker.detail)["hash"] == early.hash.hex()  # type: ignore[union-attr]
    # A checkpoint inside the part the rule removed still verifies; the marker says why.
    assert (await log.verify(db, [Checkpoint(10, early.hash)])).ok  # type: ignore[arg-type]

    # Removing one more from the start is not the retention rule: it is caught.
    async with db.write() as conn:
        await conn.execute(delete(audit_log).where(audit_log.c.seq == 11))
    broken = (await log.verify(db)).broken
    assert broken is not None and broken.seq == 12 and "missing" in broken.problem


async def test_r5_pruning_goes_in_batches_each_with_its_marker(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(audit_module, "PRUNE_BATCH", 4)
    clock = FakeClock()
    log = AuditLog(KeyRing(bytes(32)), clock, kept=timedelta(days=365))
    await _append(log, db, 10)
    clock.advance(400 * DAY)

    removed = await log.prune(db, clock.now())
    result = await log.verify(db)

    # Batches of 4: 1..4 (marker 11), 5..8 (marker 12), then 9 and 10 (marker 13); the
    # markers are new, not past the rule.
    assert removed == 10
    assert await _seqs(db) == [(11, PRUNED), (12, PRUNED), (13, PRUNED)]
    assert result.ok, result.broken
    assert await log.prune(db, clock.now()) == 0  # the new marker is not a year old


async def test_r7_a_chain_that_starts_late_without_a_marker_is_broken(db: Database) -> None:
    clock = FakeClock()
    log = AuditLog(KeyRing(bytes(32)), clock)
    await _append(log, db, 5)
    async with db.write() as conn:
        await conn.execute(delete(audit_log).where(audit_log.c.seq <= 2))

    broken = (await log.verify(db)).broken

    assert broken is not None and broken.seq == 3
    assert "no audit.pruned entry" in broken.problem
