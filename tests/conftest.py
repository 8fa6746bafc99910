"""Shared fixtures: a real obrolan server on a free port, real HTTP and WebSocket clients.

Every test that takes `server` runs once per database backend: SQLite always, and the
PostgreSQL named by OBROLAN_TEST_POSTGRES_URL (default: the local one) when it answers.
With OBROLAN_REQUIRE_SERVICES=1 (as in CI) an unreachable PostgreSQL fails the test
instead of skipping it; so does an unreachable Redis (OBROLAN_TEST_REDIS_URL, default
the local one) for the tests of several nodes, which take `redis_url`.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from redis.asyncio import Redis
from redis.exceptions import RedisError

from obrolan.db.migrate import upgrade_sync
from tests.support.outbound import SmsGatewayStandIn, SmtpServer
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
REDIS_URL = os.environ.get("OBROLAN_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite database, made once per test process and copied for each test."""
    path = tmp_path_factory.mktemp("template") / "obrolan.db"
    upgrade_sync(f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[str | None]:
    """A migrated PostgreSQL database to clone per test; None when PostgreSQL is absent."""
    name = f"obrolan_template_{os.getpid()}"
    try:
        url = asyncio.run(create_postgres_database(POSTGRES_URL, name))
    except OSError as exc:
        if REQUIRE_SERVICES:
            pytest.fail(f"PostgreSQL at {POSTGRES_URL} is required but unreachable: {exc}")
        yield None
        return
    upgrade_sync(url)
    yield name
    asyncio.run(drop_postgres_database(POSTGRES_URL, name))


@pytest.fixture(params=["sqlite", "postgresql"])
async def database_url(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    sqlite_template: Path,
    postgres_template: str | None,
) -> AsyncIterator[str]:
    """A fresh, migrated database for one test, on each backend."""
    if request.param == "sqlite":
        shutil.copy(sqlite_template, tmp_path / "obrolan.db")
        yield f"sqlite+aiosqlite:///{tmp_path / 'obrolan.db'}"
        return
    if postgres_template is None:
        pytest.skip(f"PostgreSQL at {POSTGRES_URL} unreachable")
    name = f"obrolan_test_{os.getpid()}"
    url = await create_postgres_database(POSTGRES_URL, name, template=postgres_template)
    yield url
    await drop_postgres_database(POSTGRES_URL, name)


@pytest.fixture
async def server(database_url: str, tmp_path: Path) -> AsyncIterator[RunningServer]:
    running = await start_server(database_url, tmp_path)
    try:
        yield running
    finally:
        await running.shutdown()


@pytest.fixture
async def redis_url() -> str:
    """The test Redis, once it answers. Tests share it: each names its own channels."""
    client = Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        await client.ping()
    except (OSError, RedisError) as exc:
        if REQUIRE_SERVICES:
            pytest.fail(f"Redis at {REDIS_URL} is required but unreachable: {exc}")
        pytest.skip(f"Redis at {REDIS_URL} unreachable")
    finally:
        await client.aclose()
    return REDIS_URL


@pytest.fixture
async def smtp() -> AsyncIterator[SmtpServer]:
    """A real local SMTP server that keeps what obrolan mails."""
    server = SmtpServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def sms_gateway() -> AsyncIterator[SmsGatewayStandIn]:
    """The SMS gateway's named stand-in: a real HTTP server that keeps what it is sent."""
    gateway = SmsGatewayStandIn()
    await gateway.start()
    try:
        yield gateway
    finally:
        await gateway.stop()
