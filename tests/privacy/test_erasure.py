"""R4, R3: erasure closes the account at once, runs when the grace period ends (or is
cancelled before), leaves tombstones in other people's rooms and destroys the key;
accounts closed long enough ago are erased the same way."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

import orjson
import pytest
from sqlalchemy import Table, func, select
from websockets.exceptions import ConnectionClosed

from obrolan.accounts.models import (
    auth_sessions,
    contact_settings,
    users,
    verification_codes,
)
from obrolan.chat.models import blocks, memberships, messages, reactions
from obrolan.clock import FakeClock
from obrolan.privacy import requests_store
from obrolan.privacy.erasure_store import tombstone_username
from obrolan.privacy.models import audit_log, privacy_requests
from obrolan.profile.models import profile_photos, profiles
from obrolan.realtime.models import events
from tests.admin.conftest import make_admin
from tests.privacy.conftest import (
    DAY,
    PERIOD_SECONDS,
    finish_erasure,
    open_request,
    run_erasure,
)
from tests.support.factories import PASSWORD, User, make_room, make_user, register
from tests.support.outbound import SmtpServer, text_part
from tests.support.server import RunningServer
from tests.support.ws import WsClient

EMAIL = "sari@contoh.id"
# The person's language is the default one (Indonesian) unless they chose another.
CANCEL_CODE = re.compile(r"(?:with the code|dengan kode) (\S+) ")

# Every table that holds rows of a person (grep src/obrolan/*/models.py), by the column
# naming them. Erasure leaves none, but the tombstoned users row and their messages.
OWNED_BY: list[tuple[Table, str]] = [
    (auth_sessions, "user_id"),
    (verification_codes, "user_id"),
    (contact_settings, "user_id"),
    (profiles, "user_id"),
    (profile_photos, "user_id"),
    (memberships, "user_id"),
    (reactions, "user_id"),
    (blocks, "blocker_id"),
    (blocks, "blocked_id"),
    (events, "target_user_id"),
]


async def _keys(server: RunningServer, user_id: str) -> int:
    """How many wrapped keys the key store holds for the person: 1, or 0 once destroyed."""
    return len(await server.services.data_keys.store.wrapped_many([user_id]))


async def _count(server: RunningServer, table: Table, column: str, user_id: str) -> int:
    async with server.services.db.read() as conn:
        value = await conn.execute(
            select(func.count()).select_from(table).where(table.c[column] == user_id)
        )
        return int(value.scalar_one())


async def _rows(server: RunningServer, table: Table, **where: str) -> list[dict[str, Any]]:
    async with server.services.db.read() as conn:
        query = select(table)
        for name, value in where.items():
            query = query.where(table.c[name] == value)
        return [dict(r._mapping) for r in await conn.execute(query)]


async def _verified_person(server: RunningServer, smtp: SmtpServer, username: str) -> User:
    person = await make_user(server, username, email=EMAIL)
    code = await smtp.code(1)
    resp = await person.http.post("/api/v1/me/email/verify", json={"code": code})
    assert resp.status_code == 200, resp.text
    return person


async def _sign_in(server: RunningServer, username: str) -> int:
    async with server.http() as http:
        resp = await http.post(
            "/api/v1/sessions", json={"username": username, "password": PASSWORD}
        )
    return resp.status_code


async def _send(user: User, room_id: str, text: str) -> dict[str, Any]:
    resp = await user.http.post(
        f"/api/v1/rooms/{room_id}/messages", json={"client_msg_id": text, "body": text}
    )
    assert resp.status_code == 201, resp.text
    sent: dict[str, Any] = resp.json()
    return sent


def _at(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


async def test_r4_erasure_after_the_grace_period_the_persons_rows_and_text_are_gone(
    privacy_server: RunningServer, clock: FakeClock, smtp: SmtpServer, exports_failing: None
) -> None:
    server = privacy_server
    sari = await _verified_person(server, smtp, "sari")
    budi = await make_user(server)
    room = await make_room(budi, members=[sari])
    theirs = await _send(sari, room["id"], "rahasia sari")
    budis = await _send(budi, room["id"], "halo sari")
    assert (await sari.http.put(f"/api/v1/messages/{budis['id']}/reactions/👍")).status_code == 204
    assert (await budi.http.put(f"/api/v1/messages/{theirs['id']}/reactions/🎉")).status_code == 204
    assert (await sari.http.patch("/api/v1/me", json={"bio": "suka kopi"})).status_code == 200
    assert (
        await sari.http.patch("/api/v1/me/contact-settings", json={"message_requests": False})
    ).status_code == 200
    assert (await sari.http.post("/api/v1/blocks", json={"user_id": budi.id})).status_code == 204

    access = await open_request(sari, "access")
    socket = await WsClient.open(server.ws_url, sari.token)
    erasure = await open_request(sari, "erasure")
    assert _at(erasure["due_at"]) - _at(erasure["created_at"]) == timedelta(days=7)
    assert _at(erasure["deadline_at"]) - _at(erasure["created_at"]) == timedelta(days=14)

    # Closed at once: the session is revoked and its socket closed, sign-in refused, not
    # findable.
    with pytest.raises(ConnectionClosed) as closed:
        await socket.recv_until(lambda _frame: False)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401
    assert (await sari.http.get("/api/v1/me")).status_code == 401
    assert await _sign_in(server, "sari") == 401
    found = await budi.http.get("/api/v1/users", params={"username": "sari"})
    assert found.status_code == 404
    # Told by mail: the date it runs and how to cancel.
    received = text_part(await smtp.inbox.nth(2))
    assert (_at(erasure["due_at"])).strftime("%Y-%m-%d %H:%M") in received
    assert CANCEL_CODE.search(received)

    # Within the grace period nothing is erased. (Two sweep periods short: run_erasure
    # may move the clock on to the next run, up to one period.)
    clock.advance(7 * DAY - 2 * PERIOD_SECONDS)
    await run_erasure(server, clock)
    assert await _keys(server, sari.id) == 1
    assert (await _rows(server, messages, id=theirs["id"]))[0]["body_enc"] is not None

    clock.advance(2 * PERIOD_SECONDS)
    await run_erasure(server, clock)
    await finish_erasure(server, clock, sari.id)
    done_mail = text_part(await smtp.inbox.nth(3))
    assert "telah dihapus" in done_mail

    # Raw rows: no sealed value of theirs left, their key gone, nothing else of theirs.
    [row] = await _rows(server, users, id=sari.id)
    assert row["username"] == tombstone_username(sari.id)
    assert row["display_name_enc"] == b""
    for column in ("email_enc", "email_index", "phone_enc", "phone_index", "totp_secret_enc"):
        assert row[column] is None, column
    assert row["erased_at"] is not None and row["closed_at"] is not None
    for table, column in OWNED_BY:
        assert await _count(server, table, column, sari.id) == 0, f"{table.name}.{column}"
    [tombstone] = await _rows(server, messages, id=theirs["id"])
    assert tombstone["body_enc"] is None and tombstone["deleted_at"] is not None
    assert await _count(server, reactions, "message_id", theirs["id"]) == 0
    # The access request still open (its export cannot finish here) ends with the
    # account: it cannot turn overdue.
    [other] = await _rows(server, privacy_requests, id=access["id"])
    assert (other["status"], other["resolution"]) == ("cancelled", "the account was erased")
    [request] = await _rows(server, privacy_requests, id=erasure["id"])
    assert (request["status"], request["note_enc"], request["cancel_code_hash"]) == (
        "done",
        None,
        None,
    )

    # The other member's history: their message a tombstone, budi's own read normally.
    history = (await budi.http.get(f"/api/v1/rooms/{room['id']}/messages")).json()["messages"]
    by_id = {m["id"]: m for m in history}
    assert by_id[theirs["id"]]["deleted"] is True and by_id[theirs["id"]]["body"] is None
    assert by_id[budis["id"]]["body"] == "halo sari"
    assert by_id[budis["id"]]["reactions"] == {}

    # The audit says what went, by counts, and that the key was destroyed.
    async with server.services.db.read() as conn:
        entries = (
            await conn.execute(
                select(audit_log.c.action, audit_log.c.detail)
                .where(audit_log.c.subject_id == sari.id)
                .order_by(audit_log.c.seq)
            )
        ).all()
    actions = [a for a, _ in entries]
    assert actions[-2:] == ["privacy.erasure.done", "key.destroyed"]
    detail = orjson.loads(entries[-2][1])
    assert detail["request_id"] == erasure["id"] and detail["key_destroyed"] is True
    assert detail["removed"]["messages"] == 1
    assert detail["removed"]["memberships"] == 1
    assert detail["removed"]["reactions"] == 1
    assert detail["removed"]["reactions_on_messages"] == 1
    assert detail["removed"]["profiles"] == 1 and detail["removed"]["blocks"] == 1
    assert (await server.services.audit.verify(server.services.db)).ok

    # The name is free again; the request reads as done to an operator.
    assert (await register(server, "sari"))["username"] == "sari"
    admin = await make_admin(server)
    queue = await admin.http.get("/api/v1/admin/privacy/requests", params={"status": "done"})
    assert [r["id"] for r in queue.json()["requests"]] == [erasure["id"]]


async def test_r4_erasure_cancelled_before_the_grace_period_ends_keeps_everything(
    privacy_server: RunningServer, clock: FakeClock, smtp: SmtpServer
) -> None:
    server = privacy_server
    sari = await _verified_person(server, smtp, "sari")
    room = await make_room(sari)
    sent = await _send(sari, room["id"], "tetap ada")
    await open_request(sari, "erasure")
    match = CANCEL_CODE.search(text_part(await smtp.inbox.nth(2)))
    assert match is not None

    clock.advance(6 * DAY)
    async with server.http() as http:
        wrong = await http.post("/api/v1/privacy/erasure/cancel", json={"code": "nope"})
        assert wrong.status_code == 404
        cancelled = await http.post("/api/v1/privacy/erasure/cancel", json={"code": match[1]})
        assert cancelled.status_code == 200, cancelled.text
        assert cancelled.json()["status"] == "cancelled"
        again = await http.post("/api/v1/privacy/erasure/cancel", json={"code": match[1]})
        assert again.status_code == 404  # the code is good once

    # The account is open again: sign in with the password; past the grace nothing goes.
    assert await _sign_in(server, "sari") == 201
    clock.advance(2 * DAY)
    await run_erasure(server, clock)
    assert await _keys(server, sari.id) == 1
    [row] = await _rows(server, messages, id=sent["id"])
    assert row["body_enc"] is not None
    [account] = await _rows(server, users, id=sari.id)
    assert (account["username"], account["closed_at"], account["erased_at"]) == ("sari", None, None)


async def test_r4_an_operator_cancels_an_erasure_for_the_person_but_not_once_it_ran(
    privacy_server: RunningServer, clock: FakeClock
) -> None:
    server = privacy_server
    admin = await make_admin(server)
    ani = await make_user(server)  # no verified email: no mail, the operator cancels
    first = await open_request(ani, "erasure")
    cancelled = await admin.http.post(f"/api/v1/admin/privacy/requests/{first['id']}/cancel")
    assert cancelled.status_code == 200
    assert await _sign_in(server, ani.username) == 201

    opened = await admin.http.post(
        "/api/v1/admin/privacy/requests", json={"user_id": ani.id, "kind": "erasure"}
    )
    assert opened.status_code == 201, opened.text
    second = opened.json()
    assert second["opened_by_operator"] is True
    completing = await admin.http.post(
        f"/api/v1/admin/privacy/requests/{second['id']}/complete", json={"resolution": "now"}
    )
    assert completing.status_code == 409
    assert completing.json()["type"].endswith("/erasure-runs-itself")
    clock.advance(7 * DAY)
    await run_erasure(server, clock)
    await finish_erasure(server, clock, ani.id)
    late = await admin.http.post(f"/api/v1/admin/privacy/requests/{second['id']}/cancel")
    assert late.status_code == 409
    assert await _keys(server, ani.id) == 0


async def test_r4_an_erasure_cancelled_after_it_was_read_as_due_does_not_run(
    privacy_server: RunningServer, clock: FakeClock
) -> None:
    """The job reads the due erasures, then erases them one by one: a cancel that commits
    in between wins. Here the job's step runs after the cancel, as it would then."""
    server = privacy_server
    admin = await make_admin(server)
    ani = await make_user(server)
    request = await open_request(ani, "erasure")
    # The worker is stopped: this test takes the erasure job's steps itself, in the
    # order of the race (read as due, cancelled, then erased).
    await server.services.job_worker.stop()
    clock.advance(7 * DAY)
    async with server.services.db.read() as conn:
        [due] = await requests_store.due_erasures(conn, clock.now(), 10)
    assert due.id == request["id"]
    cancelled = await admin.http.post(f"/api/v1/admin/privacy/requests/{request['id']}/cancel")
    assert cancelled.status_code == 200

    assert await server.services.erasure.erase(ani.id, request_id=due.id) == {}
    assert await _keys(server, ani.id) == 1
    assert await _sign_in(server, ani.username) == 201
    [row] = await _rows(server, privacy_requests, id=request["id"])
    assert row["status"] == "cancelled"


