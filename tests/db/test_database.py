"""The database handle keeps the promises its docstrings make."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from obrolan.accounts.models import login_failures
from obrolan.db import Database
from obrolan.db.migrate import upgrade
from obrolan.ids import new_id


async def _failures(conn: AsyncConnection) -> int:
    count = await conn.execute(select(func.count()).select_from(login_failures))
    return int(count.scalar_one())


async def test_read_sees_one_snapshot_while_others_commit(database_url: str) -> None:
    await upgrade(database_url)
    db = Database(database_url)
    try:
        async with db.read() as conn:
            before = await _failures(conn)
            # Another connection commits a row in the middle of the read.
            async with db.write() as other:
                await other.execute(
                    insert(login_failures).values(
                        id=new_id(), scope="ip", key_hash=os.urandom(32), at=datetime.now(UTC)
                    )
                )
            during = await _failures(conn)
        async with db.read() as conn:
            after = await _failures(conn)
    finally:
        await db.dispose()

    assert during == before
    assert after == before + 1


def test_sqlite_synchronous_outside_sqlites_words_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="synchronous"):
        Database(f"sqlite+aiosqlite:///{tmp_path}/x.db", sqlite_synchronous="FULL; DROP")  # type: ignore[arg-type]
