"""Messages: idempotent sends, edits, tombstones, reactions, history paging, limits."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.support.factories import make_direct, make_room, make_user
from tests.support.server import RunningServer
from tests.support.ws import WsClient


async def test_retried_send_with_same_client_msg_id_creates_no_duplicate(
    server: RunningServer,
) -> None:
    ani, budi = await make_user(server), await make_user(server)
    room = await make_direct(ani, budi)
    url = f"/api/v1/rooms/{room['id']}/messages"
    first = await ani.http.post(url, json={"client_msg_id": "retry-1", "body": "sekali saja"})
    again = await ani.http.post(url, json={"client_msg_id": "retry-1", "body": "sekali saja"})
    assert first.status_code == 201 and again.status_code == 200
    assert again.json() == first.json()

    ws = await WsClient.open(server.ws_url, ani.token)
    over_ws = await ws.send_message(room["id"], "sekali saja", client_msg_id="retry-1")
    assert over_ws["duplicate"] is True and over_ws["message"]["id"] == first.json()["id"]
    # Retries racing each other (a flaky network) still store one message.
    racing = await asyncio.gather(
        *(ani.http.post(url, json={"client_msg_id": "race", "body": "x"}) for _ in range(10))
    )
    assert len({r.json()["id"] for r in racing}) == 1
    assert sorted(r.status_code for r in racing).count(201) == 1
    history = (await budi.http.get(url)).json()["messages"]
    assert [m["client_msg_id"] for m in history] == ["retry-1", "race"]
    await ws.close()


async def test_the_same_client_msg_id_in_another_room_is_another_message(
    server: RunningServer,
) -> None:
    ani, budi, citra = await make_user(server), await make_user(server), await make_user(server)
    to_budi, to_citra = await make_direct(ani, budi), await make_direct(ani, citra)
    first = await ani.http.post(
        f"/api/v1/rooms/{to_budi['id']}/messages", json={"client_msg_id": "c-1", "body": "hai"}
    )
    second = await ani.http.post(
        f"/api/v1/rooms/{to_citra['id']}/messages", json={"client_msg_id": "c-1", "body": "halo"}
    )
    assert first.status_code == second.status_code == 201
    assert second.json()["room_id"] == to_citra["id"] and second.json()["body"] == "halo"
    got = (await citra.http.get(f"/api/v1/rooms/{to_citra['id']}/messages")).json()["messages"]
    assert [m["body"] for m in got] == ["halo"]
    # Over the socket too, in one batch of sends.
    ws = await WsClient.open(server.ws_url, ani.token)
    acks = await _pipelined(ws, [(to_budi["id"], "lagi", "c-2"), (to_citra["id"], "lagi", "c-2")])
    assert [a["type"] for a in acks] == ["ack", "ack"]
    assert {a["message"]["room_id"] for a in acks} == {to_budi["id"], to_citra["id"]}
    await ws.close()


async def test_a_used_client_msg_id_with_another_body_is_refused_not_swallowed(
    server: RunningServer,
) -> None:
    ani, budi = await make_user(server), await make_user(server)
    room = await make_direct(ani, budi)
    url = f"/api/v1/rooms/{room['id']}/messages"
    assert (
        await ani.http.post(url, json={"client_msg_id": "k", "body": "satu"})
    ).status_code == 201
    other = await ani.http.post(url, json={"client_msg_id": "k", "body": "dua"})
    assert other.status_code == 409
    assert other.json()["type"].endswith("/client-msg-id-reused")
    assert other.json()["field"] == "client_msg_id"
    # Two different sends under one id in the same batch: one stored, one refused.
    ws = await WsClient.open(server.ws_url, ani.token)
    answers = await _pipelined(ws, [(room["id"], "tiga", "k2"), (room["id"], "empat", "k2")])
    assert sorted(a["type"] for a in answers) == ["ack", "error"]
    history = (await budi.http.get(url)).json()["messages"]
    assert [m["body"] for m in history] == [
        "satu",
        next(a["message"]["body"] for a in answers if a["type"] == "ack"),
    ]
    await ws.close()


async def test_r18_a_removed_member_cannot_post_with_an_old_client_msg_id(
    server: RunningServer,
) -> None:
    owner, member = await make_user(server), await make_user(server)
    room = await make_room(owner, "private", "Tertutup", members=[member])
    await member.http.post(f"/api/v1/rooms/{room['id']}/join")
    url = f"/api/v1/rooms/{room['id']}/messages"
    assert (
        await member.http.post(url, json={"client_msg_id": "o", "body": "x"})
    ).status_code == 201
    kick = await owner.http.post(f"/api/v1/rooms/{room['id']}/kicks", json={"user_id": member.id})
    assert kick.status_code == 204
    again = await member.http.post(url, json={"client_msg_id": "o", "body": "x"})
    assert again.status_code == 404
    assert "body" not in again.json()


async def _pipelined(ws: WsClient, sends: list[tuple[str, str, str]]) -> list[dict[str, Any]]:
    """Send all at once (so they share a write batch), then collect each one's answer."""
    for n, (room_id, body, client_msg_id) in enumerate(sends):
        await ws.send(
            {
                "type": "send",
                "id": f"p{n}",
                "room_id": room_id,
                "client_msg_id": client_msg_id,
                "body": body,
            }
        )
    answers: dict[str, dict[str, Any]] = {}
    while len(answers) < len(sends):
        frame = await ws.recv_until(lambda f: f.get("type") in ("ack", "error"))
        answers[frame["id"]] = frame
    return [answers[f"p{n}"] for n in range(len(sends))]


