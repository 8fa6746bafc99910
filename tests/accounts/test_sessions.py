"""Signing in and out, listing and revoking sessions, new-device alerts (R17)."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import select
from websockets.exceptions import ConnectionClosed

from obrolan.accounts.models import auth_sessions
from obrolan.accounts.service import token_hash
from obrolan.clock import FakeClock
from obrolan.realtime.models import events
from tests.accounts.conftest import MakePerson, count_argon2
from tests.support.factories import PASSWORD, login, register
from tests.support.server import RunningServer
from tests.support.ws import WsClient

NEW_PASSWORD = "kopi tubruk di teras rumah"


async def _sign_in(server: RunningServer, username: str, **fields: Any) -> dict[str, Any]:
    async with server.http() as http:
        resp = await http.post(
            "/api/v1/sessions", json={"username": username, "password": PASSWORD, **fields}
        )
    assert resp.status_code == 201, resp.text
    body: dict[str, Any] = resp.json()
    return body


async def _status_with(server: RunningServer, token: str) -> int:
    async with server.http(token) as http:
        return (await http.get("/api/v1/me")).status_code


async def test_login_returns_a_token_its_session_and_the_account(server: RunningServer) -> None:
    account = await register(server, "ani", email="ani@contoh.id")
    signed_in = await _sign_in(server, "ani", device_name="Laptop Ani")
    assert isinstance(signed_in["token"], str) and len(signed_in["token"]) >= 40
    assert signed_in["user"] == account
    session = signed_in["session"]
    assert session["device_name"] == "Laptop Ani"
    assert session["current"] is True
    assert session["created_at"] == session["last_seen_at"]
    assert await _status_with(server, signed_in["token"]) == 200


async def test_r17_wrong_password_and_unknown_person_get_the_same_answer(
    server: RunningServer,
) -> None:
    await register(server, "ani")
    answers = []
    async with server.http() as http:
        for username, password in [("ani", "salah sekali kata sandinya"), ("siapa", PASSWORD)]:
            resp = await http.post(
                "/api/v1/sessions", json={"username": username, "password": password}
            )
            assert resp.status_code == 401
            assert resp.headers["content-type"] == "application/problem+json"
            problem = resp.json()
            answers.append((problem["type"], problem["detail"]))
    assert answers[0] == answers[1]
    assert answers[0][0] == "https://obrolan.dev/problems/invalid-credentials"


async def test_unknown_or_missing_token_is_unauthenticated(server: RunningServer) -> None:
    assert await _status_with(server, "bukan-token-siapa-siapa") == 401
    async with server.http() as http:
        resp = await http.get("/api/v1/me")
    assert resp.status_code == 401
    assert resp.headers["www-authenticate"] == "Bearer"


async def test_r17_sessions_are_listed_and_the_current_one_is_marked(
    server: RunningServer, person: MakePerson
) -> None:
    ani = await person(server, "ani")
    await _sign_in(server, "ani", device_name="Tablet Ani")
    sessions = (await ani.http.get("/api/v1/sessions")).json()
    assert [s["current"] for s in sessions] == [True, False]
    assert [s["device_name"] for s in sessions] == [None, "Tablet Ani"]
    assert set(sessions[0]) == {"id", "device_name", "created_at", "last_seen_at", "current"}


async def test_r17_logout_ends_only_the_current_session(
    server: RunningServer, person: MakePerson
) -> None:
    ani = await person(server, "ani")
    other = await login(server, "ani")
    assert (await ani.http.delete("/api/v1/sessions/current")).status_code == 204
    assert await _status_with(server, ani.token) == 401
    assert await _status_with(server, other) == 200


async def test_r17_revoking_a_session_of_mine_and_not_of_others(
    server: RunningServer, person: MakePerson
) -> None:
    ani, budi = await person(server, "ani"), await person(server, "budi")
    tablet = await _sign_in(server, "ani", device_name="Tablet")
    tablet_id = tablet["session"]["id"]
    budi_session = (await budi.http.get("/api/v1/sessions")).json()[0]["id"]

    assert (await ani.http.delete(f"/api/v1/sessions/{budi_session}")).status_code == 404
    assert await _status_with(server, budi.token) == 200

    assert (await ani.http.delete(f"/api/v1/sessions/{tablet_id}")).status_code == 204
    assert await _status_with(server, tablet["token"]) == 401
    assert (await ani.http.delete(f"/api/v1/sessions/{tablet_id}")).status_code == 404
    assert tablet_id not in [s["id"] for s in (await ani.http.get("/api/v1/sessions")).json()]


async def test_r17_password_change_revokes_every_other_session(
    server: RunningServer, person: MakePerson
) -> None:
    ani = await person(server, "ani")
    phone = await login(server, "ani")

    wrong = await ani.http.post(
        "/api/v1/me/password", json={"current_password": "bukan ini", "new_password": NEW_PASSWORD}
    )
    assert wrong.status_code == 403
    assert wrong.json()["field"] == "current_password"
    weak = await ani.http.post(
        "/api/v1/me/password", json={"current_password": PASSWORD, "new_password": "1234567890"}
    )
    assert weak.status_code == 422 and weak.json()["field"] == "password"
    assert await _status_with(server, phone) == 200  # failed changes revoke nothing

    changed = await ani.http.post(
        "/api/v1/me/password", json={"current_password": PASSWORD, "new_password": NEW_PASSWORD}
    )
    assert changed.status_code == 204
    assert await _status_with(server, phone) == 401
    assert await _status_with(server, ani.token) == 200
    async with server.http() as http:
        old = await http.post("/api/v1/sessions", json={"username": "ani", "password": PASSWORD})
    assert old.status_code == 401
    assert await login(server, "ani", NEW_PASSWORD)


async def test_r17_last_seen_is_written_at_most_once_a_minute(
    clocked_server: RunningServer, clock: FakeClock, person: MakePerson
) -> None:
    ani = await person(clocked_server, "ani")
    signed_in_at = clock.now()

    async def last_seen() -> datetime:
        session = (await ani.http.get("/api/v1/sessions")).json()[0]
        return datetime.fromisoformat(session["last_seen_at"])

    clock.advance(59)
    assert await last_seen() == signed_in_at
    clock.advance(1)
    touched_at = clock.now()
    assert await last_seen() == touched_at
    clock.advance(30)
    assert await last_seen() == touched_at


async def test_r17_hellos_write_last_seen_at_most_once_a_minute_and_end_at_the_maximum_age(
    clocked_server: RunningServer, clock: FakeClock, person: MakePerson
) -> None:
    ani = await person(clocked_server, "ani")
    signed_in_at = clock.now()

    async def hello_then_last_seen() -> datetime:
        await (await WsClient.open(clocked_server.ws_url, ani.token)).close()
        async with clocked_server.services.db.read() as conn:
            found = await conn.execute(
                select(auth_sessions.c.last_seen_at).where(
                    auth_sessions.c.token_hash == token_hash(ani.token)
                )
            )
            seen: datetime = found.scalar_one()
            return seen

    assert await hello_then_last_seen() == signed_in_at
    clock.advance(59)
    assert await hello_then_last_seen() == signed_in_at
    clock.advance(1)
    touched_at = clock.now()
    assert await hello_then_last_seen() == touched_at
    clock.advance(30)
    assert await hello_then_last_seen() == touched_at
    # Past its maximum age (and idle limit) the hello is refused, hint or no hint.
    maximum = clocked_server.settings.session_max_days * 24 * 60 * 60
    clock.advance(maximum)
    with pytest.raises(ConnectionClosed) as closed:
        await WsClient.open(clocked_server.ws_url, ani.token)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401


async def test_r17_a_revoked_session_loses_its_socket_with_4401(
    server: RunningServer, person: MakePerson
) -> None:
    ani = await person(server, "ani")
    phone = await _sign_in(server, "ani", device_name="Ponsel")
    socket = await WsClient.open(server.ws_url, phone["token"])
    try:
        revoked = await ani.http.delete(f"/api/v1/sessions/{phone['session']['id']}")
        assert revoked.status_code == 204
        with pytest.raises(ConnectionClosed) as closed:
            await socket.recv_until(lambda _frame: False)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401
    finally:
        await socket.close()


async def test_r17_a_session_revoked_after_a_connect_is_refused_at_the_next_hello(
    server: RunningServer, person: MakePerson
) -> None:
    # The first connect leaves the server a hint of the token; it must not outlive
    # the revocation.
    ani = await person(server, "ani")
    phone = await _sign_in(server, "ani", device_name="Ponsel")
    for _ in range(3):
        await (await WsClient.open(server.ws_url, phone["token"])).close()
    assert (await ani.http.delete(f"/api/v1/sessions/{phone['session']['id']}")).status_code == 204
    assert await _socket_refused_with(server, phone["token"]) == 4401
    assert await _socket_refused_with(server, phone["token"]) == 4401


async def test_r17_old_tokens_are_refused_at_hello_after_a_password_change_and_signing_out(
    server: RunningServer, person: MakePerson
) -> None:
    ani = await person(server, "ani")
    phone = await login(server, "ani")
    for token in (ani.token, phone):
        await (await WsClient.open(server.ws_url, token)).close()

    changed = await ani.http.post(
        "/api/v1/me/password", json={"current_password": PASSWORD, "new_password": NEW_PASSWORD}
    )
    assert changed.status_code == 204
    assert await _socket_refused_with(server, phone) == 4401
    await (await WsClient.open(server.ws_url, ani.token)).close()  # the one that changed it

    assert (await ani.http.delete("/api/v1/sessions")).status_code == 204
    assert await _socket_refused_with(server, ani.token) == 4401


async def test_r17_signing_out_everywhere_ends_every_session_of_mine_and_closes_its_sockets(
    server: RunningServer, person: MakePerson
) -> None:
    ani, budi = await person(server, "ani"), await person(server, "budi")
    phone = await _sign_in(server, "ani", device_name="Ponsel")
    sockets = [await WsClient.open(server.ws_url, t) for t in (ani.token, phone["token"])]
    budi_socket = await WsClient.open(server.ws_url, budi.token)
    try:
        assert (await ani.http.delete("/api/v1/sessions")).status_code == 204
        for socket in sockets:
            with pytest.raises(ConnectionClosed) as closed:
                await socket.recv_until(lambda _frame: False)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401
        assert await _status_with(server, ani.token) == 401
        assert await _status_with(server, phone["token"]) == 401
        # Someone else's sessions are not touched.
        assert await _status_with(server, budi.token) == 200
        await budi_socket.send({"type": "ping"})
        assert (await budi_socket.recv_type("pong"))["type"] == "pong"
        # Signing in again works as ever.
        again = await _sign_in(server, "ani")
        assert await _status_with(server, again["token"]) == 200
    finally:
        for socket in [*sockets, budi_socket]:
            await socket.close()


async def test_r17_sign_in_on_a_new_device_alerts_the_other_sessions(
    server: RunningServer, person: MakePerson
) -> None:
    await person(server, "ani")
    laptop = await _sign_in(server, "ani", device_name="Laptop")
    socket = await WsClient.open(server.ws_url, laptop["token"])
    try:
        tablet = await _sign_in(server, "ani", device_name="Tablet Baru")
        alert = await socket.recv_event("session.new_device")
    finally:
        await socket.close()
    assert alert["room_id"] is None
    assert alert["data"] == {
        "session_id": tablet["session"]["id"],
        "device_name": "Tablet Baru",
        "at": alert["at"],
    }


async def test_r17_new_device_alert_is_replayed_with_its_device_name_but_stored_without(
    server: RunningServer, person: MakePerson
) -> None:
    ani = await person(server, "ani")
    socket = await WsClient.open(server.ws_url, ani.token)
    since = socket.ready["position"]
    await socket.close()

    tablet = await _sign_in(server, "ani", device_name="Tablet Rahasia")
    socket = await WsClient.open(server.ws_url, ani.token, since=since)
    try:
        alert = await socket.recv_event("session.new_device")
    finally:
        await socket.close()
    assert alert["data"]["session_id"] == tablet["session"]["id"]
    assert alert["data"]["device_name"] == "Tablet Rahasia"
    # R6: the device name lives sealed in the session row, not in the stream.
    async with server.services.db.read() as conn:
        payloads = (
            await conn.execute(
                select(events.c.payload).where(events.c.kind == "session.new_device")
            )
        ).scalars()
        assert all(b"Tablet Rahasia" not in (p or b"") for p in payloads)


async def test_r17_first_sign_in_raises_no_alert(server: RunningServer, person: MakePerson) -> None:
    await person(server, "ani")
    async with server.services.db.read() as conn:
        alerts = (
            await conn.execute(select(events).where(events.c.kind == "session.new_device"))
        ).all()
    assert alerts == []


DAY = 24 * 60 * 60


async def _socket_refused_with(server: RunningServer, token: str) -> int | None:
    with pytest.raises(ConnectionClosed) as closed:
        await WsClient.open(server.ws_url, token)
    return closed.value.rcvd.code if closed.value.rcvd else None


async def test_r17_a_session_unused_past_the_idle_limit_expires(
    clocked_server: RunningServer, clock: FakeClock, person: MakePerson
) -> None:
    ani = await person(clocked_server, "ani")
    ani_session = (await ani.http.get("/api/v1/sessions")).json()[0]["id"]
    idle = clocked_server.settings.session_idle_days * DAY
    clock.advance(59)
    # Used, though too soon after sign-in for last_seen_at to be written...
    assert await _status_with(clocked_server, ani.token) == 200
    clock.advance(idle - 1)
    # ...so this is one second short of the idle limit since that use: still live.
    assert await _status_with(clocked_server, ani.token) == 200
    clock.advance(idle // 2)
    tablet = await _sign_in(clocked_server, "ani", device_name="Tablet")
    clock.advance(idle - idle // 2 + 60)  # idle past the limit and its one-minute resolution

    assert await _status_with(clocked_server, ani.token) == 401
    assert await _socket_refused_with(clocked_server, ani.token) == 4401
    async with clocked_server.http(tablet["token"]) as http:
        sessions = (await http.get("/api/v1/sessions")).json()
        assert [s["device_name"] for s in sessions] == ["Tablet"]
        gone = await http.delete(f"/api/v1/sessions/{ani_session}")
    assert gone.status_code == 404


async def test_r17_a_session_in_use_ends_at_its_maximum_age(
    clocked_server: RunningServer, clock: FakeClock, person: MakePerson
) -> None:
    ani = await person(clocked_server, "ani")
    settings = clocked_server.settings
    maximum = settings.session_max_days * DAY
    used = 0
    while used + settings.session_idle_days * DAY // 2 < maximum:
        clock.advance(settings.session_idle_days * DAY // 2)
        used += settings.session_idle_days * DAY // 2
        assert await _status_with(clocked_server, ani.token) == 200
    clock.advance(maximum - used - 1)
    assert await _status_with(clocked_server, ani.token) == 200
    fresh = await _sign_in(clocked_server, "ani")
    clock.advance(1)

    assert await _status_with(clocked_server, ani.token) == 401
    assert await _socket_refused_with(clocked_server, ani.token) == 4401
    async with clocked_server.http(fresh["token"]) as http:
        sessions = (await http.get("/api/v1/sessions")).json()
    assert [s["id"] for s in sessions] == [fresh["session"]["id"]]


async def _seen_at(server: RunningServer, token: str, at: datetime) -> None:
    """Wait until the socket's use is recorded: the gateway writes it after the pong."""
    digest = token_hash(token)

    async def last_seen() -> datetime:
        async with server.services.db.read() as conn:
            found = await conn.execute(
                select(auth_sessions.c.last_seen_at).where(auth_sessions.c.token_hash == digest)
            )
            seen: datetime = found.scalar_one()
            return seen

    async with asyncio.timeout(10):
        # The write happens in a task of the gateway's that sends no event to wait on.
        while await last_seen() < at:  # noqa: ASYNC110
            await asyncio.sleep(0.01)


