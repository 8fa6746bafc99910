"""`obrolan audit verify` against a real server's database (R7): editing, deleting or
inserting any audit row fails it and names the entry; a kept checkpoint catches entries
cut off the end; the recurring job writes checkpoints to the log."""

from __future__ import annotations

import asyncio
import re
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import structlog
from sqlalchemy import delete, insert, select, update

from obrolan.db import Database
from obrolan.privacy.audit import ActorRole, AuditEvent
from obrolan.privacy.audit_checkpoint import CHECKPOINT_EVENT
from obrolan.privacy.models import audit_log
from tests.support.cli import obrolan_cli
from tests.support.factories import login, make_user
from tests.support.server import RunningServer, start_server


@pytest.fixture
async def tamper(server: RunningServer) -> AsyncIterator[Database]:
    """A connection of someone with write access to the database (not the key).

    Yielded once the sweep that runs at start has recorded its run: the entries the
    test counts and tampers with are then the test's own (the next run is an hour on).
    """
    db = Database(server.settings.resolved_database_url)
    async with asyncio.timeout(30):
        while True:
            if any(r["action"] == "retention.run" for r in await _rows(db)):
                break
            await asyncio.sleep(0.05)
    yield db
    await db.dispose()


async def _rows(db: Database) -> list[dict[str, object]]:
    async with db.read() as conn:
        return [dict(r._mapping) for r in await conn.execute(select(audit_log).order_by("seq"))]


def _broken_at(result: subprocess.CompletedProcess[str]) -> tuple[int, str]:
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    found = re.search(r"broken at entry (\d+)(?: \(id (\w+)\))?: (.*)", result.stderr)
    assert found, result.stderr
    return int(found.group(1)), found.group(2) or "", found.group(3)  # type: ignore[return-value]


async def test_r7_editing_deleting_or_inserting_an_audit_row_fails_verify_naming_it(
    server: RunningServer, tamper: Database
) -> None:
    ani = await make_user(server, "ani")
    for _ in range(4):
        await login(server, ani.username)
    rows = await _rows(tamper)
    assert [r["action"] for r in rows] == ["retention.run"] + ["auth.sign_in"] * 5
    whole = await obrolan_cli(server, "audit", "verify")
    assert whole.returncode == 0, whole.stderr
    head = f"{rows[-1]['seq']}:{rows[-1]['hash'].hex()}"  # type: ignore[attr-defined]
    assert f"ok: 6 entries checked, 0 checkpoints; head {head}" in whole.stdout

    edited = rows[2]
    async with tamper.write() as conn:
        await conn.execute(
            update(audit_log).where(audit_log.c.seq == edited["seq"]).values(detail=b"{}")
        )
    seq, entry_id, problem = _broken_at(await obrolan_cli(server, "audit", "verify"))
    assert (seq, entry_id) == (edited["seq"], edited["id"]) and "edited" in problem
    async with tamper.write() as conn:
        await conn.execute(
            update(audit_log)
            .where(audit_log.c.seq == edited["seq"])
            .values(detail=edited["detail"])
        )
    assert (await obrolan_cli(server, "audit", "verify")).returncode == 0

    removed = rows[1]
    async with tamper.write() as conn:
        await conn.execute(delete(audit_log).where(audit_log.c.seq == removed["seq"]))
    seq, entry_id, problem = _broken_at(await obrolan_cli(server, "audit", "verify"))
    assert (seq, entry_id) == (rows[2]["seq"], rows[2]["id"]) and "missing" in problem
    async with tamper.write() as conn:
        await conn.execute(insert(audit_log).values(**removed))
    assert (await obrolan_cli(server, "audit", "verify")).returncode == 0

    # Removing the oldest entries: without a retention marker that accounts for them.
    async with tamper.write() as conn:
        await conn.execute(delete(audit_log).where(audit_log.c.seq == rows[0]["seq"]))
    seq, entry_id, problem = _broken_at(await obrolan_cli(server, "audit", "verify"))
    assert (seq, entry_id) == (rows[1]["seq"], rows[1]["id"]) and "removed" in problem
    async with tamper.write() as conn:
        await conn.execute(insert(audit_log).values(**rows[0]))

    # An entry inserted after the last one, chained to it, but hashed without the key.
    forged = {
        **rows[-1],
        "seq": rows[-1]["seq"] + 1,  # type: ignore[operator]
        "id": "06h3300000000000000000forg",
        "action": "auth.sign_in",
        "prev_hash": rows[-1]["hash"],
        "hash": bytes(32),
    }
    async with tamper.write() as conn:
        await conn.execute(insert(audit_log).values(**forged))
    seq, entry_id, problem = _broken_at(await obrolan_cli(server, "audit", "verify"))
    assert (seq, entry_id) == (forged["seq"], forged["id"]) and "edited" in problem


