"""Shared fixtures: a real obrolan server on a free port, real HTTP and WebSocket clients.

Every test that takes `server` runs once per database backend: SQLite always, and the
PostgreSQL named by OBROLAN_TEST_POSTGRES_URL (default: the local one) when it answers.
With OBROLAN_REQUIRE_SERVICES=1 (as in CI) an unreachable PostgreSQL fails the test
instead of skipping it.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import pytest

from tests.support.server import (
    RunningServer,
    create_postgres_database,
    drop_postgres_database,
    start_server,
)

POSTGRES_URL = os.environ.get(
    "OBROLAN_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
REQUIRE_SERVICES = os.environ.get("OBROLAN_REQUIRE_SERVICES") == "1"


@pytest.fixture(params=["sqlite", "postgresql"])
async def database_url(request: pytest.FixtureRequest, tmp_path) -> AsyncIterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'obrolan.db'}"
        return
    name = f"obrolan_test_{os.getpid()}"
    try:
        url = await create_postgres_database(POSTGRES_URL, name)
    except OSError as exc:
        if REQUIRE_SERVICES:
            pytest.fail(f"PostgreSQL at {POSTGRES_URL} is required but unreachable: {exc}")
        pytest.skip(f"PostgreSQL at {POSTGRES_URL} unreachable: {exc}")
    yield url
    await drop_postgres_database(POSTGRES_URL, name)


@pytest.fixture
async def server(database_url: str, tmp_path) -> AsyncIterator[RunningServer]:
    running = await start_server(database_url, tmp_path)
    try:
        yield running
    finally:
        await running.shutdown()
