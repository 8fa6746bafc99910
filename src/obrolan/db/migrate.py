"""Applying migrations from code (the CLI, `make run` and the test fixtures use this).

`upgrade` brings the key store (obrolan.crypto.keystore) and the main database up
together: the key store's table is created if missing, and keys still kept in the main
database's `user_keys` (revisions before 0009) are copied into it, committed, before
revision 0009_keystore drops that table.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, inspect, text
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from obrolan.crypto.keystore import KeyStore, KeyStoreLocation
from obrolan.db.database import ensure_sqlite_dir

MIGRATIONS = Path(__file__).parent / "migrations"
# Set by `upgrade` for revision 0009_keystore: the ids whose keys are already in the key store.
COPIED_KEYS = "obrolan.copied_data_keys"


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url)
    return cfg


async def upgrade(url: str, revision: str = "head", *, keystore_url: str = "") -> None:
    """Bring the database at `url`, and its key store, up to `revision`."""
    ensure_sqlite_dir(url)
    keystore = KeyStore(KeyStoreLocation.for_database(url, keystore_url))
    engine = create_async_engine(url)
    try:
        await keystore.create_if_missing()
        async with engine.begin() as conn:
            copied = await _copy_legacy_keys(conn, keystore)

            def _upgrade(sync_conn: Connection) -> None:
                cfg = alembic_config(url)
                cfg.attributes["connection"] = sync_conn
                cfg.attributes[COPIED_KEYS] = copied
                command.upgrade(cfg, revision)

            await conn.run_sync(_upgrade)
    finally:
        await engine.dispose()
        await keystore.dispose()


async def _copy_legacy_keys(conn: AsyncConnection, keystore: KeyStore) -> frozenset[str]:
    """Copy the keys of a database from before revision 0009 into the key store (R4)."""
    has_table = await conn.run_sync(lambda c: inspect(c).has_table("user_keys"))
    if not has_table:
        return frozenset()
    rows = await conn.execute(text("SELECT user_id, wrapped_key, created_at FROM user_keys"))
    legacy = [(uid, bytes(wrapped), _utc(created_at)) for uid, wrapped, created_at in rows]
    return frozenset(await keystore.insert_missing(legacy))


def _utc(value: object) -> datetime:
    """A created_at as read by plain SQL: naive UTC text or a datetime on SQLite."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if not isinstance(value, datetime):
        raise TypeError(f"unexpected created_at {value!r}")
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def upgrade_sync(url: str, revision: str = "head", *, keystore_url: str = "") -> None:
    asyncio.run(upgrade(url, revision, keystore_url=keystore_url))
