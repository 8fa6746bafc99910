"""R1: a person's export holds their data, opened, and nothing of anyone else's.

Real server on SQLite and PostgreSQL, on a FakeClock. The access request itself is
opened elsewhere (POST /privacy/requests); here its row is written and its job queued
through the real JobQueue, and the real worker builds the export.
"""

from __future__ import annotations

import asyncio
import io
import json
import zipfile
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from PIL import Image
from sqlalchemy import event, insert, select

from obrolan.clock import FakeClock
from obrolan.ids import new_id
from obrolan.jobs import JobState
from obrolan.privacy.export import EXPORT_KIND, delete_expired_exports
from obrolan.privacy.export import store as export_store
from obrolan.privacy.export.models import privacy_export_parts, privacy_exports
from obrolan.privacy.models import audit_log, privacy_requests
from tests.support.factories import PASSWORD, User, login, make_room, make_user
from tests.support.server import RunningServer, start_server

SCHEMA = json.loads((Path(__file__).parents[2] / "docs" / "export.schema.json").read_text())
OWNER_IP = "198.51.100.23"
OTHER_IP = "203.0.113.77"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def export_server(
    database_url: str, tmp_path: Path, clock: FakeClock
) -> AsyncIterator[RunningServer]:
    # Trusting 127.0.0.1 as a proxy lets each test client say which address it signs in
    # from, so the two people's IP addresses differ.
    running = await start_server(
        database_url, tmp_path, clock=clock, jobs_poll_seconds=0.05, trusted_proxies="127.0.0.1"
    )
    try:
        yield running
    finally:
        await running.shutdown()


async def _session(server: RunningServer, username: str, ip: str, device: str, agent: str) -> str:
    async with server.http() as http:
        resp = await http.post(
            "/api/v1/sessions",
            json={"username": username, "password": PASSWORD, "device_name": device},
            headers={"X-Forwarded-For": ip, "User-Agent": agent},
        )
    assert resp.status_code == 201, resp.text
    token: str = resp.json()["token"]
    return token


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(out, format="PNG")
    return out.getvalue()


async def request_export(server: RunningServer, user_id: str) -> str:
    """An open access request of `user_id` and its queued export job; the request's id."""
    services = server.services
    request_id = new_id()
    async with services.stream.transaction() as tx:
        await tx.conn.execute(
            insert(privacy_requests).values(
                id=request_id,
                user_id=user_id,
                kind="access",
                status="received",
                opened_by=user_id,
                opened_by_operator=False,
                progress=0,
                created_at=tx.now,
                deadline_at=tx.now + timedelta(hours=72),
            )
        )
        await services.jobs.enqueue(
            tx,
            EXPORT_KIND,
            {"request_id": request_id, "user_id": user_id},
            key=f"{EXPORT_KIND}:{request_id}",
        )
    job = await services.jobs.get_by_key(f"{EXPORT_KIND}:{request_id}")
    assert job is not None
    async with asyncio.timeout(20):
        while (job := await services.jobs.get(job.id)).state is not JobState.DONE:
            assert job.state not in (JobState.FAILED, JobState.DEAD), job.last_error
            await asyncio.sleep(0.02)
    return request_id


async def _only_export(user: User) -> dict[str, Any]:
    listed = await user.http.get("/api/v1/privacy/exports")
    assert listed.status_code == 200, listed.text
    exports: list[dict[str, Any]] = listed.json()["exports"]
    assert len(exports) == 1, exports
    return exports[0]


