"""Stream positions never go backwards, and a `since` no server gave out is refused.

docs/protocol.md ("Connecting") and docs/operations.md ("Backups") say what holds.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import orjson
import pytest
from sqlalchemy.engine import make_url
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.conftest import POSTGRES_URL
from tests.support.factories import User, make_direct, make_user
from tests.support.server import RunningServer, create_postgres_database, drop_postgres_database
from tests.support.ws import WsClient


async def test_f2_since_past_every_position_handed_out_is_refused(server: RunningServer) -> None:
    ani, budi = await make_user(server), await make_user(server)
    room = await make_direct(ani, budi)
    ack = await (await WsClient.open(server.ws_url, ani.token)).send_message(room["id"], "x")
    ahead = ack["position"] + 1000

    async with connect(server.ws_url) as ws:
        await ws.send(orjson.dumps({"type": "hello", "token": budi.token, "since": ahead}).decode())
        error = orjson.loads(await ws.recv())
        assert error["type"] == "error"
        assert error["error"]["field"] == "since"
        assert error["error"]["type"].endswith("/since-ahead")
        with pytest.raises(ConnectionClosed) as closed:
            await ws.recv()
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4400


async def test_since_at_the_head_gets_every_live_event(server: RunningServer) -> None:
    ani, budi = await make_user(server), await make_user(server)
    room = await make_direct(ani, budi)
    a = await WsClient.open(server.ws_url, ani.token)
    head = (await a.send_message(room["id"], "x"))["position"]
    b = await WsClient.open(server.ws_url, budi.token, since=head)
    live = await a.send_message(room["id"], "y")
    got = await b.recv_event("message.created")
    assert got["position"] == live["position"] and got["data"]["body"] == "y"


class _Backup:
    """Takes a copy of the test server's database and puts it back, as an operator would."""

    def __init__(self, server: RunningServer, tmp_path: Path) -> None:
        self.url = server.settings.resolved_database_url
        self.file = tmp_path / "backup.db"
        self.name = f"{make_url(self.url).database}_backup"

    async def take(self) -> None:
        if self.url.startswith("sqlite"):
            # The documented way: SQLite's online backup (`sqlite3 … ".backup …"`).
            live = sqlite3.connect(str(make_url(self.url).database))
            copy = sqlite3.connect(str(self.file))
            with live, copy:
                live.backup(copy)
            live.close()
            copy.close()
        else:
            await create_postgres_database(POSTGRES_URL, self.name, template=self._live_name)

    async def restore(self) -> None:
        if self.url.startswith("sqlite"):
            _put_back(self.file, Path(str(make_url(self.url).database)))
        else:
            await create_postgres_database(POSTGRES_URL, self._live_name, template=self.name)
            await drop_postgres_database(POSTGRES_URL, self.name)

    @property
    def _live_name(self) -> str:
        return str(make_url(self.url).database)


def _put_back(copy: Path, live: Path) -> None:
    """The restore step for SQLite, with the server stopped: the copy replaces the file."""
    for extra in (Path(f"{live}-wal"), Path(f"{live}-shm")):
        extra.unlink(missing_ok=True)
    live.write_bytes(copy.read_bytes())


async def _say(sender: User, room_id: str, body: str) -> int:
    resp = await sender.http.post(
        f"/api/v1/rooms/{room_id}/messages", json={"client_msg_id": body, "body": body}
    )
    assert resp.status_code == 201, resp.text
    position: int = resp.json()["position"]
    return position


async def test_f2_after_restoring_an_older_backup_positions_still_only_grow(
    server: RunningServer, tmp_path: Path
) -> None:
    ani, budi = await make_user(server), await make_user(server)
    room = await make_direct(ani, budi)
    await _say(ani, room["id"], "before the backup")
    backup = _Backup(server, tmp_path)
    await server.stop()  # PostgreSQL copies a database only while no one is connected
    await backup.take()
    await server.start()

    # Budi sees two more messages; the backup does not have them.
    b = await WsClient.open(server.ws_url, budi.token)
    await _say(ani, room["id"], "after the backup")
    last_seen = await _say(ani, room["id"], "after the backup, again")
    assert (await b.recv_event("message.created"))["data"]["body"] == "after the backup"
    assert (await b.recv_event("message.created"))["position"] == last_seen
    await b.close()

    await server.stop()
    await backup.restore()
    await server.start()

    new = await _say(ani, room["id"], "after the restore")
    assert new > last_seen
    b = await WsClient.open(server.ws_url, budi.token, since=last_seen)
    got = await b.recv_event("message.created")
    assert got["position"] == new and got["data"]["body"] == "after the restore"
    await b.close()
