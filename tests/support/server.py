"""Starting obrolan for tests: a real uvicorn server on a free port, in the test's loop."""

from __future__ import annotations

import asyncio
import base64
import os
import socket
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import httpx
import uvicorn

from obrolan.app import create_app
from obrolan.cli import uvicorn_options
from obrolan.clock import Clock
from obrolan.config import Settings
from obrolan.db.migrate import upgrade
from obrolan.ops.logging import configure_logging
from tests.support.ws import close_all_sockets

# Test clients speak plain HTTP to 127.0.0.1, but each httpx client would still build an
# SSL context and load the CA bundle (about 17 ms of CPU, several times a test): they
# share this one instead.
_SSL_CONTEXT = ssl.create_default_context()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _admin(admin_url: str, *statements: str) -> None:
    conn = await asyncpg.connect(
        admin_url.replace("postgresql+asyncpg://", "postgresql://"), timeout=5
    )
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


async def create_postgres_database(admin_url: str, name: str, template: str | None = None) -> str:
    """A fresh PostgreSQL database `name` (dropped first if left over), empty or a
    copy of `template`; its URL."""
    create = f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")
    await _admin(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', create)
    base, _, _ = admin_url.rpartition("/")
    return f"{base}/{name}"


async def drop_postgres_database(admin_url: str, name: str) -> None:
    await _admin(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class _Uvicorn(uvicorn.Server):
    """uvicorn's server, stopping as soon as it is asked to.

    uvicorn notices `should_exit` on its next 0.1 s tick, then gives connections a fixed
    0.1 s before it waits for their requests: about 0.15 s of every test's teardown. This
    one is woken by an event and waits for the requests still running, nothing more.
    """

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self._exit_requested = asyncio.Event()

    def request_exit(self) -> None:
        self.should_exit = True
        self._exit_requested.set()

    async def main_loop(self) -> None:
        await self.on_tick(0)  # what uvicorn's first tick does: the default headers
        await self._exit_requested.wait()

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        for server in self.servers:
            server.close()
        for connection in list(self.server_state.connections):
            connection.shutdown()  # idle keep-alives close; sockets get close code 1012
        if self.server_state.tasks:
            _, running = await asyncio.wait(
                list(self.server_state.tasks), timeout=self.config.timeout_graceful_shutdown
            )
            for task in running:
                task.cancel()
        await self.lifespan.shutdown()


@dataclass
class RunningServer:
    settings: Settings
    clock: Clock | None
    port: int = 0
    _server: _Uvicorn | None = None
    _task: asyncio.Task[None] | None = None
    app: object = field(default=None)
    # Clients handed out by http(): closed when the test's server stops for good.
    _clients: list[httpx.AsyncClient] = field(default_factory=list)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    def http(self, token: str | None = None) -> httpx.AsyncClient:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        client = httpx.AsyncClient(
            base_url=self.base_url, headers=headers, timeout=10, verify=_SSL_CONTEXT
        )
        self._clients.append(client)
        return client

    async def start(self) -> None:
        self.port = free_port()
        self.app = create_app(self.settings, clock=self.clock)
        options = uvicorn_options(self.settings)
        options["loop"] = "none"  # the test's own event loop
        # A client idle across a slow step (a CLI process) must not find its kept-alive
        # connection closed by the server at the moment it sends on it.
        options["timeout_keep_alive"] = 300
        config = uvicorn.Config(
            self.app, host="127.0.0.1", port=self.port, log_level="warning", **options
        )
        self._server = _Uvicorn(config)
        self._task = asyncio.create_task(self._server.serve())
        while not self._server.started:
            if self._task.done():
                self._task.result()  # raises the start-up error
            await asyncio.sleep(0.01)
        for client in self._clients:  # clients made before a restart follow the new port
            client.base_url = httpx.URL(self.base_url)

    async def stop(self) -> None:
        if self._server is not None and self._task is not None:
            self._server.request_exit()
            await self._task
            self._server = None
            self._task = None

    async def restart(self) -> None:
        """Stop and start again on the same database and key, on a new port.

        Clients made before keep working: their base URL follows the new port.
        """
        await self.stop()
        await self.start()

    async def shutdown(self) -> None:
        """Stop the server and close every client and socket the test opened."""
        await close_all_sockets()
        for client in self._clients:
            await client.aclose()
        await self.stop()

    @property
    def services(self):  # type: ignore[no-untyped-def]
        return self.app.state.services  # type: ignore[attr-defined]


async def start_server(
    database_url: str, tmp_path: Path, *, clock: Clock | None = None, **overrides: object
) -> RunningServer:
    # The test's own key store, beside its SQLite copy or in its PostgreSQL copy's schema.
    await upgrade(database_url, keystore_url=str(overrides.get("keystore_url", "")))
    values: dict[str, object] = {
        "database_url": database_url,
        "data_dir": tmp_path,
        "kek": base64.b64encode(os.urandom(32)).decode(),
        "log_json": True,
        "log_level": "warning",
        # Cheap argon2id so the suite is fast; production uses the RFC 9106 defaults.
        "password_time_cost": 1,
        "password_memory_kib": 1024,
        "password_parallelism": 1,
        # Every test signs its people up from 127.0.0.1.
        "register_max_per_ip": 10_000,
        **overrides,
    }
    settings = Settings(**values)  # type: ignore[arg-type]
    # Logged as `obrolan serve` logs: without this, structlog's development defaults print
    # every request and draw each logged exception as a highlighted traceback (a second).
    configure_logging(settings.log_level, json=settings.log_json)
    running = RunningServer(settings=settings, clock=clock)
    await running.start()
    return running


@asynccontextmanager
async def serving(app: object) -> AsyncIterator[str]:
    """Any ASGI app (a business's own webhook receiver, say) on a free port of this loop:
    its base URL while the block runs."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", loop="none")  # type: ignore[arg-type]
    server = _Uvicorn(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.request_exit()
        await task
