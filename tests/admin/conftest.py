"""Fixtures for administration tests: site administrators, made as the CLI makes them."""

from __future__ import annotations

import itertools

from tests.support.factories import PASSWORD, User, login
from tests.support.server import RunningServer

_counter = itertools.count(1)


async def make_admin(server: RunningServer, username: str | None = None) -> User:
    """A signed-in site administrator: registered through the service (as `obrolan admin
    create-user --admin` does, since no HTTP route makes one), signed in over HTTP."""
    username = username or f"admin{next(_counter)}"
    account = await server.services.accounts.register(
        username=username, password=PASSWORD, display_name=username.title(), is_admin=True
    )
    token = await login(server, username)
    return User(account.id, account.username, token, server.http(token), server)