async def test_edit_own_only_and_delete_leaves_a_tombstone(server: RunningServer) -> None:
    ani, budi = await make_user(server), await make_user(server)
    room = await make_direct(ani, budi)
    b = await WsClient.open(server.ws_url, budi.token)
    msg = (
        await ani.http.post(
            f"/api/v1/rooms/{room['id']}/messages", json={"client_msg_id": "e", "body": "helo"}
        )
    ).json()
    assert (
        await budi.http.patch(f"/api/v1/messages/{msg['id']}", json={"body": "hacked"})
    ).status_code == 403
    edited = await ani.http.patch(f"/api/v1/messages/{msg['id']}", json={"body": "halo"})
    assert (
        edited.status_code == 200 and edited.json()["body"] == "halo" and edited.json()["edited_at"]
    )
    assert (await b.recv_event("message.edited"))["data"]["body"] == "halo"
    assert (await budi.http.delete(f"/api/v1/messages/{msg['id']}")).status_code == 403
    gone = await ani.http.delete(f"/api/v1/messages/{msg['id']}")
    assert (
        gone.status_code == 200 and gone.json()["deleted"] is True and gone.json()["body"] is None
    )
    tomb = await b.recv_event("message.deleted")
    assert tomb["data"]["body"] is None
    history = (await budi.http.get(f"/api/v1/rooms/{room['id']}/messages")).json()["messages"]
    assert history[0]["deleted"] is True and history[0]["body"] is None
    assert (
        await ani.http.patch(f"/api/v1/messages/{msg['id']}", json={"body": "again"})
    ).status_code == 409
    await b.close()


async def test_room_admin_may_delete_anyones_message(server: RunningServer) -> None:
    owner, member = await make_user(server), await make_user(server)
    room = await make_room(owner, "group", members=[member])
    msg = (
        await member.http.post(
            f"/api/v1/rooms/{room['id']}/messages", json={"client_msg_id": "s", "body": "spam"}
        )
    ).json()
    assert (await owner.http.delete(f"/api/v1/messages/{msg['id']}")).status_code == 200