async def test_r3_an_account_closed_90_days_ago_is_erased(
    privacy_server: RunningServer, clock: FakeClock
) -> None:
    server = privacy_server
    admin = await make_admin(server)
    ani = await make_user(server)
    budi = await make_user(server)
    room = await make_room(budi, members=[ani])
    sent = await _send(ani, room["id"], "sebelum ditutup")
    closed = await admin.http.post(f"/api/v1/admin/users/{ani.id}/close")
    assert closed.status_code == 200

    # Two sweep periods short of the 90 days: the run may be the one due now, or (when
    # the worker took that one first) the next, which run_erasure waits for by moving
    # the clock on to it, up to one period. Either way it is before the 90 days.
    clock.advance(90 * DAY - 2 * PERIOD_SECONDS)
    await run_erasure(server, clock)
    assert await _keys(server, ani.id) == 1

    clock.advance(3 * PERIOD_SECONDS)
    await run_erasure(server, clock)
    await finish_erasure(server, clock, ani.id)
    assert await _keys(server, ani.id) == 0
    for table, column in OWNED_BY:
        assert await _count(server, table, column, ani.id) == 0, f"{table.name}.{column}"
    [tombstone] = await _rows(server, messages, id=sent["id"])
    assert tombstone["body_enc"] is None and tombstone["deleted_at"] is not None
    async with server.services.db.read() as conn:
        detail = (
            await conn.execute(
                select(audit_log.c.detail).where(
                    audit_log.c.subject_id == ani.id, audit_log.c.action == "privacy.erasure.done"
                )
            )
        ).scalar_one()
    assert orjson.loads(detail)["rule"] == "R3"
    # Erased once: a later run finds nothing more to do for them.
    entries = await _count(server, audit_log, "subject_id", ani.id)
    await run_erasure(server, clock)
    assert await _count(server, audit_log, "subject_id", ani.id) == entries
