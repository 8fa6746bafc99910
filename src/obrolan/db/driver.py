"""Statements the hot path runs straight through the database driver.

SQLAlchemy Core defines every statement, and everything off the hot path executes
through it. A send batch, though, inserts hundreds of rows a second, and SQLAlchemy's
per-row work (bind processors for every column, result rows with their processors) was
the largest part of a message's cost. A `Prepared` statement is compiled once per
dialect; it runs on the driver connection of the caller's SQLAlchemy transaction
(aiosqlite or asyncpg: the same connection, so the same transaction) with positional
parameters that are already in the driver's own types (`db_time`), and returns plain
tuples.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler


class Prepared:
    """One statement compiled for one dialect: its SQL and its parameters' order."""

    __slots__ = ("_defaults", "_names", "sql")

    def __init__(self, statement: ClauseElement, dialect: Dialect) -> None:
        # No expanding IN in these statements: its SQL depends on the values.
        compiled = statement.compile(dialect=dialect)
        assert isinstance(compiled, SQLCompiler)
        self.sql = compiled.string
        self._names: tuple[str, ...] = tuple(compiled.positiontup or ())
        # Literals written in the statement (a state, a kind): bound like any parameter.
        # (A parameter left without a value is one the caller must give.)
        self._defaults = {
            name: value
            for name, value in compiled.construct_params(_check=False).items()
            if value is not None
        }

    @property
    def names(self) -> tuple[str, ...]:
        return self._names

    def arguments(self, values: Mapping[str, Any]) -> tuple[Any, ...]:
        return tuple(values[n] if n in values else self._defaults[n] for n in self._names)


_prepared: dict[tuple[Callable[[str], ClauseElement], type[Dialect]], Prepared] = {}


def prepare(build: Callable[[str], ClauseElement], dialect: Dialect) -> Prepared:
    """The statement `build` makes for a dialect (by its name), compiled once per
    dialect class: the SQL and the parameters' style are the driver's."""
    key = (build, type(dialect))
    found = _prepared.get(key)
    if found is None:
        found = _prepared[key] = Prepared(build(dialect.name), dialect)
    return found


async def fetch(
    conn: AsyncConnection, prepared: Prepared, values: Mapping[str, Any]
) -> Sequence[Sequence[Any]]:
    """The rows the statement returns, as tuples of driver values."""
    driver = await _driver(conn)
    arguments = prepared.arguments(values)
    if conn.dialect.name == "sqlite":
        return list(await driver.execute_fetchall(prepared.sql, arguments))
    return list(await driver.fetch(prepared.sql, *arguments))


async def execute_many(
    conn: AsyncConnection, prepared: Prepared, rows: Sequence[Sequence[Any]]
) -> None:
    """Run the statement once per row: rows are tuples in `prepared.names` order."""
    if not rows:
        return
    driver = await _driver(conn)
    await driver.executemany(prepared.sql, rows)


def db_time(dialect: Dialect, at: datetime) -> Any:
    """A UTC datetime as the driver stores it for a UTCDateTime column.

    PostgreSQL takes the aware datetime. SQLite has no date type: SQLAlchemy stores the
    naive UTC time as text in this one format, which every reader parses back.
    """
    if dialect.name != "sqlite":
        return at
    at = at.astimezone(UTC)
    return (
        f"{at.year:04d}-{at.month:02d}-{at.day:02d} "
        f"{at.hour:02d}:{at.minute:02d}:{at.second:02d}.{at.microsecond:06d}"
    )


async def _driver(conn: AsyncConnection) -> Any:
    """The driver's own connection (aiosqlite.Connection, asyncpg.Connection), inside
    the caller's transaction."""
    raw = await conn.get_raw_connection()
    adapted: Any = raw.dbapi_connection
    # SQLAlchemy's asyncpg adapter sends BEGIN only with its first statement; one sent
    # past it must not run outside the caller's transaction. (On SQLite the BEGIN
    # IMMEDIATE has gone out already: see obrolan.db.database. A connection that began
    # no transaction runs its one statement on its own: Database.single_statement.)
    if (
        conn.dialect.name == "postgresql"
        and conn.in_transaction()
        and getattr(adapted, "_transaction", True) is None
    ):
        await adapted._start_transaction()
    return raw.driver_connection
