"""Fixtures for account tests: a server on a fake clock with tight sign-in limits, and people."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from obrolan.clock import FakeClock
from tests.support.factories import User, make_user
from tests.support.server import RunningServer, start_server

ACCOUNT_LIMIT = 3
IP_LIMIT = 2 * ACCOUNT_LIMIT + 1  # two accounts can be locked before the address is
WINDOW_SECONDS = 600

MakePerson = Callable[..., Awaitable[User]]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def clocked_server(
    database_url: str, tmp_path: Path, clock: FakeClock
) -> AsyncIterator[RunningServer]:
    """A server whose time moves only when the test says, with small sign-in limits (R17)."""
    running = await start_server(
        database_url,
        tmp_path,
        clock=clock,
        login_max_failures_per_account=ACCOUNT_LIMIT,
        login_max_failures_per_ip=IP_LIMIT,
        login_window_seconds=WINDOW_SECONDS,
    )
    try:
        yield running
    finally:
        await running.stop()


@pytest.fixture
async def person() -> AsyncIterator[MakePerson]:
    """`await person(server, "ani", email=...)`: a signed-in person, closed after the test."""
    made: list[User] = []

    async def build(server: RunningServer, username: str | None = None, **fields: Any) -> User:
        user = await make_user(server, username, **fields)
        made.append(user)
        return user

    yield build
    for user in made:
        await user.aclose()