async def test_r17_an_open_socket_keeps_its_session_in_use_until_its_maximum_age(
    clocked_server: RunningServer, clock: FakeClock, person: MakePerson
) -> None:
    ani = await person(clocked_server, "ani")
    settings = clocked_server.settings
    idle, maximum = settings.session_idle_days * DAY, settings.session_max_days * DAY
    ws = await WsClient.open(clocked_server.ws_url, ani.token)
    # Frames on the socket are use: past the idle limit with no REST call, still signed in.
    for _ in range(3):
        clock.advance(idle // 2)
        await ws.send({"type": "ping", "id": "p"})
        assert (await ws.recv_type("pong"))["id"] == "p"
        await _seen_at(clocked_server, ani.token, clock.now())
    assert await _status_with(clocked_server, ani.token) == 200
    # At the maximum age the socket is closed as unauthenticated at its next frame.
    clock.advance(maximum)
    await ws.send({"type": "ping", "id": "late"})
    with pytest.raises(ConnectionClosed) as closed:
        await ws.recv_type("pong")
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401


async def test_r17_an_unknown_username_costs_an_argon2_verify_like_a_known_one(
    server: RunningServer,
) -> None:
    await register(server, "ani")
    argon2 = count_argon2(server)
    async with server.http() as http:
        for username in ["ani", "siapa"]:
            before = argon2.verifies
            resp = await http.post(
                "/api/v1/sessions", json={"username": username, "password": "salah salah salah"}
            )
            assert resp.status_code == 401
            # Timing must not tell who has an account: both run one argon2 verify.
            assert argon2.verifies == before + 1, username
