"""Several nodes on one PostgreSQL database and one Redis: one ordered stream, every socket.

PostgreSQL only: SQLite serves one process.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from websockets.exceptions import ConnectionClosed

from obrolan.clock import Clock
from obrolan.db import Database
from obrolan.realtime.hub import Hub, LocalBroker
from obrolan.realtime.stream import EventStream, NewEvent
from tests.support.factories import PASSWORD, make_room, make_user
from tests.support.nodes import (
    committed_messages,
    new_channel,
    postgres_only,
    serve_nodes,
    start_nodes,
)
from tests.support.server import RunningServer, free_port
from tests.support.ws import WsClient, close_all_sockets

SENDERS_PER_NODE = 6
SENDS_PER_SOCKET = 100
# Sends in flight per socket at once.
WINDOW = 4
DELIVERY_TIMEOUT_SECONDS = 60.0

_ids = itertools.count(1)


async def _pipeline(
    ws: WsClient, room_id: str, count: int, seen: list[int], window: int = 64
) -> list[int]:
    """Send `count` messages, `window` at a time without waiting; their acks' positions.
    The message.created positions that arrive meanwhile go to `seen`.

    A small window makes many small transactions: many chances for two writers' commits
    to interleave.
    """
    positions: list[int] = []
    while len(positions) < count:
        ids = [f"pipe-{next(_ids)}" for _ in range(min(window, count - len(positions)))]
        for request_id in ids:
            await ws.send(
                {
                    "type": "send",
                    "id": request_id,
                    "room_id": room_id,
                    "client_msg_id": request_id,
                    "body": f"pesan {request_id}",
                }
            )
        acks: dict[str, int] = {}
        async with asyncio.timeout(DELIVERY_TIMEOUT_SECONDS):
            while len(acks) < len(ids):
                frame = await ws.recv(DELIVERY_TIMEOUT_SECONDS)
                _record(frame, room_id, seen)
                if frame.get("type") in ("ack", "error") and frame.get("id") in ids:
                    assert frame["type"] == "ack", frame
                    acks[frame["id"]] = frame["position"]
        positions.extend(acks[i] for i in ids)
    return positions


async def _read_until(ws: WsClient, room_id: str, last: int, seen: list[int]) -> list[int]:
    """Record message.created positions in the room until `last` has arrived."""
    async with asyncio.timeout(DELIVERY_TIMEOUT_SECONDS):
        while not seen or seen[-1] < last:
            _record(await ws.recv(DELIVERY_TIMEOUT_SECONDS), room_id, seen)
    return seen


def _record(frame: dict[str, Any], room_id: str, seen: list[int]) -> None:
    if frame.get("kind") == "message.created" and frame.get("room_id") == room_id:
        seen.append(frame["position"])


async def test_two_processes_writing_at_once_publish_in_commit_order(
    database_url: str, tmp_path: Path, redis_url: str
) -> None:
    postgres_only(database_url)
    nodes = await serve_nodes(2, database_url, tmp_path, redis_url, new_channel())
    try:
        # Factories speak HTTP to whatever has `http()`; these are processes of their own.
        owner = await make_user(nodes[0])  # type: ignore[arg-type]
        readers = [await make_user(node) for node in nodes]  # type: ignore[arg-type]
        senders = [
            [await make_user(node) for _ in range(SENDERS_PER_NODE)]  # type: ignore[arg-type]
            for node in nodes
        ]
        room = await make_room(owner, members=readers + [s for group in senders for s in group])
        reading = [
            await WsClient.open(node.ws_url, r.token)
            for node, r in zip(nodes, readers, strict=True)
        ]
        sending = [
            await WsClient.open(node.ws_url, s.token)
            for node, group in zip(nodes, senders, strict=True)
            for s in group
        ]
        seen: list[list[int]] = [[] for _ in sending]
        acked = await asyncio.gather(
            *(
                _pipeline(ws, room["id"], SENDS_PER_SOCKET, out, window=WINDOW)
                for ws, out in zip(sending, seen, strict=True)
            )
        )
        committed = await committed_messages(database_url, room["id"])
        assert sorted(p for positions in acked for p in positions) == committed
        for ws in reading:
            # Every position, in order: none published before a smaller one committed.
            assert await _read_until(ws, room["id"], committed[-1], []) == committed
        for ws, out in zip(sending, seen, strict=True):
            assert await _read_until(ws, room["id"], committed[-1], out) == committed
    finally:
        await close_all_sockets()
        for node in nodes:
            await node.shutdown()


@pytest.fixture
async def three_nodes(database_url: str, tmp_path: Path, redis_url: str) -> Any:
    postgres_only(database_url)
    nodes = await start_nodes(3, database_url, tmp_path, redis_url, new_channel())
    try:
        yield nodes
    finally:
        for node in nodes:
            await node.shutdown()


async def test_f2_three_nodes_deliver_every_message_once_in_one_order(
    three_nodes: list[RunningServer],
) -> None:
    people = [await make_user(node) for node in three_nodes]
    room = await make_room(people[0], members=people[1:])
    sockets = [
        await WsClient.open(node.ws_url, p.token)
        for node, p in zip(three_nodes, people, strict=True)
    ]
    seen: list[list[int]] = [[] for _ in sockets]
    acked = await asyncio.gather(
        *(_pipeline(ws, room["id"], 40, out) for ws, out in zip(sockets, seen, strict=True))
    )
    every = sorted(p for positions in acked for p in positions)
    for ws, out in zip(sockets, seen, strict=True):
        assert await _read_until(ws, room["id"], every[-1], out) == every

    await sockets[0].send({"type": "typing", "room_id": room["id"], "typing": True})
    typing = await sockets[2].recv_type("typing")
    assert typing["user_id"] == people[0].id and typing["typing"] is True


async def test_r17_a_session_revoked_on_one_node_closes_its_socket_on_another(
    three_nodes: list[RunningServer],
) -> None:
    node_a, node_b, _ = three_nodes
    citra = await make_user(node_a, "citra")
    async with node_b.http() as http:
        signed_in = await http.post(
            "/api/v1/sessions", json={"username": "citra", "password": PASSWORD}
        )
    assert signed_in.status_code == 201, signed_in.text
    phone = signed_in.json()
    socket = await WsClient.open(node_b.ws_url, phone["token"])
    revoked = await citra.http.delete(f"/api/v1/sessions/{phone['session']['id']}")
    assert revoked.status_code == 204
    with pytest.raises(ConnectionClosed) as closed:
        await socket.recv_until(lambda _frame: False)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401


async def test_r17_a_session_revoked_on_one_node_is_refused_at_hello_on_another(
    three_nodes: list[RunningServer],
) -> None:
    """Node B keeps a hint of the token from the first connect; the revocation is made
    on node A, so B's hint stays, and B's read after registering refuses the hello."""
    node_a, node_b, _ = three_nodes
    dewi = await make_user(node_a, "dewi")
    async with node_b.http() as http:
        signed_in = await http.post(
            "/api/v1/sessions", json={"username": "dewi", "password": PASSWORD}
        )
    assert signed_in.status_code == 201, signed_in.text
    phone = signed_in.json()
    await (await WsClient.open(node_b.ws_url, phone["token"])).close()
    revoked = await dewi.http.delete(f"/api/v1/sessions/{phone['session']['id']}")
    assert revoked.status_code == 204
    with pytest.raises(ConnectionClosed) as closed:
        await WsClient.open(node_b.ws_url, phone["token"])
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401


async def test_a_batch_missed_on_redis_is_read_from_the_database(
    database_url: str, tmp_path: Path, redis_url: str
) -> None:
    postgres_only(database_url)
    (node,) = await start_nodes(1, database_url, tmp_path, redis_url, new_channel())
    side = Database(database_url)
    try:
        ani, budi = await make_user(node, "ani"), await make_user(node, "budi")
        room = await make_room(ani, members=[budi])
        sender = await WsClient.open(node.ws_url, ani.token)
        reader = await WsClient.open(node.ws_url, budi.token)
        # Committed like any event, but told only to a hub of its own: Redis never
        # carries it, and the next batch's `after` shows the node that it missed it.
        unpublished = EventStream(side, LocalBroker(Hub()), Clock())
        async with unpublished.transaction() as tx:
            tx.append(NewEvent("test.missed", room["id"], None, {"n": 1}))
            (missed,) = await tx.write_events()
        ack = await sender.send_message(room["id"], "after the missed one")
        frames = []
        async with asyncio.timeout(10):
            while not frames or frames[-1]["position"] < ack["position"]:
                frame = await reader.recv_type("event")
                frames.append(frame)
        assert [(f["kind"], f["position"]) for f in frames[-2:]] == [
            ("test.missed", missed),
            ("message.created", ack["position"]),
        ]
        # Exactly once: the next live message comes next, nothing repeated before it.
        nxt = await sender.send_message(room["id"], "and one more")
        assert (await reader.recv_type("event"))["position"] == nxt["position"]
        # What an operator watches: the catch-up counted, and nothing left undelivered.
        async with node.http() as http:
            text = (await http.get("/metrics")).text
        values = {
            sample.name: sample.value
            for family in text_string_to_metric_families(text)
            for sample in family.samples
        }
        assert values["obrolan_broker_catch_ups_total"] == 1
        assert values["obrolan_stream_delivered_position"] == nxt["position"]
        assert values["obrolan_stream_committed_position"] == nxt["position"]
    finally:
        await side.dispose()
        await node.shutdown()


async def test_a_node_that_lost_redis_catches_up_from_the_database(
    database_url: str, tmp_path: Path, redis_url: str
) -> None:
    postgres_only(database_url)
    channel = new_channel()
    (node,) = await start_nodes(1, database_url, tmp_path, redis_url, channel)
    redis = Redis.from_url(redis_url)
    try:
        ani, budi = await make_user(node, "ani"), await make_user(node, "budi")
        room = await make_room(ani, members=[budi])
        sender = await WsClient.open(node.ws_url, ani.token)
        reader = await WsClient.open(node.ws_url, budi.token)
        # Cut the node's subscription, as a Redis restart or a network fault would. The
        # node waits a moment before it subscribes again: the send below is published
        # meanwhile, and reaches the reader from the database.
        name = node.services.broker.subscriber_name
        (subscriber,) = [c for c in await redis.client_list() if c["name"] == name]
        assert await redis.client_kill_filter(_id=subscriber["id"]) == 1
        ack = await sender.send_message(room["id"], "while the node was away")
        assert ack["type"] == "ack"
        assert (await reader.recv_event("message.created", timeout=10))["position"] == (
            ack["position"]
        )
        nxt = await sender.send_message(room["id"], "back to live")
        assert (await reader.recv_type("event"))["position"] == nxt["position"]
    finally:
        await redis.aclose()
        await node.shutdown()


def _worker_processes(pid: int) -> list[int]:
    """The multiprocessing workers whose parent is `pid` (Linux /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                if int(fields[1]) == pid and b"spawn_main" in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
    return found


async def test_serve_with_two_workers_delivers_every_message_in_one_order(
    database_url: str, tmp_path: Path, redis_url: str
) -> None:
    """`obrolan serve --workers 2`: two processes on one port, sockets on both."""
    postgres_only(database_url)
    [node] = await serve_nodes(
        1, database_url, tmp_path, redis_url, new_channel(), "--workers", "2"
    )
    try:
        assert len(_worker_processes(node.process.pid)) == 2
        people = [await make_user(node) for _ in range(8)]  # type: ignore[arg-type]
        room = await make_room(people[0], members=people[1:])
        sockets = [await WsClient.open(node.ws_url, p.token) for p in people]
        seen: list[list[int]] = [[] for _ in sockets]
        await asyncio.gather(
            *(_pipeline(ws, room["id"], 20, out) for ws, out in zip(sockets, seen, strict=True))
        )
        committed = await committed_messages(database_url, room["id"])
        assert len(committed) == 8 * 20
        for ws, out in zip(sockets, seen, strict=True):
            assert await _read_until(ws, room["id"], committed[-1], out) == committed
    finally:
        await close_all_sockets()
        await node.shutdown()


async def test_r17_the_sixth_wrong_password_is_stopped_whichever_node_it_reaches(
    three_nodes: list[RunningServer],
) -> None:
    """Failed sign-ins are counted in the shared database, so no node has its own count."""
    await make_user(three_nodes[0], "dewi")
    limit = three_nodes[0].settings.login_max_failures_per_account
    answers = []
    for attempt in range(limit + 1):
        node = three_nodes[attempt % len(three_nodes)]
        async with node.http() as http:
            resp = await http.post(
                "/api/v1/sessions", json={"username": "dewi", "password": "salah salah salah"}
            )
        answers.append(resp.status_code)
    assert answers == [401] * limit + [429]
    # The right password too, on a node that saw none of the guesses' answers.
    async with three_nodes[1].http() as http:
        right = await http.post("/api/v1/sessions", json={"username": "dewi", "password": PASSWORD})
    assert right.status_code == 429


async def _presence_before_typing(ws: WsClient, user_id: str, marker: str) -> list[str]:
    """The presence statuses of `user_id` that reach `ws` before `marker`'s typing frame.

    Redis hands each subscriber its messages in the order it ran the commands that
    published them, so a typing frame published after a state was reached comes after
    every presence frame published on the way to it.
    """
    statuses = []
    async with asyncio.timeout(10):
        while True:
            frame = await ws.recv(10)
            if frame.get("type") == "typing" and frame.get("user_id") == marker:
                return statuses
            if frame.get("type") == "presence" and frame.get("user_id") == user_id:
                statuses.append(frame["status"])


async def _wait_for_holders(
    redis: Redis, node: RunningServer, user_id: str, want: set[str]
) -> None:
    """Until Redis counts `user_id` as held by exactly the nodes `want`."""
    key = node.services.broker.presence.prefix + user_id
    async with asyncio.timeout(10):
        while True:
            if {m.decode() for m in await redis.zrange(key, 0, -1)} == want:
                return
            await asyncio.sleep(0.02)


async def test_f2_presence_is_one_online_and_one_offline_across_nodes(
    three_nodes: list[RunningServer], redis_url: str
) -> None:
    """F2: Ani on nodes A and B at once is one person to Budi on C: one `online` when
    her first socket anywhere connects, none when one of two closes, one `offline` when
    the last closes."""
    node_a, node_b, node_c = three_nodes
    ani, budi, citra = [await make_user(n) for n in three_nodes]
    room = await make_room(ani, members=[budi, citra])
    a_id, b_id = (n.services.broker.presence.node_id for n in (node_a, node_b))
    redis = Redis.from_url(redis_url)
    try:
        budi_ws = await WsClient.open(node_c.ws_url, budi.token)
        citra_ws = await WsClient.open(node_a.ws_url, citra.token)
        on_a = await WsClient.open(node_a.ws_url, ani.token)
        on_b = await WsClient.open(node_b.ws_url, ani.token)
        await _wait_for_holders(redis, node_a, ani.id, {a_id, b_id})
        await on_b.send({"type": "typing", "room_id": room["id"], "typing": True})
        assert await _presence_before_typing(budi_ws, ani.id, ani.id) == ["online"]

        await on_a.close()
        await _wait_for_holders(redis, node_a, ani.id, {b_id})
        await on_b.send({"type": "typing", "room_id": room["id"], "typing": False})
        assert await _presence_before_typing(budi_ws, ani.id, ani.id) == []

        await on_b.close()
        await _wait_for_holders(redis, node_a, ani.id, set())
        await citra_ws.send({"type": "typing", "room_id": room["id"], "typing": True})
        assert await _presence_before_typing(budi_ws, ani.id, citra.id) == ["offline"]
    finally:
        await redis.aclose()


async def test_f2_a_killed_node_s_people_go_offline_within_the_ttl(
    database_url: str, tmp_path: Path, redis_url: str
) -> None:
    """F2: when the only node holding Ani is killed (SIGKILL: it says goodbye to no one),
    a surviving node sees its lease run out and tells Budi she went offline."""
    postgres_only(database_url)
    ttl = 1
    nodes = await serve_nodes(
        2,
        database_url,
        tmp_path,
        redis_url,
        new_channel(),
        extra_env={"OBROLAN_PRESENCE_TTL_SECONDS": str(ttl)},
    )
    doomed, survivor = nodes
    try:
        ani = await make_user(doomed)  # type: ignore[arg-type]
        budi = await make_user(survivor)  # type: ignore[arg-type]
        await make_room(ani, members=[budi])
        budi_ws = await WsClient.open(survivor.ws_url, budi.token)
        await WsClient.open(doomed.ws_url, ani.token)
        online = await budi_ws.recv_type("presence")
        assert online == {"type": "presence", "user_id": ani.id, "status": "online"}
        doomed.process.kill()
        await doomed.process.wait()
        loop = asyncio.get_running_loop()
        killed_at = loop.time()
        # The lease runs out within the TTL; a survivor looks every third of it.
        offline = await budi_ws.recv_type("presence", timeout=ttl * 4 + 2)
        assert offline == {"type": "presence", "user_id": ani.id, "status": "offline"}
        assert loop.time() - killed_at < ttl * 4 + 2
    finally:
        await close_all_sockets()
        for node in nodes:
            await node.shutdown()


async def test_a_batch_whose_publish_failed_arrives_with_nothing_sent_after_it(
    database_url: str, tmp_path: Path, redis_url: str
) -> None:
    """A publish that fails is followed by a tick: the other node reads the batch from
    the database although no later batch ever shows it what it missed."""
    postgres_only(database_url)
    node_a, node_b = await start_nodes(2, database_url, tmp_path, redis_url, new_channel())
    try:
        ani, budi = await make_user(node_a, "ani"), await make_user(node_b, "budi")
        room = await make_room(ani, members=[budi])
        sender = await WsClient.open(node_a.ws_url, ani.token)
        reader = await WsClient.open(node_b.ws_url, budi.token)
        # Node A's publishing client, for this one send, reaches a port nothing listens
        # on: the publish fails as with Redis away, and the batch stays committed.
        broker = node_a.services.broker
        working = broker._redis
        broker._redis = Redis.from_url(
            f"redis://127.0.0.1:{free_port()}", retry=Retry(NoBackoff(), 0)
        )
        try:
            ack = await sender.send_message(room["id"], "published into the void")
        finally:
            away, broker._redis = broker._redis, working
            await away.aclose()
        assert ack["type"] == "ack"
        got = await reader.recv_event("message.created", timeout=5)
        assert got["position"] == ack["position"]
    finally:
        await node_a.shutdown()
        await node_b.shutdown()