def _unzipped(body: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        assert archive.testzip() is None
        return {name: archive.read(name) for name in archive.namelist()}


async def test_r1_export_validates_against_the_shipped_schema_and_holds_no_other_persons_data(
    export_server: RunningServer, clock: FakeClock
) -> None:
    server = export_server
    ani = await make_user(server, email="ani@example.id", phone="0812-1111-2222")
    budi = await make_user(server, email="budi.secret@example.id", phone="0813-9999-8888")
    for user, bio in ((ani, "Ani suka kopi tubruk"), (budi, "Budi's private bio 7c1e")):
        resp = await user.http.patch(
            "/api/v1/me",
            json={"bio": bio, "gender": "perempuan", "visibility": {"bio": "everyone"}},
        )
        assert resp.status_code == 200, resp.text
    photo = await ani.http.put(
        "/api/v1/me/photo", content=_png(), headers={"Content-Type": "image/png"}
    )
    assert photo.status_code == 204, photo.text
    # Two sessions of Ani's (and one of Budi's) from addresses that say whose they are.
    await _session(server, ani.username, OWNER_IP, "Ani's laptop", "AniBrowser/1.0")
    await _session(server, ani.username, OWNER_IP, "Ani's phone", "AniPhone/2.0")
    await _session(server, budi.username, OTHER_IP, "Budi's tablet", "BudiAgent/9.9")

    # Budi's room, Ani added by him: the export names him as who invited her.
    room = await make_room(budi, name="Warung kopi", members=[ani])
    ani_texts = [f"ani message {n} about the harbour" for n in range(3)]
    budi_texts = ["budi secret plan e91f", "budi replies 44ad"]
    sent: list[dict[str, Any]] = []
    for n, text in enumerate(ani_texts):
        resp = await ani.http.post(
            f"/api/v1/rooms/{room['id']}/messages", json={"client_msg_id": f"a{n}", "body": text}
        )
        assert resp.status_code == 201, resp.text
        sent.append(resp.json())
    budi_sent = []
    for n, text in enumerate(budi_texts):
        resp = await budi.http.post(
            f"/api/v1/rooms/{room['id']}/messages",
            json={"client_msg_id": f"b{n}", "body": text, "reply_to": sent[0]["id"]},
        )
        assert resp.status_code == 201, resp.text
        budi_sent.append(resp.json())
    for message in (budi_sent[0], sent[1]):
        resp = await ani.http.put(f"/api/v1/messages/{message['id']}/reactions/👍")
        assert resp.status_code == 204, resp.text
    resp = await budi.http.put(f"/api/v1/messages/{sent[0]['id']}/reactions/🔥")
    assert resp.status_code == 204, resp.text

    request_id = await request_export(server, ani.id)

    # The request is answered: done, at 100, with the time.
    async with server.services.db.read() as conn:
        request = (
            await conn.execute(select(privacy_requests).where(privacy_requests.c.id == request_id))
        ).one()
        built = (
            await conn.execute(
                select(audit_log).where(
                    audit_log.c.action == "privacy.export.built",
                    audit_log.c.subject_id == ani.id,
                )
            )
        ).one()
    assert (request.status, request.progress) == ("done", 100)
    assert request.done_at == clock.now()
    detail = json.loads(built.detail)
    assert detail["counts"]["messages"] == 3 and detail["counts"]["sessions"] == 3

    info = await _only_export(ani)
    assert info["request_id"] == request_id and not info["expired"]
    resp = await ani.http.get(f"/api/v1/privacy/exports/{info['id']}")
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"] == "application/zip"
    assert resp.headers["content-disposition"].startswith("attachment; filename=")
    assert int(resp.headers["content-length"]) == info["size"] == len(resp.content)
    files = _unzipped(resp.content)
    assert set(files) == {"export.json", "index.html", "photo.webp"}
    assert files["photo.webp"][:4] == b"RIFF"

    exported = json.loads(files["export.json"])
    jsonschema.Draft202012Validator(
        SCHEMA, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    ).validate(exported)
    assert exported["schema"]["version"] == 1
    assert sorted(m["body"] for m in exported["messages"]) == sorted(ani_texts)
    assert {(r["message_id"], r["emoji"]) for r in exported["reactions"]} == {
        (budi_sent[0]["id"], "👍"),
        (sent[1]["id"], "👍"),
    }
    assert {s["device"] for s in exported["sessions"]} >= {"Ani's laptop", "Ani's phone"}
    assert {s["ip_address"] for s in exported["sessions"]} >= {OWNER_IP}
    assert exported["profile"]["fields"]["bio"] == {
        "value": "Ani suka kopi tubruk",
        "visibility": "everyone",
    }
    assert {a["address"] for a in exported["addresses"]} == {"ani@example.id", "+6281211112222"}
    assert [r["room_id"] for r in exported["rooms"]] == [room["id"]]
    html = files["index.html"].decode()
    assert "ani message 0 about the harbour" in html and "<script" not in html.lower()

    # Nothing of Budi's but his id and display name, anywhere in the archive.
    everything = b"\n".join(files.values())
    for secret in [
        "budi.secret@example.id",
        "+6281399998888",
        "0813-9999-8888",
        "Budi's private bio 7c1e",
        OTHER_IP,
        "Budi's tablet",
        "BudiAgent/9.9",
        *budi_texts,
    ]:
        assert secret.encode() not in everything, secret
        assert json.dumps(secret)[1:-1].encode() not in everything, secret
    assert {"id": budi.id, "display_name": budi.username.title()} in exported["people"]

    # Stored sealed: no part of the ZIP, no text of it, in the raw rows.
    async with server.services.db.read() as conn:
        raw = b"".join(
            r[0]
            for r in await conn.execute(
                select(privacy_export_parts.c.data).where(
                    privacy_export_parts.c.export_id == info["id"]
                )
            )
        )
        key_enc = (
            await conn.execute(
                select(privacy_exports.c.key_enc).where(privacy_exports.c.id == info["id"])
            )
        ).scalar_one()
    assert len(raw) > info["size"]  # every part carries its nonce and tag
    assert b"PK\x03\x04" not in raw and b"export.json" not in raw
    assert all(t.encode() not in raw for t in ani_texts)
    assert resp.content not in raw and len(key_enc) > 32

    # Anyone else's token: as if there were no such export.
    for stranger in (budi, await make_user(server)):
        other = await stranger.http.get(f"/api/v1/privacy/exports/{info['id']}")
        assert other.status_code == 404, other.headers
        listed = await stranger.http.get("/api/v1/privacy/exports")
        assert listed.json() == {"exports": []}
    async with server.http() as anonymous:
        assert (await anonymous.get(f"/api/v1/privacy/exports/{info['id']}")).status_code == 401

    # Past privacy_export_hours: 410, its content gone at once, its row at the sweep.
    clock.advance(server.settings.privacy_export_hours * 3600)
    gone = await ani.http.get(f"/api/v1/privacy/exports/{info['id']}")
    assert gone.status_code == 410, gone.headers
    assert gone.headers["content-type"] == "application/problem+json"
    assert gone.json()["type"] == "https://obrolan.dev/problems/export-expired"
    assert (await _only_export(ani))["expired"] is True
    async with server.services.stream.transaction() as tx:
        left = await tx.conn.execute(
            select(privacy_export_parts.c.seq).where(privacy_export_parts.c.export_id == info["id"])
        )
        assert left.all() == []
        assert await delete_expired_exports(tx.conn, tx.now, 100) == 1
        assert await delete_expired_exports(tx.conn, tx.now, 100) == 0
    async with server.services.db.read() as conn:
        rows = await conn.execute(select(privacy_exports.c.id))
        assert rows.all() == []
    assert (await ani.http.get(f"/api/v1/privacy/exports/{info['id']}")).status_code == 404

    async with server.services.db.read() as conn:
        actions = [
            r[0]
            for r in await conn.execute(
                select(audit_log.c.action).where(audit_log.c.subject_id == ani.id)
            )
        ]
    assert actions.count("privacy.export.downloaded") == 1


async def test_r1_a_long_history_is_read_in_pages_into_several_sealed_parts(
    export_server: RunningServer,
) -> None:
    server = export_server
    ani = await make_user(server)
    room = await make_room(ani, name="Catatan")
    texts = [f"note {n:03d} " + "x" * 200 for n in range(40)]
    for n, text in enumerate(texts):
        resp = await ani.http.post(
            f"/api/v1/rooms/{room['id']}/messages", json={"client_msg_id": f"c{n}", "body": text}
        )
        assert resp.status_code == 201, resp.text
    # Pages of 7 rows and parts of 2 KiB: many of each, for 40 messages.
    server.services.exports.page_size = 7
    server.services.exports.part_bytes = 2048
    await request_export(server, ani.id)
    info = await _only_export(ani)
    async with server.services.db.read() as conn:
        parts = (
            await conn.execute(
                select(privacy_exports.c.parts).where(privacy_exports.c.id == info["id"])
            )
        ).scalar_one()
    assert parts >= 3
    resp = await ani.http.get(f"/api/v1/privacy/exports/{info['id']}")
    assert resp.status_code == 200, resp.text
    exported = json.loads(_unzipped(resp.content)["export.json"])
    jsonschema.Draft202012Validator(SCHEMA).validate(exported)
    assert sorted(m["body"] for m in exported["messages"]) == texts
    assert exported["counts"]["messages"] == 40


async def test_r1_message_pages_seek_in_the_index_instead_of_rereading(
    export_server: RunningServer,
) -> None:
    """Each page of a person's messages starts where the last ended (SQLite's plan)."""
    server = export_server
    if not server.settings.is_sqlite:
        pytest.skip("reads SQLite's query plans")
    engine = server.services.db.engine.sync_engine
    statements: list[tuple[str, Any]] = []
    plans: list[str] = []

    def capture(_c: Any, _cur: Any, sql: str, params: Any, _ctx: Any, _many: bool) -> None:
        statements.append((sql, params))

    async with server.services.db.read() as conn:
        event.listen(engine, "before_cursor_execute", capture)
        try:
            await export_store.messages_page(conn, "someone", ("room", "client"), 10)
        finally:
            event.remove(engine, "before_cursor_execute", capture)
        for sql, params in statements:
            rows = await conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql, params)
            plans.extend(str(r[-1]) for r in rows)
    assert any("(room_id,client_msg_id)>" in p for p in plans), plans
    assert not any(p.startswith("SCAN messages") for p in plans), plans


