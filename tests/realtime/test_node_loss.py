"""Losing a node loses nothing: three `obrolan serve` processes, one killed half-way.

PostgreSQL and Redis only: SQLite serves one process. Every client ends with every
acknowledged message exactly once, in the one order the stream gives them, whichever
node it was on and whichever node it reconnected to (docs/operations.md, Several nodes).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed

from tests.support.factories import User, make_room, make_user
from tests.support.nodes import (
    ServedNode,
    committed_messages,
    new_channel,
    postgres_only,
    serve_nodes,
)
from tests.support.ws import WsClient, close_all_sockets

CLIENTS = 30
SENDS_PER_CLIENT = 100
WINDOW = 8  # sends in flight per client
KILLED = 1  # the node killed once half of all messages are acknowledged
TIMEOUT_SECONDS = 120.0


class Member:
    """One person's client: sends on a schedule of its own, survives its node's death."""

    def __init__(self, user: User, room_id: str, node: ServedNode) -> None:
        self.user = user
        self.room_id = room_id
        self.node = node
        self.ws: WsClient | None = None
        self.seen: list[int] = []  # message.created positions in the room, as received
        self.position = 0  # the last position this client processed: where it resumes
        self.unacked: dict[str, str] = {}  # client_msg_id -> body
        self.acked: dict[str, int] = {}
        self.reconnects = 0

    async def connect(self, node: ServedNode, *, resume: bool = False) -> None:
        self.node = node
        since = self.position if resume else None
        self.ws = await WsClient.open(node.ws_url, self.user.token, since=since)
        if not resume:
            self.position = self.ws.ready["position"]

    def record(self, frame: dict[str, Any]) -> None:
        if frame.get("type") == "event":
            self.position = frame["position"]
        if frame.get("kind") == "message.created" and frame.get("room_id") == self.room_id:
            position = frame["position"]
            # Exactly once, in order: a repeat or a step back fails here, at once.
            assert not self.seen or position > self.seen[-1], (self.seen[-1], position)
            self.seen.append(position)

    async def send(self, client_msg_id: str) -> None:
        assert self.ws is not None
        await self.ws.send(
            {
                "type": "send",
                "id": client_msg_id,
                "room_id": self.room_id,
                "client_msg_id": client_msg_id,
                "body": self.unacked[client_msg_id],
            }
        )

    async def run(self, alive: Callable[[], list[ServedNode]], on_ack: Callable[[], None]) -> None:
        sent = 0
        while sent < SENDS_PER_CLIENT or self.unacked:
            try:
                while len(self.unacked) < WINDOW and sent < SENDS_PER_CLIENT:
                    client_msg_id = f"{self.user.username}-{sent}"
                    sent += 1
                    self.unacked[client_msg_id] = f"pesan {client_msg_id}"
                    await self.send(client_msg_id)
                assert self.ws is not None
                frame = await self.ws.recv(TIMEOUT_SECONDS)
            except ConnectionClosed:
                await self.reconnect(alive())
                continue
            self.record(frame)
            if frame.get("type") == "ack" and frame.get("id") in self.unacked:
                del self.unacked[frame["id"]]
                self.acked[frame["id"]] = frame["position"]
                on_ack()
            assert frame.get("type") != "error", frame

    async def reconnect(self, nodes: list[ServedNode]) -> None:
        """To another node, from the last position seen; retry what was not acknowledged
        under the same client_msg_id, so nothing is stored twice."""
        self.reconnects += 1
        await self.connect(next(n for n in nodes if n is not self.node), resume=True)
        for client_msg_id in list(self.unacked):
            await self.send(client_msg_id)

    async def read_until(self, last: int, alive: Callable[[], list[ServedNode]]) -> None:
        async with asyncio.timeout(TIMEOUT_SECONDS):
            while not self.seen or self.seen[-1] < last:
                try:
                    assert self.ws is not None
                    self.record(await self.ws.recv(TIMEOUT_SECONDS))
                except ConnectionClosed:
                    await self.reconnect(alive())


@pytest.mark.timeout(300)
async def test_f2_killing_one_of_three_nodes_loses_no_acknowledged_message(
    database_url: str, tmp_path: Path, redis_url: str
) -> None:
    postgres_only(database_url)
    nodes = await serve_nodes(3, database_url, tmp_path, redis_url, new_channel())
    dead: set[int] = set()

    def alive() -> list[ServedNode]:
        return [n for i, n in enumerate(nodes) if i not in dead]

    try:
        people = [
            await make_user(nodes[i % 3])  # type: ignore[arg-type]
            for i in range(CLIENTS)
        ]
        room = await make_room(people[0], "group", "Provinsi", members=people[1:])
        members = [Member(p, room["id"], nodes[i % 3]) for i, p in enumerate(people)]
        for member in members:
            await member.connect(member.node)

        acks = 0
        halfway = CLIENTS * SENDS_PER_CLIENT // 2

        def on_ack() -> None:
            nonlocal acks
            acks += 1
            if acks == halfway:
                nodes[KILLED].process.kill()  # SIGKILL: no goodbye, no flush
                dead.add(KILLED)

        await asyncio.gather(*(m.run(alive, on_ack) for m in members))
        assert dead == {KILLED}

        committed = await committed_messages(database_url, room["id"])
        # Retries carried their client_msg_id: nothing was stored twice.
        assert len(committed) == CLIENTS * SENDS_PER_CLIENT
        acknowledged = {p for m in members for p in m.acked.values()}
        assert acknowledged == set(committed)
        for member in members:
            await member.read_until(committed[-1], alive)
            assert member.seen == committed
        assert all(m.reconnects >= 1 for i, m in enumerate(members) if i % 3 == KILLED)
    finally:
        await close_all_sockets()
        for node in nodes:
            await node.shutdown()
