"""Bad frames get a typed error frame and the connection survives (ARCHITECTURE 7)."""

from __future__ import annotations

import pytest
from websockets.exceptions import ConnectionClosed

from tests.support.factories import make_direct, make_user
from tests.support.server import RunningServer
from tests.support.ws import WsClient, connect_ws


async def test_malformed_frames_get_errors_and_the_socket_survives(server: RunningServer) -> None:
    ani, budi = await make_user(server), await make_user(server)
    room = await make_direct(ani, budi)
    a = await WsClient.open(server.ws_url, ani.token)
    accepted = await a.send_message(room["id"], "first")
    assert accepted["type"] == "ack"

    bad_frames = [
        "this is not json",
        "[1, 2, 3]",
        '{"type": "teleport"}',
        '{"type": "send", "id": "x1", "room_id": "' + room["id"] + '", "body": "no client id"}',
        '{"type": "send", "id": "x2", "room_id": "'
        + room["id"]
        + '", "client_msg_id": "c", "body": 42}',
        '{"type": "send", "id": "x3", "room_id": "'
        + room["id"]
        + '", "client_msg_id": "c", "body": "'
        + "a" * 4001
        + '"}',
        '{"type": "receipt", "id": "x4", "room_id": "' + room["id"] + '", "read_up_to": -5}',
        '{"type": "typing", "id": "x5", "room_id": "' + room["id"] + '", "typing": "no"}',
        '{"type": "ping", "id": {"nested": true}}',
        '{"type": "ping", "id": true}',
        "x" * (70 * 1024),
        # 22,000 characters, but 66,000 bytes: the limit counts bytes.
        '{"type": "ping", "id": "' + "\u20ac" * 22_000 + '"}',
    ]
    for raw in bad_frames:
        await a.send_raw(raw)
        error = await a.recv_type("error")
        assert error["error"]["type"].startswith("https://obrolan.dev/problems/")
        assert error["error"]["status"] in (413, 422), raw[:80]
        assert error["error"]["detail"]
    # Typing into a room one is not in gets the same answer as send and receipt there.
    for frame in (
        {"type": "typing", "id": "t", "room_id": "not-my-room", "typing": True},
        {"type": "send", "id": "t", "room_id": "not-my-room", "client_msg_id": "n", "body": "x"},
        {"type": "receipt", "id": "t", "room_id": "not-my-room", "read_up_to": 1},
    ):
        await a.send(frame)
        error = await a.recv_type("error")
        assert error["error"]["status"] == 404, frame
        assert error["error"]["type"].endswith("/not-found"), frame
    # A binary frame is refused the same way; the socket lives on.
    await a.conn.send(b'{"type": "ping", "id": "bin"}')
    error = await a.recv_type("error")
    assert error["error"]["status"] == 422 and "text" in error["error"]["detail"]

    after = await a.send_message(room["id"], "still here")
    assert after["type"] == "ack"
    page = (await ani.http.get(f"/api/v1/rooms/{room['id']}/messages")).json()
    assert [m["body"] for m in page["messages"]] == ["first", "still here"]
    await a.close()


async def test_frames_far_over_the_limit_or_not_utf8_close_the_socket(
    server: RunningServer,
) -> None:
    """Past 16 times the frame limit the WebSocket layer refuses to read the frame at all
    (1009); a text frame that is not UTF-8 breaks the WebSocket protocol itself (1007)."""
    ani = await make_user(server)
    big = await WsClient.open(server.ws_url, ani.token)
    await big.send_raw("x" * (16 * 64 * 1024 + 1))
    with pytest.raises(ConnectionClosed) as closed:
        await big.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009

    broken = await WsClient.open(server.ws_url, ani.token)
    await broken.conn.send(b'{"type": "ping", "id": "\xff"}', text=True)
    with pytest.raises(ConnectionClosed) as closed:
        await broken.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1007


async def test_bad_hello_or_token_closes_with_a_reason(server: RunningServer) -> None:
    async with connect_ws(server.ws_url) as ws:
        await ws.send('{"type": "hello", "token": "not-a-real-token"}')
        error = await ws.recv()
        assert "unauthenticated" in error
        with pytest.raises(ConnectionClosed) as closed:
            await ws.recv()
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401

    async with connect_ws(server.ws_url) as ws:
        await ws.send('{"type": "send"}')
        await ws.recv()
        with pytest.raises(ConnectionClosed) as closed:
            await ws.recv()
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4400


async def test_nul_characters_and_positions_past_64_bits_get_error_frames(
    server: RunningServer,
) -> None:
    """PostgreSQL refuses both; the gateway answers them first, the same on both backends."""
    ani, budi = await make_user(server), await make_user(server)
    room = await make_direct(ani, budi)
    a = await WsClient.open(server.ws_url, ani.token)
    frames = [
        {"type": "send", "id": "n1", "room_id": room["id"][:-1] + "\x00", "client_msg_id": "c"},
        {"type": "send", "id": "n2", "room_id": room["id"], "client_msg_id": "c\x00", "body": "b"},
        {"type": "send", "id": "n3", "room_id": room["id"], "client_msg_id": "c", "body": "\x00"},
        {"type": "receipt", "id": "n4", "room_id": room["id"], "read_up_to": 2**63},
    ]
    for frame in frames:
        await a.send(frame)
        error = await a.recv_type("error")
        assert error["id"] == frame["id"]
        assert error["error"]["status"] == 422, error
    assert (await a.send_message(room["id"], "masih di sini"))["type"] == "ack"
    await a.close()

    async with connect_ws(server.ws_url) as ws:
        await ws.send(f'{{"type": "hello", "token": "{ani.token}", "since": {2**64 - 1}}}')
        assert '"field":"since"' in await ws.recv()
        with pytest.raises(ConnectionClosed) as closed:
            await ws.recv()
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4400


async def test_a_fault_of_ours_gets_an_error_frame_and_the_socket_lives_on(
    server: RunningServer,
) -> None:
    ani, budi = await make_user(server), await make_user(server)
    room = await make_direct(ani, budi)
    a = await WsClient.open(server.ws_url, ani.token)
    # Break the database under the running server: sends can no longer be checked.
    async with server.services.db.write() as conn:
        await conn.exec_driver_sql("DROP TABLE blocks")
    reply = await a.send_message(room["id"], "into the void")
    assert reply["type"] == "error"
    assert reply["error"]["status"] == 500 and reply["error"]["type"].endswith("/internal-error")
    assert "blocks" not in str(reply)  # no internals leak to the client
    await a.send({"type": "ping", "id": "still-there"})
    assert (await a.recv_type("pong"))["id"] == "still-there"
