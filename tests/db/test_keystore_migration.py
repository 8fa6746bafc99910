"""R4: `obrolan migrate` moves the keys of a database from before 0009 into the key store.

A deployment that kept its wrapped keys in `user_keys` keeps every person's data
readable through the move, and `user_keys` is gone afterwards.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Connection, inspect, text
from sqlalchemy.ext.asyncio import create_async_engine
from typer.testing import CliRunner

from obrolan.cli import app
from obrolan.crypto.keystore import POSTGRES_SCHEMA
from obrolan.db.migrate import alembic_config
from tests.support.factories import make_user
from tests.support.server import start_server


async def _alembic(url: str, action: str, revision: str) -> None:
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:

            def run(sync_conn: Connection) -> None:
                cfg = alembic_config(url)
                cfg.attributes["connection"] = sync_conn
                getattr(command, action)(cfg, revision)

            await conn.run_sync(run)
    finally:
        await engine.dispose()


async def _as_before_0009(url: str, keys: list[tuple[str, bytes, object]], tmp_path: Path) -> None:
    """The database as 0007 left it: the wrapped keys in user_keys, no key store."""
    await _alembic(url, "downgrade", "0007_verification")
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(
                text("INSERT INTO user_keys VALUES (:user_id, :wrapped_key, :created_at)"),
                [{"user_id": u, "wrapped_key": w, "created_at": c} for u, w, c in keys],
            )
            if not url.startswith("sqlite"):
                await conn.exec_driver_sql(f"DROP SCHEMA {POSTGRES_SCHEMA} CASCADE")
    finally:
        await engine.dispose()
    if url.startswith("sqlite"):
        (tmp_path / "keys.db").unlink()


async def _tables(url: str) -> set[str]:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            return set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
    finally:
        await engine.dispose()


async def test_r4_migrate_moves_the_keys_of_a_0007_database_into_the_key_store(
    database_url: str, tmp_path: Path
) -> None:
    first = await start_server(database_url, tmp_path)
    try:
        siti = await make_user(first, display_name="Siti Aminah", email="siti@contoh.co.id")
        keys = await first.services.keystore.all()
        token = siti.token
    finally:
        await first.shutdown()
    assert len(keys) == 1
    await _as_before_0009(database_url, keys, tmp_path)

    # Plain alembic does not know the key store: it refuses to drop keys not copied.
    # (To 0008 first: SQLite's DDL is not transactional under pysqlite, so a refusal
    # after 0008 in the same run would leave 0008's tables without its version row.)
    await _alembic(database_url, "upgrade", "0008_privacy")
    with pytest.raises(RuntimeError, match="obrolan migrate"):
        await _alembic(database_url, "upgrade", "head")
    assert "user_keys" in await _tables(database_url)
    await _alembic(database_url, "downgrade", "0007_verification")

    env: dict[str, str | None] = {k: None for k in os.environ if k.startswith("OBROLAN_")}
    env |= {"OBROLAN_DATABASE_URL": database_url, "OBROLAN_DATA_DIR": str(tmp_path)}
    env["OBROLAN_KEK"] = first.settings.kek
    migrated = await asyncio.to_thread(CliRunner().invoke, app, ["migrate"], env=env)
    assert migrated.exit_code == 0, migrated.output

    assert "user_keys" not in await _tables(database_url)
    second = await start_server(database_url, tmp_path, kek=first.settings.kek)
    try:
        assert [k[:2] for k in await second.services.keystore.all()] == [k[:2] for k in keys]
        me = (await second.http(token).get("/api/v1/me")).json()
        assert (me["display_name"], me["email"]) == ("Siti Aminah", "siti@contoh.co.id")
    finally:
        await second.shutdown()
