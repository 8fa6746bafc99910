"""Asking who is online now: `presence` answered by `presence.state` (docs/protocol.md).

A client that connects after the people it talks with sees no `presence` frame for
them until they change state; it asks instead. Only people who share a room with the
asker are ever reported online.
"""

from __future__ import annotations

import asyncio
import itertools
from pathlib import Path
from typing import Any

from redis.asyncio import Redis

from tests.support.factories import make_direct, make_room, make_user
from tests.support.nodes import new_channel, postgres_only, start_nodes
from tests.support.server import RunningServer
from tests.support.ws import WsClient

_ids = itertools.count(1)


async def _ask(ws: WsClient, user_ids: list[Any]) -> dict[str, Any]:
    """Ask about `user_ids`; the answer (or error) to this request."""
    request_id = f"presence-{next(_ids)}"
    await ws.send({"type": "presence", "id": request_id, "user_ids": user_ids})
    return await ws.recv_until(
        lambda f: f.get("type") in ("presence.state", "error") and f.get("id") == request_id
    )


async def _online(ws: WsClient, user_ids: list[str]) -> list[str]:
    answer = await _ask(ws, user_ids)
    assert answer["type"] == "presence.state", answer
    online: list[str] = answer["online"]
    return online


async def _until_offline(ws: WsClient, user_id: str, timeout: float = 5.0) -> None:
    """A closed socket is unregistered a moment after it closes: ask until it is."""
    async with asyncio.timeout(timeout):
        while True:
            if await _online(ws, [user_id]) == []:
                return
            await asyncio.sleep(0.05)


async def test_f2_a_later_client_learns_who_is_already_online(server: RunningServer) -> None:
    """F2: Budi is online first; Ani connects afterwards and asks: Budi is online, though
    no `presence` frame about him reached her. After he leaves: offline."""
    ani, budi, citra = [await make_user(server) for _ in range(3)]
    await make_direct(ani, budi)
    await make_room(ani, members=[citra])
    budi_ws = await WsClient.open(server.ws_url, budi.token)
    ani_ws = await WsClient.open(server.ws_url, ani.token)
    # Citra shares a room with Ani but is not connected; the answer keeps the order asked.
    assert await _online(ani_ws, [citra.id, budi.id, budi.id]) == [budi.id]

    await budi_ws.close()
    await _until_offline(ani_ws, budi.id)
    assert await _online(ani_ws, [budi.id, citra.id]) == []


async def test_r18_presence_is_not_told_to_strangers(server: RunningServer) -> None:
    """R18 (people choose who can find them): someone who shares no room with Budi is
    never told he is online — the answer is the same as for someone offline."""
    ani, budi, stranger = [await make_user(server) for _ in range(3)]
    await make_direct(ani, budi)
    budi_ws = await WsClient.open(server.ws_url, budi.token)
    stranger_ws = await WsClient.open(server.ws_url, stranger.token)
    assert await _online(stranger_ws, [budi.id]) == []
    # Nor does asking about oneself, or about ids that are no one, say anything.
    assert await _online(stranger_ws, [stranger.id, "06h31yc0c2tacp1b62rfkpfpfw"]) == []
    # The one who shares a room with him is told.
    ani_ws = await WsClient.open(server.ws_url, ani.token)
    assert await _online(ani_ws, [budi.id]) == [budi.id]
    await budi_ws.close()


async def test_presence_requests_with_bad_input_get_typed_errors(server: RunningServer) -> None:
    ani = await make_user(server)
    ws = await WsClient.open(server.ws_url, ani.token)
    for bad in (None, "06h31yc0c2tacp1b62rfkpfpfw", {"a": 1}, [42], [""], ["x" * 27], ["a\x00"]):
        answer = await _ask(ws, bad)
        assert answer["type"] == "error", bad
        assert answer["error"]["status"] == 422, bad
        assert answer["error"]["type"].endswith("/invalid"), bad
        assert answer["error"]["field"] == "user_ids", bad
    too_many = await _ask(ws, [f"u{i}" for i in range(101)])
    assert too_many["error"]["status"] == 422 and too_many["error"]["field"] == "user_ids"
    assert "100" in too_many["error"]["detail"]
    # A hundred is allowed; none is an empty answer. The socket lives on.
    assert await _online(ws, [f"u{i}" for i in range(100)]) == []
    assert await _online(ws, []) == []
    await ws.send({"type": "ping", "id": "still-here"})
    assert (await ws.recv_type("pong"))["id"] == "still-here"


async def test_f2_presence_state_across_nodes(
    database_url: str, tmp_path: Path, redis_url: str
) -> None:
    """F2 with two nodes on one Redis: Budi on node A, Ani connects later to node B and is
    told he is online; a stranger on B is not; after Budi leaves A, Ani is told offline."""
    postgres_only(database_url)
    node_a, node_b = await start_nodes(2, database_url, tmp_path, redis_url, new_channel())
    redis = Redis.from_url(redis_url)
    try:
        ani, budi, stranger = [await make_user(node_a) for _ in range(3)]
        await make_direct(ani, budi)
        budi_ws = await WsClient.open(node_a.ws_url, budi.token)
        key = node_a.services.broker.presence.prefix + budi.id
        async with asyncio.timeout(5):
            while True:
                if await redis.zcard(key):  # node A has told Redis
                    break
                await asyncio.sleep(0.02)
        ani_ws = await WsClient.open(node_b.ws_url, ani.token)
        stranger_ws = await WsClient.open(node_b.ws_url, stranger.token)
        assert await _online(ani_ws, [budi.id]) == [budi.id]
        assert await _online(stranger_ws, [budi.id]) == []

        await budi_ws.close()
        await _until_offline(ani_ws, budi.id)

        # A lease that ran out (a dead node not reaped yet) is offline, too.
        await redis.zadd(key, {"a-dead-node": 1})
        assert await _online(ani_ws, [budi.id]) == []
    finally:
        await redis.aclose()
        for node in (node_a, node_b):
            await node.shutdown()
