"""Delivered and read markers: per-message status in direct chats, unread counts (F2)."""

from __future__ import annotations

from tests.support.factories import make_direct, make_room, make_user
from tests.support.server import RunningServer
from tests.support.ws import WsClient


async def test_direct_chat_status_goes_sent_delivered_read(server: RunningServer) -> None:
    ani, budi = await make_user(server), await make_user(server)
    room = await make_direct(ani, budi)
    url = f"/api/v1/rooms/{room['id']}/messages"
    a = await WsClient.open(server.ws_url, ani.token)
    b = await WsClient.open(server.ws_url, budi.token)
    first = (await a.send_message(room["id"], "satu"))["message"]
    second = (await a.send_message(room["id"], "dua"))["message"]

    async def statuses() -> list[str]:
        return [m["status"] for m in (await ani.http.get(url)).json()["messages"]]

    assert await statuses() == ["sent", "sent"]
    await b.send({"type": "receipt", "room_id": room["id"], "delivered_up_to": second["position"]})
    receipt = await a.recv_event("receipt")
    assert receipt["data"] == {
        "user_id": budi.id,
        "delivered_up_to": second["position"],
        "read_up_to": 0,
    }
    assert await statuses() == ["delivered", "delivered"]
    await b.send({"type": "receipt", "room_id": room["id"], "read_up_to": first["position"]})
    await a.recv_event("receipt")
    assert await statuses() == ["read", "delivered"]
    # Markers never move back.
    back = await budi.http.post(f"/api/v1/rooms/{room['id']}/receipts", json={"read_up_to": 0})
    assert back.json() == {"delivered_up_to": second["position"], "read_up_to": first["position"]}
    await a.close()
    await b.close()


async def test_unread_counts_per_room(server: RunningServer) -> None:
    ani, budi = await make_user(server), await make_user(server)
    dm = await make_direct(ani, budi)
    group = await make_room(ani, "group", members=[budi])
    for i in range(3):
        await ani.http.post(
            f"/api/v1/rooms/{dm['id']}/messages", json={"client_msg_id": f"d{i}", "body": "x"}
        )
    last = None
    for i in range(2):
        last = (
            await ani.http.post(
                f"/api/v1/rooms/{group['id']}/messages",
                json={"client_msg_id": f"g{i}", "body": "y"},
            )
        ).json()

    def unread(listing: dict) -> dict[str, int]:
        return {r["id"]: r["unread"] for r in listing["rooms"]}

    assert unread((await budi.http.get("/api/v1/rooms")).json()) == {dm["id"]: 3, group["id"]: 2}
    assert unread((await ani.http.get("/api/v1/rooms")).json()) == {dm["id"]: 0, group["id"]: 0}
    assert last is not None
    await budi.http.post(
        f"/api/v1/rooms/{group['id']}/receipts", json={"read_up_to": last["position"]}
    )
    assert unread((await budi.http.get("/api/v1/rooms")).json()) == {dm["id"]: 3, group["id"]: 0}
