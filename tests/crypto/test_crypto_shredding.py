"""R4: destroying a person's data key leaves only unreadable ciphertext behind.

The erasure request and its grace period are still to come; this shows the mechanism
they will use, on the live database.
"""

from __future__ import annotations

from sqlalchemy import select

from obrolan.chat.models import messages
from tests.support.factories import make_direct, make_user
from tests.support.server import RunningServer


async def test_r4_destroyed_key_leaves_only_unreadable_data(server: RunningServer) -> None:
    siti = await make_user(server, email="siti@contoh.co.id")
    budi = await make_user(server)
    room = await make_direct(siti, budi)
    url = f"/api/v1/rooms/{room['id']}/messages"
    sent = await siti.http.post(url, json={"client_msg_id": "r4", "body": "rahasia"})
    assert sent.status_code == 201
    mine = await budi.http.post(url, json={"client_msg_id": "r4b", "body": "balasan"})
    assert mine.status_code == 201

    services = server.services
    async with services.db.write() as conn:
        await services.data_keys.destroy(conn, siti.id)

    history = (await budi.http.get(url)).json()["messages"]
    assert [(m["sender_id"], m["body"]) for m in history] == [(siti.id, None), (budi.id, "balasan")]
    me = (await siti.http.get("/api/v1/me")).json()
    assert me["email"] is None and me["display_name"] is None
    # The ciphertext is still stored, but nothing can open it any more.
    async with services.db.read() as conn:
        stored = await conn.scalar(
            select(messages.c.body_enc).where(messages.c.id == sent.json()["id"])
        )
    assert stored is not None and b"rahasia" not in stored
