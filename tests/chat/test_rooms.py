"""Rooms: direct chats, groups, private and public rooms, roles, blocking (F2, R18)."""

from __future__ import annotations

from tests.support.factories import make_direct, make_room, make_user
from tests.support.server import RunningServer
from tests.support.ws import WsClient


async def test_one_direct_chat_per_pair(server: RunningServer) -> None:
    ani, budi = await make_user(server), await make_user(server)
    first = await ani.http.post("/api/v1/rooms/direct", json={"user_id": budi.id})
    second = await budi.http.post("/api/v1/rooms/direct", json={"user_id": ani.id})
    assert first.status_code == 201 and second.status_code == 200
    assert first.json()["id"] == second.json()["id"]
    assert first.json()["kind"] == "direct"
    members = (await ani.http.get(f"/api/v1/rooms/{first.json()['id']}/members")).json()["members"]
    assert sorted(m["user_id"] for m in members) == sorted([ani.id, budi.id])
    self_chat = await ani.http.post("/api/v1/rooms/direct", json={"user_id": ani.id})
    assert self_chat.status_code == 422


async def test_public_rooms_are_searchable_and_open_to_all(server: RunningServer) -> None:
    owner, visitor = await make_user(server), await make_user(server)
    room = await make_room(owner, "public", "Pecinta Kopi")
    await make_room(owner, "public", "Teh Manis")
    found = (await visitor.http.get("/api/v1/rooms/public", params={"q": "kopi"})).json()["rooms"]
    assert [r["id"] for r in found] == [room["id"]]
    assert found[0]["member_count"] == 1
    # Visible before joining, but not readable until joined.
    assert (await visitor.http.get(f"/api/v1/rooms/{room['id']}")).status_code == 200
    assert (await visitor.http.get(f"/api/v1/rooms/{room['id']}/messages")).status_code == 403
    assert (await visitor.http.post(f"/api/v1/rooms/{room['id']}/join")).status_code == 200
    assert (await visitor.http.get(f"/api/v1/rooms/{room['id']}/messages")).status_code == 200
    listing = (await visitor.http.get("/api/v1/rooms")).json()
    assert room["id"] in [r["id"] for r in listing["rooms"]]


async def test_public_search_pages_with_a_cursor(server: RunningServer) -> None:
    owner = await make_user(server)
    for i in range(5):
        await make_room(owner, "public", f"Kota {i}")
    first = (await owner.http.get("/api/v1/rooms/public", params={"q": "kota", "limit": 3})).json()
    assert [r["name"] for r in first["rooms"]] == ["Kota 0", "Kota 1", "Kota 2"]
    rest = (
        await owner.http.get(
            "/api/v1/rooms/public", params={"q": "kota", "limit": 3, "after": first["next"]}
        )
    ).json()
    assert [r["name"] for r in rest["rooms"]] == ["Kota 3", "Kota 4"]
    assert rest["next"] is None


async def test_private_rooms_are_invite_only(server: RunningServer) -> None:
    owner, guest, stranger = (
        await make_user(server),
        await make_user(server),
        await make_user(server),
    )
    room = await make_room(owner, "private", "Pengurus")
    assert (await stranger.http.post(f"/api/v1/rooms/{room['id']}/join")).status_code == 404
    g = await WsClient.open(server.ws_url, guest.token)
    assert (
        await owner.http.post(f"/api/v1/rooms/{room['id']}/invites", json={"user_id": guest.id})
    ).status_code == 204
    invite = await g.recv_event("membership")
    assert invite["data"]["state"] == "invite" and invite["room_id"] == room["id"]
    assert room["id"] in [
        r["id"] for r in (await guest.http.get("/api/v1/rooms")).json()["invites"]
    ]
    # A member who is not an admin may not invite to a private room.
    assert (await guest.http.post(f"/api/v1/rooms/{room['id']}/join")).status_code == 200
    refused = await guest.http.post(
        f"/api/v1/rooms/{room['id']}/invites", json={"user_id": stranger.id}
    )
    assert refused.status_code == 403
    await g.close()


