"""The audit log on a real database (R7): appends chain, racing appends stay one chain."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import delete, update

from obrolan.clock import Clock
from obrolan.crypto import KeyRing
from obrolan.db import Database
from obrolan.privacy.audit import HIDDEN_UNTIL, ActorRole, AuditEvent, AuditLog
from obrolan.privacy.models import audit_log

ROUNDS = 20
WRITERS = 8


def _event(n: int) -> AuditEvent:
    return AuditEvent("test.step", f"actor{n:02d}", ActorRole.person, f"subj{n:02d}", {"n": n})


async def test_r7_racing_appends_from_several_connections_make_one_chain(
    database_url: str,
) -> None:
    """Each writer has its own engine, as each node does: the chain lock orders them."""
    log = AuditLog(KeyRing(bytes(32)), Clock())
    dbs = [Database(database_url) for _ in range(WRITERS)]

    async def append(db: Database, n: int) -> None:
        async with db.writer() as conn, conn.begin():
            await log.record(conn, _event(n), _event(n + 100))

    try:
        for _ in range(ROUNDS):
            await asyncio.gather(*(append(db, i) for i, db in enumerate(dbs)))
        result = await log.verify(dbs[0])
        assert result.ok, result.broken
        assert result.entries == ROUNDS * WRITERS * 2
        assert result.head_seq == ROUNDS * WRITERS * 2
    finally:
        for db in dbs:
            await db.dispose()


async def test_r7_verify_names_an_edited_and_a_removed_entry(database_url: str) -> None:
    log = AuditLog(KeyRing(bytes(32)), Clock())
    db = Database(database_url)
    try:
        async with db.writer() as conn, conn.begin():
            await log.record(conn, *(_event(n) for n in range(10)))
        assert (await log.verify(db)).ok

        async with db.writer() as conn, conn.begin():
            await conn.execute(
                update(audit_log).where(audit_log.c.seq == 7).values(action="test.other")
            )
        broken = (await log.verify(db)).broken
        assert broken is not None and broken.seq == 7 and "edited" in broken.problem

        async with db.writer() as conn, conn.begin():
            await conn.execute(delete(audit_log).where(audit_log.c.seq == 4))
        broken = (await log.verify(db)).broken
        assert broken is not None and broken.seq == 5 and "missing" in broken.problem
    finally:
        await db.dispose()


async def test_r7_a_person_sees_entries_about_them_except_those_under_a_legal_hold(
    database_url: str,
) -> None:
    clock = Clock()
    log = AuditLog(KeyRing(bytes(32)), clock)
    db = Database(database_url)
    now = clock.now()
    later = (now + timedelta(days=30)).isoformat()
    try:
        async with db.writer() as conn, conn.begin():
            await log.record(
                conn,
                AuditEvent("a.seen", "op", ActorRole.operator, "ani"),
                AuditEvent("a.held", "op", ActorRole.operator, "ani", {HIDDEN_UNTIL: later}),
                AuditEvent("a.other", "op", ActorRole.operator, "budi"),
            )
        async with db.read() as conn:
            seen = await log.own_page(conn, "ani", now=now, before_seq=None, limit=10)
            after_hold = await log.own_page(
                conn, "ani", now=now + timedelta(days=31), before_seq=None, limit=10
            )
        assert [e.action for e in seen.entries] == ["a.seen"]
        assert [e.action for e in after_hold.entries] == ["a.held", "a.seen"]
        # The hold's end is for the chain, not for the person; no operator is named.
        assert after_hold.entries[0].detail == {}
        assert all(not e.by_me for e in after_hold.entries)
    finally:
        await db.dispose()
