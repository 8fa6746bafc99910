"""The database handle: an async engine with read and write transactions.

Writes are serialised in-process by one lock. On SQLite that is the only way to have
one writer without busy-waiting threads; on both backends it makes commits, and the
publishing that follows each commit, happen in stream-position order, so a client never
sees position N+1 before N. Across processes (PostgreSQL) the event stream's advisory
lock does the same (obrolan.realtime.stream).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, get_args

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from obrolan.config import SqliteSynchronous


class Database:
    def __init__(
        self,
        url: str,
        *,
        sqlite_synchronous: SqliteSynchronous = "FULL",
        pool_size: int | None = None,
        max_overflow: int | None = None,
    ) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        self.write_lock = asyncio.Lock()
        if self.is_sqlite:
            ensure_sqlite_dir(url)
            self.engine: AsyncEngine = create_async_engine(
                url, pool_size=pool_size or 8, max_overflow=max_overflow or 0
            )
            _configure_sqlite(self.engine, sqlite_synchronous)
        else:
            self.engine = create_async_engine(
                url,
                pool_size=pool_size or 10,
                max_overflow=10 if max_overflow is None else max_overflow,
            )

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """A read-only transaction that sees one consistent snapshot on both backends.

        SQLite's deferred BEGIN reads one WAL snapshot, taken at the first query. On
        PostgreSQL the default READ COMMITTED takes a new snapshot per statement, so a
        read made of several queries (a page of history and its reactions, the rooms and
        their unread counts) could mix two states: REPEATABLE READ keeps the first one.
        """
        async with self.engine.connect() as conn:
            if not self.is_sqlite:
                conn = await conn.execution_options(
                    isolation_level="REPEATABLE READ", postgresql_readonly=True
                )
            async with conn.begin():
                yield conn

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncConnection]:
        """One write transaction, committed on exit, rolled back on error.

        Code that must act after the commit (publish events, resolve futures) and keep
        stream order runs inside `write_lock` after this context exits: see `transaction`
        in obrolan.realtime.stream.
        """
        async with self.writer() as conn, conn.begin():
            yield conn

    @asynccontextmanager
    async def writer(self) -> AsyncIterator[AsyncConnection]:
        """A connection for write transactions, which the caller begins (maybe several)."""
        async with self.engine.connect() as conn:
            yield await conn.execution_options(obrolan_write=True)

    @asynccontextmanager
    async def single_statement(self) -> AsyncIterator[AsyncConnection]:
        """A connection for one read-only statement run through the driver
        (obrolan.db.driver), outside any transaction: one statement sees one snapshot
        on either backend, so it needs no BEGIN and COMMIT, two more trips to the
        database (on SQLite, to aiosqlite's thread, each waiting for the GIL behind the
        event loop: under a storm of connects, most of a socket's connect time)."""
        async with self.engine.connect() as conn:
            yield conn

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.exec_driver_sql("SELECT 1")

    async def dispose(self) -> None:
        await self.engine.dispose()


def ensure_sqlite_dir(url: str) -> None:
    """Create the folder a SQLite database file lives in."""
    database = make_url(url).database
    if url.startswith("sqlite") and database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)


def _configure_sqlite(engine: AsyncEngine, synchronous: SqliteSynchronous) -> None:
    # The value is written into the PRAGMA: only SQLite's own words may get there.
    if synchronous not in get_args(SqliteSynchronous):
        raise ValueError(f"synchronous must be one of {get_args(SqliteSynchronous)}")
    sync_engine = engine.sync_engine

    @event.listens_for(sync_engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when a transaction begins (see "begin").
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        # First: the pragmas after it may wait for a lock another process (the CLI, the
        # server) holds, and should wait rather than fail with "database is locked".
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        # IMMEDIATE takes the write lock up front, so a write transaction never fails
        # half-way when another process (the CLI) writes at the same time.
        write = conn.get_execution_options().get("obrolan_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")
