"""Real-time delivery that loses nothing: live, after reconnect, after a restart (F2)."""

from __future__ import annotations

import asyncio

from tests.support.factories import make_direct, make_user
from tests.support.server import RunningServer
from tests.support.ws import WsClient


async def test_two_people_chat_in_real_time(server: RunningServer) -> None:
    ani, budi = await make_user(server, "ani"), await make_user(server, "budi")
    room = await make_direct(ani, budi)
    a = await WsClient.open(server.ws_url, ani.token)
    b = await WsClient.open(server.ws_url, budi.token)

    ack = await a.send_message(room["id"], "halo budi")
    assert ack["type"] == "ack"
    event = await b.recv_event("message.created")
    assert event["data"]["body"] == "halo budi"
    assert event["data"]["sender_id"] == ani.id
    assert event["position"] == ack["position"] == ack["message"]["position"]

    reply = await b.send_message(room["id"], "halo ani", reply_to=ack["message"]["id"])
    assert reply["type"] == "ack"
    back = await a.recv_event("message.created")
    assert back["data"]["body"] == "halo ani"
    assert back["data"]["reply_to"] == ack["message"]["id"]
    await a.close()
    await b.close()


async def _fifty_while_away(server: RunningServer, *, restart: bool) -> None:
    ani, budi = await make_user(server, "ani"), await make_user(server, "budi")
    room = await make_direct(ani, budi)
    b = await WsClient.open(server.ws_url, budi.token)
    await (await WsClient.open(server.ws_url, ani.token)).send_message(room["id"], "before")
    last_seen = (await b.recv_event("message.created"))["position"]
    await b.close()

    a = await WsClient.open(server.ws_url, ani.token)
    sent = []
    for i in range(50):
        ack = await a.send_message(room["id"], f"pesan {i}", client_msg_id=f"away-{i}")
        assert ack["type"] == "ack", ack
        sent.append(ack["position"])
    await a.close()
    if restart:
        await server.restart()

    b = await WsClient.open(server.ws_url, budi.token, since=last_seen)
    received = []
    while len(received) < 50:
        frame = await b.recv_event("message.created")
        received.append((frame["position"], frame["data"]["body"]))
    assert [p for p, _ in received] == sent
    assert [body for _, body in received] == [f"pesan {i}" for i in range(50)]
    # Exactly once: a live message after the replay arrives next, with nothing repeated.
    a = await WsClient.open(server.ws_url, ani.token)
    live = await a.send_message(room["id"], "live again")
    nxt = await b.recv_event("message.created")
    assert nxt["position"] == live["position"]
    assert nxt["data"]["body"] == "live again"
    await a.close()
    await b.close()


async def test_reconnect_with_since_gets_exactly_the_missed_messages(server: RunningServer) -> None:
    await _fifty_while_away(server, restart=False)


async def test_reconnect_after_server_restart_gets_exactly_the_missed_messages(
    server: RunningServer,
) -> None:
    await _fifty_while_away(server, restart=True)


async def test_replay_shows_edits_and_never_the_text_of_deleted_messages(
    server: RunningServer,
) -> None:
    ani, budi = await make_user(server), await make_user(server)
    room = await make_direct(ani, budi)
    a = await WsClient.open(server.ws_url, ani.token)
    first = (await a.send_message(room["id"], "rahasia"))["message"]
    second = (await a.send_message(room["id"], "typo"))["message"]
    assert (await ani.http.delete(f"/api/v1/messages/{first['id']}")).status_code == 200
    assert (
        await ani.http.patch(f"/api/v1/messages/{second['id']}", json={"body": "fixed"})
    ).status_code == 200

    b = await WsClient.open(server.ws_url, budi.token, since=0)
    frames = []
    while len(frames) < 4:
        frame = await b.recv_type("event")
        if frame["kind"].startswith("message."):
            frames.append(frame)
    kinds = [(f["kind"], f["data"]["id"]) for f in frames]
    assert kinds == [
        ("message.created", first["id"]),
        ("message.created", second["id"]),
        ("message.deleted", first["id"]),
        ("message.edited", second["id"]),
    ]
    assert all(f["data"]["body"] is None for f in frames if f["data"]["id"] == first["id"])
    assert all(f["data"]["body"] == "fixed" for f in frames if f["data"]["id"] == second["id"])
    await a.close()
    await b.close()


async def test_pipelined_sends_are_stored_in_order(server: RunningServer) -> None:
    ani, budi = await make_user(server), await make_user(server)
    room = await make_direct(ani, budi)
    a = await WsClient.open(server.ws_url, ani.token)
    for i in range(30):
        await a.send(
            {
                "type": "send",
                "id": i,
                "room_id": room["id"],
                "client_msg_id": f"p{i}",
                "body": str(i),
            }
        )
    acks = {}
    while len(acks) < 30:
        frame = await a.recv_type("ack")
        acks[frame["id"]] = frame["position"]
    assert [acks[i] for i in range(30)] == sorted(acks.values())
    page = (await budi.http.get(f"/api/v1/rooms/{room['id']}/messages")).json()
    assert [m["body"] for m in page["messages"]] == [str(i) for i in range(30)]
    await a.close()


async def test_typing_and_presence_reach_the_other_person_and_are_not_replayed(
    server: RunningServer,
) -> None:
    ani, budi = await make_user(server), await make_user(server)
    room = await make_direct(ani, budi)
    b = await WsClient.open(server.ws_url, budi.token)
    a = await WsClient.open(server.ws_url, ani.token)
    online = await b.recv_type("presence")
    assert online == {"type": "presence", "user_id": ani.id, "status": "online"}
    await a.send({"type": "typing", "room_id": room["id"], "typing": True})
    typing = await b.recv_type("typing")
    assert typing["user_id"] == ani.id and typing["typing"] is True
    await a.close()
    offline = await b.recv_type("presence")
    assert offline["status"] == "offline"
    await b.close()
    replay = await WsClient.open(server.ws_url, budi.token, since=0)
    await replay.send({"type": "ping", "id": "end"})
    frames = []
    while (frame := await replay.recv())["type"] != "pong":
        frames.append(frame["type"])
    assert "typing" not in frames and "presence" not in frames
    await replay.close()


async def test_f2_reconnecting_while_messages_keep_coming_gets_each_once_in_order(
    server: RunningServer,
) -> None:
    """The seam between replay and live: sends race the reconnect, nothing is lost or doubled."""
    ani, budi = await make_user(server), await make_user(server)
    room = await make_direct(ani, budi)
    a = await WsClient.open(server.ws_url, ani.token)
    for round_ in range(10):
        b = await WsClient.open(server.ws_url, budi.token)
        last = (await a.send_message(room["id"], f"r{round_} start"))["position"]
        assert (await b.recv_event("message.created"))["position"] == last
        await b.close()

        async def keep_sending(n: int = 30, round_: int = round_) -> list[int]:
            return [
                (await a.send_message(room["id"], f"r{round_} m{i}"))["position"] for i in range(n)
            ]

        sending = asyncio.create_task(keep_sending())
        await asyncio.sleep((round_ % 5) * 0.004)  # reconnect at another point each round
        b = await WsClient.open(server.ws_url, budi.token, since=last)
        sent = await sending
        got: list[int] = []
        while not got or got[-1] != sent[-1]:
            got.append((await b.recv_event("message.created"))["position"])
        assert got == sent
        await b.close()
    await a.close()
