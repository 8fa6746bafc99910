"""R6: what people write and their contact details are not readable from the database."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Table, select, update
from sqlalchemy.engine import make_url

from obrolan.accounts.models import auth_sessions, users
from obrolan.chat.models import messages
from obrolan.db.schema import metadata
from tests.support.factories import login, make_direct, make_user
from tests.support.server import RunningServer
from tests.support.ws import WsClient

SECRET_TEXT = "kata sandi brankas adalah merpati-putih-1945"
EMAIL = "siti.nurhaliza@contoh.co.id"
PHONE_LOCAL = "0812-3456-7890"
PHONE_E164 = "+6281234567890"
DISPLAY_NAME = "Siti Nurhaliza Binti Tarudin"


async def _raw_database(server: RunningServer) -> bytes:
    """Every byte the database holds: the SQLite files, or every value of every table.

    On PostgreSQL each value is taken as the driver decodes it (bytea as its bytes, text
    as UTF-8), since a text rendering such as `row_to_json` shows bytea as hex and would
    hide plaintext stored in a binary column.
    """
    url = server.settings.resolved_database_url
    if url.startswith("sqlite"):
        await server.stop()  # checkpoint and close, so nothing hides in memory
        path = Path(make_url(url).database or "")
        return b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
    chunks: list[bytes] = []
    async with server.services.db.read() as conn:
        tables = await conn.exec_driver_sql(
            "SELECT table_name FROM information_schema.tables"
            " WHERE table_schema = 'public' AND table_type = 'BASE TABLE'"
        )
        names = sorted(r[0] for r in tables)
        # Every table obrolan defines is read, and any other the database holds.
        assert {t.name for t in metadata.sorted_tables} <= set(names)
        for name in names:
            # Table names come from the database's own catalogue, not from input.
            rows = await conn.exec_driver_sql(f'SELECT * FROM "{name}"')  # noqa: S608
            for row in rows:
                chunks += [_value_bytes(value) for value in row if value is not None]
    return b"\n".join(chunks)


def _value_bytes(value: object) -> bytes:
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    return str(value).encode()


async def test_r6_database_holds_no_plaintext_messages_or_contact_details(
    server: RunningServer,
) -> None:
    siti = await make_user(server, "siti", email=EMAIL, phone=PHONE_LOCAL)
    budi = await make_user(server, "budi")
    room = await make_direct(siti, budi)
    ws = await WsClient.open(server.ws_url, siti.token)
    ack = await ws.send_message(room["id"], SECRET_TEXT)
    assert ack["type"] == "ack"
    edited = await siti.http.patch(
        f"/api/v1/messages/{ack['message']['id']}", json={"body": SECRET_TEXT + " v2"}
    )
    assert edited.status_code == 200
    await siti.http.patch("/api/v1/me", json={"display_name": DISPLAY_NAME})
    # The server can still read them back to the people entitled to see them.
    history = (await budi.http.get(f"/api/v1/rooms/{room['id']}/messages")).json()["messages"]
    assert history[0]["body"] == SECRET_TEXT + " v2"
    me = (await siti.http.get("/api/v1/me")).json()
    assert me["email"] == EMAIL and me["phone"] == PHONE_E164
    await ws.close()

    raw = await _raw_database(server)
    assert b"merpati-putih" not in raw
    for needle in (EMAIL, PHONE_E164, "6281234567890", "81234567890", DISPLAY_NAME):
        assert needle.encode() not in raw, needle
        assert needle.encode("utf-16-le") not in raw, needle
    # The username is a public handle, stored as is: the check above can see plaintext.
    assert b"siti" in raw


async def _copy_sealed(
    server: RunningServer, table: Table, column: str, from_id: str, to_id: str, to_column: str
) -> None:
    """Copy a sealed value into another row or column, as someone with the database could."""
    async with server.services.db.write() as conn:
        sealed = await conn.scalar(select(table.c[column]).where(table.c.id == from_id))
        assert sealed is not None
        await conn.execute(update(table).where(table.c.id == to_id).values({to_column: sealed}))


async def test_r6_sealed_value_moved_to_another_row_or_column_does_not_open(
    server: RunningServer,
) -> None:
    """Each value is sealed to its table, column and row: moved elsewhere, it shows nothing.

    Every copy stays under the same person's key, so only the place it is bound to
    keeps it from opening.
    """
    siti = await make_user(server, "siti", email=EMAIL)
    budi = await make_user(server, "budi")
    room = await make_direct(siti, budi)
    url = f"/api/v1/rooms/{room['id']}/messages"
    first = await siti.http.post(url, json={"client_msg_id": "m1", "body": SECRET_TEXT})
    second = await siti.http.post(url, json={"client_msg_id": "m2", "body": "pesan kedua"})
    assert first.status_code == second.status_code == 201
    await login(server, "siti", device_name="Laptop Siti")
    phone = await login(server, "siti", device_name="Ponsel Siti")
    sessions = {s["device_name"]: s["id"] for s in (await siti.http.get("/api/v1/sessions")).json()}

    # One message's body in another message's row.
    await _copy_sealed(
        server, messages, "body_enc", first.json()["id"], second.json()["id"], "body_enc"
    )
    bodies = {m["id"]: m["body"] for m in (await budi.http.get(url)).json()["messages"]}
    assert bodies == {first.json()["id"]: SECRET_TEXT, second.json()["id"]: None}

    # The email in the display name's column of the same row.
    await _copy_sealed(server, users, "email_enc", siti.id, siti.id, "display_name_enc")
    me = (await siti.http.get("/api/v1/me")).json()
    assert me["email"] == EMAIL and me["display_name"] is None
    profile = (await budi.http.get(f"/api/v1/users/{siti.id}")).json()
    assert profile["display_name"] is None

    # One session's device name in another session's row.
    await _copy_sealed(
        server,
        auth_sessions,
        "device_name_enc",
        sessions["Laptop Siti"],
        sessions["Ponsel Siti"],
        "device_name_enc",
    )
    async with server.http(phone) as http:
        listed = {s["id"]: s["device_name"] for s in (await http.get("/api/v1/sessions")).json()}
    assert listed[sessions["Laptop Siti"]] == "Laptop Siti"
    assert listed[sessions["Ponsel Siti"]] is None