async def test_kick_ban_and_roles(server: RunningServer) -> None:
    owner, admin, member = await make_user(server), await make_user(server), await make_user(server)
    room = await make_room(owner, "group", members=[admin, member])
    rid = room["id"]
    assert (
        await member.http.post(f"/api/v1/rooms/{rid}/kicks", json={"user_id": admin.id})
    ).status_code == 403
    assert (
        await admin.http.put(
            f"/api/v1/rooms/{rid}/members/{member.id}/role", json={"role": "admin"}
        )
    ).status_code == 403
    assert (
        await owner.http.put(f"/api/v1/rooms/{rid}/members/{admin.id}/role", json={"role": "admin"})
    ).status_code == 204
    assert (
        await admin.http.post(f"/api/v1/rooms/{rid}/kicks", json={"user_id": owner.id})
    ).status_code == 403

    m = await WsClient.open(server.ws_url, member.token)
    assert (
        await admin.http.post(f"/api/v1/rooms/{rid}/kicks", json={"user_id": member.id})
    ).status_code == 204
    kicked = await m.recv_event("membership")
    assert kicked["data"]["state"] == "leave" and kicked["data"]["by"] == admin.id
    assert (await member.http.get(f"/api/v1/rooms/{rid}/messages")).status_code == 404
    # Kicked from a group: can come back only when invited again.
    assert (
        await admin.http.post(f"/api/v1/rooms/{rid}/invites", json={"user_id": member.id})
    ).status_code == 204
    assert (await member.http.post(f"/api/v1/rooms/{rid}/join")).status_code == 200
    assert (
        await admin.http.post(f"/api/v1/rooms/{rid}/bans", json={"user_id": member.id})
    ).status_code == 204
    assert (
        await admin.http.post(f"/api/v1/rooms/{rid}/invites", json={"user_id": member.id})
    ).status_code == 409
    assert (await member.http.post(f"/api/v1/rooms/{rid}/join")).status_code in (403, 404)
    assert (await admin.http.delete(f"/api/v1/rooms/{rid}/bans/{member.id}")).status_code == 204
    assert (
        await admin.http.post(f"/api/v1/rooms/{rid}/invites", json={"user_id": member.id})
    ).status_code == 204
    await m.close()


async def test_banned_from_public_room_cannot_rejoin(server: RunningServer) -> None:
    owner, troll = await make_user(server), await make_user(server)
    room = await make_room(owner, "public", "Diskusi")
    await troll.http.post(f"/api/v1/rooms/{room['id']}/join")
    assert (
        await owner.http.post(f"/api/v1/rooms/{room['id']}/bans", json={"user_id": troll.id})
    ).status_code == 204
    again = await troll.http.post(f"/api/v1/rooms/{room['id']}/join")
    assert again.status_code == 403 and again.json()["type"].endswith("/banned")


async def test_admins_list_who_is_banned_and_others_may_not(server: RunningServer) -> None:
    owner, admin, member = await make_user(server), await make_user(server), await make_user(server)
    troll, outsider = await make_user(server), await make_user(server)
    room = await make_room(owner, "public", "Diskusi")
    rid = room["id"]
    for person in (admin, member, troll):
        assert (await person.http.post(f"/api/v1/rooms/{rid}/join")).status_code == 200
    put_role = f"/api/v1/rooms/{rid}/members/{admin.id}/role"
    assert (await owner.http.put(put_role, json={"role": "admin"})).status_code == 204
    assert (await owner.http.get(f"/api/v1/rooms/{rid}/bans")).json() == {"bans": []}
    ban = await admin.http.post(f"/api/v1/rooms/{rid}/bans", json={"user_id": troll.id})
    assert ban.status_code == 204

    for moderator in (owner, admin):
        listed = await moderator.http.get(f"/api/v1/rooms/{rid}/bans")
        assert listed.status_code == 200 and listed.json() == {"bans": [{"user_id": troll.id}]}
    refused = await member.http.get(f"/api/v1/rooms/{rid}/bans")
    assert refused.status_code == 403 and refused.json()["type"].endswith("/forbidden")
    # Outsiders of a public room, the banned person included, are not members.
    for stranger in (outsider, troll):
        answer = await stranger.http.get(f"/api/v1/rooms/{rid}/bans")
        assert answer.status_code == 403 and answer.json()["type"].endswith("/not-a-member")

    assert (await admin.http.delete(f"/api/v1/rooms/{rid}/bans/{troll.id}")).status_code == 204
    assert (await owner.http.get(f"/api/v1/rooms/{rid}/bans")).json() == {"bans": []}