async def test_r7_a_kept_checkpoint_catches_entries_cut_off_the_end(
    server: RunningServer, tamper: Database
) -> None:
    ani = await make_user(server, "ani")
    await login(server, ani.username)
    kept = await obrolan_cli(server, "audit", "checkpoint")
    assert kept.returncode == 0, kept.stderr
    checkpoint = kept.stdout.strip()
    rows = await _rows(tamper)
    assert checkpoint == f"{rows[-1]['seq']}:{rows[-1]['hash'].hex()}"  # type: ignore[attr-defined]
    await login(server, ani.username)
    assert (
        await obrolan_cli(server, "audit", "verify", "--checkpoint", checkpoint)
    ).returncode == 0

    # The last two entries go: what is left is a whole chain, only shorter.
    async with tamper.write() as conn:
        await conn.execute(delete(audit_log).where(audit_log.c.seq >= rows[-1]["seq"]))
    plain = await obrolan_cli(server, "audit", "verify")
    checked = await obrolan_cli(server, "audit", "verify", "--checkpoint", checkpoint)

    assert plain.returncode == 0  # a truncated chain alone cannot tell...
    seq, _, problem = _broken_at(checked)  # ...but the kept checkpoint can
    assert seq == rows[-1]["seq"] and "missing" in problem and "cut off the end" in problem

    # A rewritten entry under a checkpoint: the hashes differ.
    other = f"{rows[0]['seq']}:{'00' * 32}"
    seq, _, problem = _broken_at(
        await obrolan_cli(server, "audit", "verify", "--checkpoint", other)
    )
    assert seq == rows[0]["seq"] and "differs from its checkpoint" in problem
    bad = await obrolan_cli(server, "audit", "verify", "--checkpoint", "seven:abc")
    assert bad.returncode == 1 and bad.stderr.startswith("error: --checkpoint")


async def test_r7_the_checkpoint_job_writes_the_head_to_the_log(
    database_url: str, tmp_path: Path
) -> None:
    server = await start_server(database_url, tmp_path, log_level="info")
    try:
        await make_user(server, "ani")
        with structlog.testing.capture_logs() as logged:
            head = await server.services.audit_checkpoints.checkpoint()
        kept = [e["checkpoint"] for e in logged if e["event"] == CHECKPOINT_EVENT]
        verified = await obrolan_cli(
            server, "audit", "verify", *(f"--checkpoint={c}" for c in kept)
        )
    finally:
        await server.shutdown()
    [event] = [e for e in logged if e["event"] == CHECKPOINT_EVENT]
    assert head.seq is not None and head.hash is not None
    assert event["checkpoint"] == f"{head.seq}:{head.hash.hex()}"
    # The sign-in, and maybe already the run of the sweep that starts with the server.
    assert event["entries"] == head.entries >= 1
    assert event["log_level"] == "info"
    assert verified.returncode == 0, verified.stderr


async def test_r7_an_entry_swapped_in_from_another_copy_of_the_chain_fails_verify(
    server: RunningServer, tamper: Database
) -> None:
    """Each entry alone is genuine (hashed with the key), but the one after it was chained
    to a different entry: only the link to the previous hash shows the splice."""
    audit = server.services.audit

    async def step(n: int) -> None:
        async with tamper.write() as conn:
            await audit.record(
                conn, AuditEvent("test.step", None, ActorRole.system, None, {"n": n})
            )

    for n in range(4):
        await step(n)
    [original] = [r for r in await _rows(tamper) if r["seq"] == 3]
    async with tamper.write() as conn:  # an older copy: from entry 3 on, another history
        await conn.execute(delete(audit_log).where(audit_log.c.seq >= 3))
    for n in range(10, 12):
        await step(n)
    assert (await obrolan_cli(server, "audit", "verify")).returncode == 0
    async with tamper.write() as conn:
        await conn.execute(delete(audit_log).where(audit_log.c.seq == 3))
        await conn.execute(insert(audit_log).values(**original))

    seq, entry_id, problem = _broken_at(await obrolan_cli(server, "audit", "verify"))

    [fourth] = [r for r in await _rows(tamper) if r["seq"] == 4]
    assert (seq, entry_id) == (4, fourth["id"]) and "does not follow" in problem
