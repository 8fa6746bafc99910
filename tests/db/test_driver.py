"""The hot path's statements run through the driver with positional rows: the tuples
the writer and the stream build must be in the columns' order, on both backends."""

from __future__ import annotations

import pytest
from sqlalchemy.dialects import sqlite
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect

from obrolan.chat import store as chat_store
from obrolan.db import driver
from obrolan.realtime import store as stream_store


@pytest.mark.parametrize("dialect", [sqlite.dialect(paramstyle="qmark"), asyncpg_dialect()])
def test_insert_rows_are_taken_in_the_tables_column_order(dialect: object) -> None:
    messages = driver.prepare(chat_store._insert_messages, dialect)  # type: ignore[arg-type]
    events = driver.prepare(stream_store._insert_events, dialect)  # type: ignore[arg-type]
    assert messages.names == chat_store.MESSAGE_COLUMNS
    assert events.names == stream_store.EVENT_COLUMNS


def test_a_value_the_statement_needs_must_be_given() -> None:
    lookup = driver.prepare(chat_store._sends_query, sqlite.dialect(paramstyle="qmark"))
    # The kinds and the state are written in the statement; the sends are not.
    with pytest.raises(KeyError):
        lookup.arguments({})
    assert "join" in lookup.arguments({"tuples3": "[]"})