async def test_r18_blocking_stops_direct_messages_and_invites(server: RunningServer) -> None:
    ani, budi = await make_user(server), await make_user(server)
    room = await make_direct(ani, budi)
    url = f"/api/v1/rooms/{room['id']}/messages"
    assert (await ani.http.post("/api/v1/blocks", json={"user_id": budi.id})).status_code == 204
    assert [b["user_id"] for b in (await ani.http.get("/api/v1/blocks")).json()["blocks"]] == [
        budi.id
    ]
    blocked = await budi.http.post(url, json={"client_msg_id": "b1", "body": "halo?"})
    assert blocked.status_code == 403 and blocked.json()["type"].endswith("/blocked")
    b = await WsClient.open(server.ws_url, budi.token)
    assert (await b.send_message(room["id"], "halo??"))["type"] == "error"
    assert (
        await budi.http.post("/api/v1/rooms/direct", json={"user_id": ani.id})
    ).status_code == 403
    group = await make_room(budi, "group", name="Arisan")
    assert (
        await budi.http.post(f"/api/v1/rooms/{group['id']}/invites", json={"user_id": ani.id})
    ).status_code == 403
    # Creating a group with a person who blocked you does not add them.
    other = await make_room(budi, "group", name="Reuni", members=[ani])
    members = (await budi.http.get(f"/api/v1/rooms/{other['id']}/members")).json()["members"]
    assert ani.id not in [m["user_id"] for m in members]

    assert (await ani.http.delete(f"/api/v1/blocks/{budi.id}")).status_code == 204
    assert (
        await budi.http.post(url, json={"client_msg_id": "b2", "body": "maaf"})
    ).status_code == 201
    await b.close()


async def test_leaving_stops_delivery(server: RunningServer) -> None:
    owner, member = await make_user(server), await make_user(server)
    room = await make_room(owner, "group", members=[member])
    m = await WsClient.open(server.ws_url, member.token)
    assert (await member.http.post(f"/api/v1/rooms/{room['id']}/leave")).status_code == 204
    left = await m.recv_event("membership")
    assert left["data"]["state"] == "leave"
    await owner.http.post(
        f"/api/v1/rooms/{room['id']}/messages", json={"client_msg_id": "after", "body": "bye"}
    )
    await m.send({"type": "ping", "id": "marker"})
    frame = await m.recv_until(lambda f: f["type"] in ("event", "pong"))
    assert frame["type"] == "pong"
    await m.close()


async def test_room_name_and_topic_updates(server: RunningServer) -> None:
    owner, member = await make_user(server), await make_user(server)
    room = await make_room(owner, "group", name="Lama", members=[member])
    assert (
        await member.http.patch(f"/api/v1/rooms/{room['id']}", json={"name": "Baru"})
    ).status_code == 403
    updated = await owner.http.patch(
        f"/api/v1/rooms/{room['id']}", json={"name": "Baru", "topic": "t"}
    )
    assert updated.status_code == 200 and updated.json()["name"] == "Baru"
    assert (await member.http.get(f"/api/v1/rooms/{room['id']}")).json()["topic"] == "t"
