"""Migrations build exactly the schema the code declares, and undo cleanly."""

from __future__ import annotations

from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, inspect
from sqlalchemy.ext.asyncio import create_async_engine

from obrolan.db.migrate import alembic_config, upgrade
from obrolan.db.schema import metadata


async def test_migrated_database_matches_the_table_definitions(database_url: str) -> None:
    await upgrade(database_url)
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:

            def diff(sync_conn: Connection) -> list[Any]:
                context = MigrationContext.configure(sync_conn, opts={"compare_type": True})
                return list(compare_metadata(context, metadata))

            assert await conn.run_sync(diff) == []
    finally:
        await engine.dispose()


async def test_downgrade_to_base_removes_every_table(database_url: str) -> None:
    await upgrade(database_url)
    engine = create_async_engine(database_url)
    try:
        async with engine.begin() as conn:

            def downgrade(sync_conn: Connection) -> list[str]:
                cfg = alembic_config(database_url)
                cfg.attributes["connection"] = sync_conn
                command.downgrade(cfg, "base")
                return [t for t in inspect(sync_conn).get_table_names() if t != "alembic_version"]

            assert await conn.run_sync(downgrade) == []
    finally:
        await engine.dispose()
