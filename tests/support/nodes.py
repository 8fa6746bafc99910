"""Several obrolan nodes on one PostgreSQL database and one Redis, as a deployment runs them."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import sys
import uuid
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from obrolan.db import Database
from obrolan.db.migrate import upgrade
from obrolan.realtime.models import events
from tests.support.server import RunningServer, free_port, start_server

# How long a node process may take to listen: `--workers 2` starts three interpreters,
# which on a loaded 2-core machine (the whole suite beside it) took more than 30 s.
STARTUP_TIMEOUT_SECONDS = 60.0


def new_kek() -> str:
    """One key-encryption key for all the nodes: each opens the others' data keys."""
    return base64.b64encode(os.urandom(32)).decode()


def new_channel() -> str:
    """Pub/sub channels of this test alone: parallel tests share one Redis."""
    return f"obrolan-test-{uuid.uuid4().hex}"


async def start_nodes(
    count: int, database_url: str, tmp_path: Path, redis_url: str, channel: str
) -> list[RunningServer]:
    """`count` in-process servers, each with its own Services, engine and broker."""
    kek = new_kek()
    nodes = []
    for i in range(count):
        data_dir = tmp_path / f"node{i}"
        data_dir.mkdir()
        nodes.append(
            await start_server(
                database_url,
                data_dir,
                kek=kek,
                broker="redis",
                redis_url=redis_url,
                redis_channel=channel,
            )
        )
    return nodes


class ServedNode:
    """`obrolan serve` in a process of its own, with clients like RunningServer's."""

    def __init__(self, process: asyncio.subprocess.Process, port: int) -> None:
        self.process = process
        self.port = port
        self._clients: list[httpx.AsyncClient] = []
        self._drain: asyncio.Task[None] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    def http(self, token: str | None = None) -> httpx.AsyncClient:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        client = httpx.AsyncClient(base_url=self.base_url, headers=headers, timeout=10)
        self._clients.append(client)
        return client

    async def wait_started(self) -> None:
        """Read the node's log until uvicorn says it serves; then keep draining it."""
        assert self.process.stdout is not None
        async with asyncio.timeout(STARTUP_TIMEOUT_SECONDS):
            while True:
                line = await self.process.stdout.readline()
                if not line:
                    raise RuntimeError(f"obrolan serve exited with {await self.process.wait()}")
                if b"startup complete" in line:
                    break
        self._drain = asyncio.create_task(self._discard_log())

    async def _discard_log(self) -> None:
        # A full pipe would stop the node at its next log line.
        assert self.process.stdout is not None
        while await self.process.stdout.read(65536):
            pass

    async def shutdown(self) -> None:
        for client in self._clients:
            await client.aclose()
        if self.process.returncode is None:
            self.process.terminate()
            await self.process.wait()
        if self._drain is not None:
            with contextlib.suppress(Exception):
                await self._drain


async def serve_nodes(
    count: int,
    database_url: str,
    tmp_path: Path,
    redis_url: str,
    channel: str,
    *serve_args: str,
    extra_env: dict[str, str] | None = None,
) -> list[ServedNode]:
    """`count` real `obrolan serve` processes on one database and one Redis; `extra_env` adds
    or overrides settings for all of them."""
    await upgrade(database_url)
    kek = new_kek()
    nodes = []
    for i in range(count):
        port = free_port()
        env = {
            **os.environ,
            "OBROLAN_DATABASE_URL": database_url,
            "OBROLAN_DATA_DIR": str(tmp_path / f"node{i}"),
            "OBROLAN_KEK": kek,
            "OBROLAN_PORT": str(port),
            "OBROLAN_BROKER": "redis",
            "OBROLAN_REDIS_URL": redis_url,
            "OBROLAN_REDIS_CHANNEL": channel,
            "OBROLAN_LOG_LEVEL": "info",
            "OBROLAN_PASSWORD_TIME_COST": "1",
            "OBROLAN_PASSWORD_MEMORY_KIB": "1024",
            "OBROLAN_PASSWORD_PARALLELISM": "1",
            "OBROLAN_REGISTER_MAX_PER_IP": "10000",
            **(extra_env or {}),
        }
        process = await asyncio.create_subprocess_exec(
            str(Path(sys.executable).parent / "obrolan"),
            "serve",
            "--no-migrate",
            *serve_args,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        node = ServedNode(process, port)
        nodes.append(node)
        try:
            await node.wait_started()
        except BaseException:
            for started in nodes:
                await started.shutdown()
            raise
    return nodes


def postgres_only(database_url: str) -> None:
    if database_url.startswith("sqlite"):
        pytest.skip("several nodes need PostgreSQL; SQLite serves one process")


async def committed_messages(database_url: str, room_id: str) -> list[int]:
    """The positions of the room's message.created events, as committed."""
    db = Database(database_url)
    try:
        async with db.read() as conn:
            rows = await conn.execute(
                select(events.c.position)
                .where(events.c.room_id == room_id, events.c.kind == "message.created")
                .order_by(events.c.position)
            )
            return [int(r[0]) for r in rows]
    finally:
        await db.dispose()