async def test_r1_r4_an_export_of_an_erased_person_cannot_be_opened(
    export_server: RunningServer,
) -> None:
    server = export_server
    ani = await make_user(server)
    await request_export(server, ani.id)
    info = await _only_export(ani)
    # Sign in again first: the erased person's token stays valid for this check.
    token = await login(server, ani.username)
    await server.services.data_keys.destroy(ani.id)
    async with server.http(token) as http:
        resp = await http.get(f"/api/v1/privacy/exports/{info['id']}")
    assert resp.status_code == 404, resp.text


async def test_r1_r13_an_access_request_through_the_api_ends_in_a_download(
    export_server: RunningServer,
) -> None:
    """The whole road a person takes: ask, watch the request, download the ZIP."""
    ani = await make_user(export_server, "ani")
    opened = await ani.http.post("/api/v1/privacy/requests", json={"kind": "access"})
    assert opened.status_code == 201, opened.text
    request_id = opened.json()["id"]

    async with asyncio.timeout(30):
        while True:
            request = (await ani.http.get(f"/api/v1/privacy/requests/{request_id}")).json()
            if request["status"] == "done":
                break
            await asyncio.sleep(0.05)
    assert request["progress"] == 100 and request["done_at"] is not None
    assert request["overdue"] is False

    info = await _only_export(ani)
    assert info["request_id"] == request_id
    download = await ani.http.get(f"/api/v1/privacy/exports/{info['id']}")
    assert download.status_code == 200
    assert download.headers["content-type"] == "application/zip"
    exported = json.loads(_unzipped(download.content)["export.json"])
    jsonschema.Draft202012Validator(SCHEMA).validate(exported)
    assert exported["request_id"] == request_id
    assert request_id in [r["id"] for r in exported["data_requests"]]