async def test_reactions_are_added_once_removed_and_shown_in_history(server: RunningServer) -> None:
    ani, budi = await make_user(server), await make_user(server)
    room = await make_direct(ani, budi)
    a = await WsClient.open(server.ws_url, ani.token)
    msg = (await a.send_message(room["id"], "makan yuk"))["message"]
    url = f"/api/v1/messages/{msg['id']}/reactions/👍"
    assert (await budi.http.put(url)).status_code == 204
    assert (await budi.http.put(url)).status_code == 204  # idempotent
    added = await a.recv_event("reaction.added")
    assert added["data"] == {"message_id": msg["id"], "user_id": budi.id, "emoji": "👍"}
    history = (await ani.http.get(f"/api/v1/rooms/{room['id']}/messages")).json()["messages"]
    assert history[0]["reactions"] == {"👍": [budi.id]}
    assert (await budi.http.delete(url)).status_code == 204
    assert (await a.recv_event("reaction.removed"))["data"]["emoji"] == "👍"
    history = (await ani.http.get(f"/api/v1/rooms/{room['id']}/messages")).json()["messages"]
    assert history[0]["reactions"] == {}
    await a.close()


async def test_history_pages_in_both_directions(server: RunningServer) -> None:
    ani, budi = await make_user(server), await make_user(server)
    room = await make_direct(ani, budi)
    url = f"/api/v1/rooms/{room['id']}/messages"
    for i in range(25):
        await ani.http.post(url, json={"client_msg_id": f"h{i}", "body": f"m{i}"})

    newest = (await budi.http.get(url, params={"limit": 10})).json()
    assert [m["body"] for m in newest["messages"]] == [f"m{i}" for i in range(15, 25)]
    assert newest["has_more"] is True
    older = (
        await budi.http.get(url, params={"limit": 10, "before": newest["messages"][0]["position"]})
    ).json()
    assert [m["body"] for m in older["messages"]] == [f"m{i}" for i in range(5, 15)]
    oldest = (
        await budi.http.get(url, params={"limit": 10, "before": older["messages"][0]["position"]})
    ).json()
    assert [m["body"] for m in oldest["messages"]] == [f"m{i}" for i in range(5)]
    assert oldest["has_more"] is False

    forward = (await budi.http.get(url, params={"limit": 10, "after": 0})).json()
    assert [m["body"] for m in forward["messages"]] == [f"m{i}" for i in range(10)]
    rest = (
        await budi.http.get(url, params={"limit": 20, "after": forward["messages"][-1]["position"]})
    ).json()
    assert [m["body"] for m in rest["messages"]] == [f"m{i}" for i in range(10, 25)]
    assert rest["has_more"] is False


async def test_limits_on_messages_and_pages(server: RunningServer) -> None:
    ani, budi = await make_user(server), await make_user(server)
    room = await make_direct(ani, budi)
    url = f"/api/v1/rooms/{room['id']}/messages"
    too_long = await ani.http.post(url, json={"client_msg_id": "l", "body": "a" * 4001})
    assert too_long.status_code == 422 and too_long.json()["field"] == "body"
    empty = await ani.http.post(url, json={"client_msg_id": "l", "body": ""})
    assert empty.status_code == 422
    no_id = await ani.http.post(url, json={"body": "x"})
    assert no_id.status_code == 422 and no_id.json()["field"] == "client_msg_id"
    big_page = await ani.http.get(url, params={"limit": 1000})
    assert big_page.status_code == 422 and big_page.headers["content-type"].startswith(
        "application/problem+json"
    )
    ok = await ani.http.post(url, json={"client_msg_id": "l", "body": "a" * 4000})
    assert ok.status_code == 201


async def test_reply_must_point_into_the_same_room(server: RunningServer) -> None:
    ani, budi, citra = await make_user(server), await make_user(server), await make_user(server)
    dm1, dm2 = await make_direct(ani, budi), await make_direct(ani, citra)
    other = (
        await ani.http.post(
            f"/api/v1/rooms/{dm2['id']}/messages", json={"client_msg_id": "o", "body": "x"}
        )
    ).json()
    resp = await ani.http.post(
        f"/api/v1/rooms/{dm1['id']}/messages",
        json={"client_msg_id": "r", "body": "y", "reply_to": other["id"]},
    )
    assert resp.status_code == 422 and resp.json()["field"] == "reply_to"
