"""The key store: every person's wrapped data key, kept apart from the database (R4).

Erasing a person destroys their data key (crypto-shredding). That reaches a backup only
if the backup does not hold the key: were the wrapped keys in the main database, every
backup of it would bring an erased person's key back on restore. So they live in a
database of their own, which `obrolan backup create` never puts in a data backup:

- SQLite: a second file, `keys.db`, beside the database file (`<data_dir>/keys.db` by
  default). A data backup copies only the main file.
- PostgreSQL: the schema `obrolan_keys` in the same database, so one database still runs
  the server; data backups are `pg_dump --exclude-schema=obrolan_keys`.
- Or anywhere `OBROLAN_KEYSTORE_URL` names (a separate PostgreSQL database, or a SQLite
  file), for operators whose own backups copy the whole cluster or data dir.

The schema is one table, created if missing by `obrolan migrate` rather than by Alembic:
it has no history to migrate through, and a change to how keys are stored would be a new
table read beside this one (wrapped keys cannot be rewritten without the KEK anyway).
Its copies are made and kept by obrolan.privacy.backups. All of the key store's SQL is here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import Column, LargeBinary, MetaData, String, Table, delete, insert, select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection

from obrolan.db.base import NAMING_CONVENTION, UTCDateTime, data, system
from obrolan.db.database import Database

# The schema the key store lives in on PostgreSQL when it shares the main database.
POSTGRES_SCHEMA = "obrolan_keys"
SQLITE_FILE = "keys.db"
# Keys looked up or copied per statement: well under every backend's parameter limit.
_BATCH = 500

keystore_metadata = MetaData(naming_convention=NAMING_CONVENTION)

# One data key per person, stored only wrapped by the KEK. Deleting the row is
# crypto-shredding: every value sealed under the key becomes unreadable (R4).
data_keys = Table(
    "data_keys",
    keystore_metadata,
    Column(
        "user_id",
        String(26),
        primary_key=True,
        info=data("user.unique_id", "essential.service", "account"),
    ),
    Column("wrapped_key", LargeBinary, nullable=False, info=system("account")),
    Column("created_at", UTCDateTime, nullable=False, info=system("account")),
)


@dataclass(frozen=True, slots=True)
class KeyStoreLocation:
    """Where the key store is: a database URL and, on a shared PostgreSQL, its schema."""

    url: str
    schema: str | None = None

    @classmethod
    def for_database(cls, database_url: str, keystore_url: str = "") -> KeyStoreLocation:
        """The key store of the database at `database_url` (see the module docstring)."""
        if keystore_url:
            location = cls(keystore_url)
        elif database_url.startswith("sqlite"):
            database = make_url(database_url).database or ""
            if not database or database == ":memory:":
                raise ValueError("an in-memory SQLite database needs OBROLAN_KEYSTORE_URL")
            location = cls(f"sqlite+aiosqlite:///{Path(database).parent / SQLITE_FILE}")
        else:
            location = cls(database_url, POSTGRES_SCHEMA)
        if location.schema is None and _same_database(location.url, database_url):
            raise ValueError(
                "OBROLAN_KEYSTORE_URL must not be the database itself: the keys would be"
                " in every backup of it (R4)"
            )
        return location

    @property
    def is_sqlite(self) -> bool:
        return self.url.startswith("sqlite")


def _same_database(a: str, b: str) -> bool:
    ua, ub = make_url(a), make_url(b)
    if ua.get_backend_name() == "sqlite" and ub.get_backend_name() == "sqlite":
        return Path(ua.database or "").resolve() == Path(ub.database or "").resolve()
    return (ua.host, ua.port, ua.database) == (ub.host, ub.port, ub.database)


class KeyStore:
    """The wrapped data keys, in the key store's own database and connection pool."""

    def __init__(self, location: KeyStoreLocation) -> None:
        self.location = location
        # Small pool: one key read per request at most, and most are served from the
        # KeyRing's cache.
        self.db = Database(location.url, pool_size=4, max_overflow=4)
        self._options = {"schema_translate_map": {None: location.schema}} if location.schema else {}

    async def create_if_missing(self) -> None:
        async with self.db.writer() as conn, conn.begin():
            if self.location.schema is not None:
                await conn.exec_driver_sql(f'CREATE SCHEMA IF NOT EXISTS "{self.location.schema}"')
            conn = await self._translated(conn)
            await conn.run_sync(keystore_metadata.create_all, checkfirst=True)

    async def insert(self, user_id: str, wrapped: bytes, created_at: datetime) -> None:
        """Store a new key, committed before this returns."""
        async with self.db.write() as conn:
            conn = await self._translated(conn)
            await conn.execute(
                insert(data_keys).values(
                    user_id=user_id, wrapped_key=wrapped, created_at=created_at
                )
            )

    async def insert_missing(self, rows: Iterable[tuple[str, bytes, datetime]]) -> set[str]:
        """Store these keys, keeping any already stored; the ids now stored."""
        rows = list(rows)
        async with self.db.write() as conn:
            conn = await self._translated(conn)
            for start in range(0, len(rows), _BATCH):
                batch = rows[start : start + _BATCH]
                stored = await _stored_ids(conn, [uid for uid, _, _ in batch])
                new = [
                    {"user_id": uid, "wrapped_key": wrapped, "created_at": created_at}
                    for uid, wrapped, created_at in batch
                    if uid not in stored
                ]
                if new:
                    await conn.execute(insert(data_keys), new)
        return {uid for uid, _, _ in rows}

    async def wrapped_many(self, user_ids: Iterable[str]) -> dict[str, bytes]:
        ids = list(user_ids)
        async with self.db.read() as conn:
            conn = await self._translated(conn)
            rows = await conn.execute(
                select(data_keys.c.user_id, data_keys.c.wrapped_key).where(
                    data_keys.c.user_id.in_(ids)
                )
            )
            return {uid: wrapped for uid, wrapped in rows}

    async def all(self) -> list[tuple[str, bytes, datetime]]:
        """Every stored key (for the key store's own copies)."""
        async with self.db.read() as conn:
            conn = await self._translated(conn)
            rows = await conn.execute(
                select(
                    data_keys.c.user_id, data_keys.c.wrapped_key, data_keys.c.created_at
                ).order_by(data_keys.c.user_id)
            )
            return [(uid, wrapped, created_at) for uid, wrapped, created_at in rows]

    async def delete(self, user_id: str) -> None:
        """Delete a key, committed before this returns."""
        async with self.db.write() as conn:
            conn = await self._translated(conn)
            await conn.execute(delete(data_keys).where(data_keys.c.user_id == user_id))

    async def dispose(self) -> None:
        await self.db.dispose()

    async def _translated(self, conn: AsyncConnection) -> AsyncConnection:
        return await conn.execution_options(**self._options) if self._options else conn


async def _stored_ids(conn: AsyncConnection, user_ids: list[str]) -> set[str]:
    rows = await conn.execute(select(data_keys.c.user_id).where(data_keys.c.user_id.in_(user_ids)))
    return set(rows.scalars())
