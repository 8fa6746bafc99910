"""R4: destroying a person's data key leaves only unreadable ciphertext behind.

The erasure request and its grace period are still to come; this shows the mechanism
they will use, on the live database.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from obrolan.accounts.keys import aad
from obrolan.accounts.models import users
from obrolan.chat.models import messages
from obrolan.chat.views import message_aad
from obrolan.crypto import DecryptionError, open_sealed
from tests.support.factories import User, make_direct, make_user
from tests.support.server import RunningServer
from tests.support.ws import WsClient

SIGNED_BY_SITI = "rahasia siti"
SIGNED_BY_BUDI = "balasan budi"


async def _what_others_see(server: RunningServer, siti: User, budi: User, room_id: str) -> Any:
    """Siti's and Budi's messages and profile fields, through every way the API shows them."""
    history = (await budi.http.get(f"/api/v1/rooms/{room_id}/messages")).json()["messages"]
    ws = await WsClient.open(server.ws_url, budi.token, since=0)
    replayed = []
    while len(replayed) < 2:
        replayed.append((await ws.recv_event("message.created"))["data"])
    await ws.close()
    me = (await siti.http.get("/api/v1/me")).json()
    profile = (await budi.http.get(f"/api/v1/users/{siti.id}")).json()
    budi_me = (await budi.http.get("/api/v1/me")).json()
    return {
        "history": [(m["sender_id"], m["body"]) for m in history],
        "replayed": [(m["sender_id"], m["body"]) for m in replayed],
        "siti": (me["display_name"], me["email"], profile["display_name"]),
        "budi": (budi_me["display_name"], budi_me["email"]),
    }


async def _keys_the_server_holds(server: RunningServer) -> dict[str, bytes]:
    """Every data key the server can still get: each stored wrapped key, unwrapped."""
    keyring = server.services.data_keys.keyring
    rows = await server.services.keystore.all()
    return {uid: keyring.unwrap(uid, wrapped) for uid, wrapped, _ in rows}


async def test_r4_destroyed_key_leaves_only_unreadable_data(server: RunningServer) -> None:
    siti = await make_user(server, display_name="Siti Aminah", email="siti@contoh.co.id")
    budi = await make_user(server, display_name="Budi Santoso", email="budi@contoh.co.id")
    room = await make_direct(siti, budi)
    url = f"/api/v1/rooms/{room['id']}/messages"
    sent = await siti.http.post(url, json={"client_msg_id": "r4", "body": SIGNED_BY_SITI})
    reply = await budi.http.post(url, json={"client_msg_id": "r4b", "body": SIGNED_BY_BUDI})
    assert sent.status_code == reply.status_code == 201
    before = await _what_others_see(server, siti, budi, room["id"])
    assert before == {
        "history": [(siti.id, SIGNED_BY_SITI), (budi.id, SIGNED_BY_BUDI)],
        "replayed": [(siti.id, SIGNED_BY_SITI), (budi.id, SIGNED_BY_BUDI)],
        "siti": ("Siti Aminah", "siti@contoh.co.id", "Siti Aminah"),
        "budi": ("Budi Santoso", "budi@contoh.co.id"),
    }

    await server.services.data_keys.destroy(siti.id)

    # No one reads Siti's data through the API any more; Budi's still opens for him.
    expected = {
        "history": [(siti.id, None), (budi.id, SIGNED_BY_BUDI)],
        "replayed": [(siti.id, None), (budi.id, SIGNED_BY_BUDI)],
        "siti": (None, None, None),
        "budi": ("Budi Santoso", "budi@contoh.co.id"),
    }
    assert await _what_others_see(server, siti, budi, room["id"]) == expected
    # Nor after a restart, when the server has only the database to find keys in.
    await server.restart()
    assert await _what_others_see(server, siti, budi, room["id"]) == expected

    # The ciphertext is still stored, but no key the server holds opens it.
    async with server.services.db.read() as conn:
        bodies = dict((await conn.execute(select(messages.c.id, messages.c.body_enc))).all())
        person = (await conn.execute(select(users).where(users.c.id == siti.id))).one()
    sealed = {
        "message body": (bodies[sent.json()["id"]], message_aad(sent.json()["id"])),
        "display name": (person.display_name_enc, aad("users", "display_name_enc", siti.id)),
        "email": (person.email_enc, aad("users", "email_enc", siti.id)),
    }
    keys = await _keys_the_server_holds(server)
    for what, (value, where) in sealed.items():
        assert value is not None, what
        for owner, key in keys.items():
            with pytest.raises(DecryptionError):
                open_sealed(key, value, where)
                pytest.fail(f"Siti's {what} opened with the key stored for {owner}")
    assert sorted(keys) == [budi.id]
    # The same search does open what is not shredded: it would have found Siti's key.
    budi_body = bodies[reply.json()["id"]]
    assert open_sealed(keys[budi.id], budi_body, message_aad(reply.json()["id"])) == (
        SIGNED_BY_BUDI.encode()
    )
