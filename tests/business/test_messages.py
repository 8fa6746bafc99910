"""F9, R16: a business's messages reach people here as a chat; their replies, reactions,
receipts and answers come back as Cloud API webhook events; opt-in and the window rule."""

from __future__ import annotations

import asyncio
import io
import json
import zipfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import jsonschema
import orjson

from obrolan.clock import FakeClock
from obrolan.privacy import store as audit_store
from tests.business.conftest import (
    GRAPH,
    Business,
    approved_template,
    customer,
    inbound,
    make_business,
    opt_in,
    queued_events,
    start_business_server,
    statuses,
    template,
)
from tests.business.test_media import jpeg, uploaded
from tests.privacy.test_export import SCHEMA, request_export
from tests.support.factories import User
from tests.support.outbound import SmsGatewayStandIn
from tests.support.server import RunningServer

PHONE = "+6281234500001"


async def _until(check: Callable[[], Awaitable[Any]], timeout: float = 60.0) -> Any:
    async with asyncio.timeout(timeout):
        while not (found := await check()):  # noqa: ASYNC110
            await asyncio.sleep(0.05)
    return found


async def _write(
    person: User, room_id: str, body: str, reply_to: str | None = None
) -> dict[str, Any]:
    sent = await person.http.post(
        f"/api/v1/rooms/{room_id}/messages",
        json={"client_msg_id": f"c-{body[:20]}", "body": body, "reply_to": reply_to},
    )
    assert sent.status_code == 201, sent.text
    message: dict[str, Any] = sent.json()
    return message


async def _history(person: User, room_id: str) -> list[dict[str, Any]]:
    page = await person.http.get(f"/api/v1/rooms/{room_id}/messages")
    assert page.status_code == 200, page.text
    messages: list[dict[str, Any]] = page.json()["messages"]
    return messages


async def _chat_with(person: User, business: Business) -> str:
    opened = await person.http.post(
        "/api/v1/business-chats", json={"number": business.display_phone_number}
    )
    assert opened.status_code == 200, opened.text
    room_id: str = opened.json()["room_id"]
    return room_id


async def test_r16_a_business_may_not_message_someone_who_never_opted_in(
    business_server: RunningServer, sms_gateway: SmsGatewayStandIn
) -> None:
    business = await make_business(business_server)
    await customer(business_server, sms_gateway, PHONE)
    refused = await business.send({"to": PHONE[1:], "type": "text", "text": {"body": "Promo!"}})
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == 131030
    # Nothing was queued for anyone.
    assert await queued_events(business_server, business.id) == []


async def test_f9_a_conversation_the_person_starts_goes_both_ways(
    business_server: RunningServer, sms_gateway: SmsGatewayStandIn, clock: FakeClock
) -> None:
    server = business_server
    business = await make_business(server)
    budi = await customer(server, sms_gateway, PHONE)
    room_id = await _chat_with(budi, business)
    rooms = (await budi.http.get("/api/v1/rooms")).json()["rooms"]
    assert [(r["id"], r["kind"], r["name"]) for r in rooms] == [(room_id, "business", "Toko Sari")]
    profile = (await budi.http.get(f"/api/v1/business-chats/{room_id}")).json()
    assert profile["business"]["name"] == "Toko Sari" and profile["opt_in_id"] is None
    assert profile["display_phone_number"] == business.display_phone_number

    # Budi writes: the business hears it with his number, name and business-scoped id.
    hello = await _write(budi, room_id, "Halo, apakah sepatu ukuran 42 ada?")
    events = await _until(lambda: queued_events(server, business.id))
    [message] = inbound(events)
    assert message["from"] == PHONE[1:]
    assert message["type"] == "text"
    assert message["text"] == {"body": "Halo, apakah sepatu ukuran 42 ada?"}
    value = events[0]["entry"][0]["changes"][0]["value"]
    assert value["metadata"] == {
        "display_phone_number": business.display_phone_number,
        "phone_number_id": business.number_id,
    }
    [who] = value["contacts"]
    assert who["wa_id"] == PHONE[1:] and who["profile"]["name"] == budi.username.title()
    assert who["user_id"].startswith("ID.")
    assert events[0]["entry"][0]["id"] == business.id

    # Within 24 hours the business answers free-form, as a reply to his message.
    answer = await business.send(
        {
            "to": PHONE[1:],
            "type": "text",
            "text": {"body": "Ada, kak!"},
            "context": {"message_id": message["id"]},
        }
    )
    assert answer.status_code == 200, answer.text
    sent = answer.json()
    assert sent["contacts"][0]["wa_id"] == PHONE[1:]
    wamid = sent["messages"][0]["id"]
    assert wamid.startswith("wamid.")
    history = await _history(budi, room_id)
    assert [m["body"] for m in history] == ["Halo, apakah sepatu ukuran 42 ada?", "Ada, kak!"]
    assert history[1]["sender_id"] == business.number_user_id
    assert history[1]["reply_to"] == hello["id"]

    # His receipts become the statuses: sent, delivered, read, in order.
    receipts = await budi.http.post(
        f"/api/v1/rooms/{room_id}/receipts",
        json={"delivered_up_to": history[1]["position"]},
    )
    assert receipts.status_code == 200
    await budi.http.post(
        f"/api/v1/rooms/{room_id}/receipts", json={"read_up_to": history[1]["position"]}
    )
    events = await queued_events(server, business.id)
    assert statuses(events) == [(wamid, "sent"), (wamid, "delivered"), (wamid, "read")]
    read = events[-1]["entry"][0]["changes"][0]["value"]
    assert read["contacts"][0]["user_id"] == who["user_id"]
    assert read["statuses"][0]["conversation"]["origin"] == {"type": "service"}

    # The business marks his message read: his chat shows it read by the business.
    marked = await business.send({"status": "read", "message_id": message["id"]})
    assert marked.status_code == 200 and marked.json() == {"success": True}
    members = (await budi.http.get(f"/api/v1/rooms/{room_id}/members")).json()["members"]
    number = next(m for m in members if m["user_id"] == business.number_user_id)
    assert number["read_up_to"] >= hello["position"]

    # A reaction both ways.
    reacted = await budi.http.put(f"/api/v1/messages/{history[1]['id']}/reactions/👍")
    assert reacted.status_code == 204
    events = await queued_events(server, business.id)
    assert inbound(events)[-1]["reaction"] == {"message_id": wamid, "emoji": "👍"}
    back = await business.send(
        {
            "to": PHONE[1:],
            "type": "reaction",
            "reaction": {"message_id": message["id"], "emoji": "❤️"},
        }
    )
    assert back.status_code == 200
    history = await _history(budi, room_id)
    assert history[0]["reactions"] == {"❤️": [business.number_user_id]}


async def test_f9_the_window_closes_24_hours_after_the_persons_last_message(
    business_server: RunningServer, sms_gateway: SmsGatewayStandIn, clock: FakeClock
) -> None:
    server = business_server
    business = await make_business(server)
    budi = await customer(server, sms_gateway, PHONE)
    room_id = await _chat_with(budi, business)
    await _write(budi, room_id, "Halo")
    await _until(lambda: queued_events(server, business.id))
    clock.advance(25 * 3600)
    late = await business.send({"to": PHONE[1:], "type": "text", "text": {"body": "Masih ada?"}})
    # Not opted in and the window is closed: refused at once.
    assert late.status_code == 400 and late.json()["error"]["code"] == 131030
    await opt_in(business, PHONE)
    # Opted in, but free-form outside the window: accepted, then reported failed (131047).
    late = await business.send({"to": PHONE[1:], "type": "text", "text": {"body": "Masih ada?"}})
    assert late.status_code == 200
    wamid = late.json()["messages"][0]["id"]
    events = await queued_events(server, business.id)
    assert statuses(events)[-1] == (wamid, "failed")
    failed = events[-1]["entry"][0]["changes"][0]["value"]["statuses"][0]
    assert failed["errors"][0]["code"] == 131047
    assert [m["body"] for m in await _history(budi, room_id)] == ["Halo"]
    # A template at the same moment is delivered.
    await approved_template(server, business, "pengingat", "UTILITY", "Halo {{1}}, masih ada?")
    reminder = await business.send({"to": PHONE[1:], **template("pengingat", "Budi")})
    assert reminder.status_code == 200
    assert statuses(await queued_events(server, business.id))[-1] == (
        reminder.json()["messages"][0]["id"],
        "sent",
    )
    assert [m["body"] for m in await _history(budi, room_id)] == ["Halo", "Halo Budi, masih ada?"]
    # Conversations show their window state.
    listed = await business.owner.http.get(f"/api/v1/businesses/{business.id}/conversations")
    [conversation] = listed.json()["conversations"]
    assert conversation["window_open"] is False
    # He writes again: the window opens again.
    await _write(budi, room_id, "Masih, saya tunggu")
    again = await business.send({"to": PHONE[1:], "type": "text", "text": {"body": "Siap"}})
    assert again.status_code == 200
    assert [m["body"] for m in await _history(budi, room_id)][-1] == "Siap"


async def test_f9_a_number_nobody_here_verified_is_reported_undeliverable(
    business_server: RunningServer,
) -> None:
    business = await make_business(business_server)
    await opt_in(business, "+6281299990000")
    sent = await business.send({"to": "6281299990000", "type": "text", "text": {"body": "Halo"}})
    assert sent.status_code == 200
    events = await queued_events(business_server, business.id)
    failed = events[-1]["entry"][0]["changes"][0]["value"]["statuses"][0]
    assert failed["status"] == "failed" and failed["errors"][0]["code"] == 131026
    assert events[-1]["entry"][0]["changes"][0]["value"]["contacts"][0]["wa_id"] == "6281299990000"


async def test_r16_people_see_and_withdraw_the_opt_ins_businesses_hold(
    business_server: RunningServer, sms_gateway: SmsGatewayStandIn
) -> None:
    server = business_server
    business = await make_business(server)
    budi = await customer(server, sms_gateway, PHONE)
    await opt_in(business, PHONE, text="Centang untuk menerima promo Toko Sari")
    [held] = (await budi.http.get("/api/v1/me/business-opt-ins")).json()["opt_ins"]
    assert held["business_name"] == "Toko Sari"
    assert held["shown_text"] == "Centang untuk menerima promo Toko Sari"
    assert held["source"] == "web_form" and held["reference"] == "form-7"
    withdrawn = await budi.http.delete(f"/api/v1/me/business-opt-ins/{held['id']}")
    assert withdrawn.status_code == 204
    [held] = (await budi.http.get("/api/v1/me/business-opt-ins")).json()["opt_ins"]
    assert held["withdrawn_at"] is not None
    refused = await business.send({"to": PHONE[1:], "type": "text", "text": {"body": "Promo"}})
    assert refused.status_code == 400 and refused.json()["error"]["code"] == 131030


async def test_f9_buttons_lists_contacts_and_locations_and_the_answers_to_them(
    business_server: RunningServer, sms_gateway: SmsGatewayStandIn
) -> None:
    server = business_server
    business = await make_business(server)
    budi = await customer(server, sms_gateway, PHONE)
    room_id = await _chat_with(budi, business)
    await _write(budi, room_id, "Mau pesan")
    buttons = await business.send(
        {
            "to": PHONE[1:],
            "type": "interactive",
            "interactive": {
                "type": "button",
                "body": {"text": "Ambil di toko atau diantar?"},
                "action": {
                    "buttons": [
                        {"type": "reply", "reply": {"id": "pickup", "title": "Ambil"}},
                        {"type": "reply", "reply": {"id": "delivery", "title": "Diantar"}},
                    ]
                },
            },
        }
    )
    assert buttons.status_code == 200, buttons.text
    listed = await business.send(
        {
            "to": PHONE[1:],
            "type": "interactive",
            "interactive": {
                "type": "list",
                "body": {"text": "Pilih ukuran"},
                "action": {
                    "button": "Ukuran",
                    "sections": [
                        {
                            "title": "Sepatu",
                            "rows": [{"id": "s42", "title": "42"}, {"id": "s43", "title": "43"}],
                        }
                    ],
                },
            },
        }
    )
    assert listed.status_code == 200, listed.text
    for extra in (
        {
            "type": "location",
            "location": {"latitude": -7.79, "longitude": 110.36, "name": "Toko Sari"},
        },
        {
            "type": "contacts",
            "contacts": [
                {"name": {"formatted_name": "Sari"}, "phones": [{"phone": "+6281100001111"}]}
            ],
        },
    ):
        assert (await business.send({"to": PHONE[1:], **extra})).status_code == 200
    history = await _history(budi, room_id)
    shown = [m["body"] for m in history]
    assert shown[1] == "Ambil di toko atau diantar?\n[Ambil]  [Diantar]"
    assert shown[2].startswith("Pilih ukuran\nUkuran:\n• 42")
    assert "openstreetmap.org/?mlat=-7.79&mlon=110.36" in shown[3]
    assert shown[4] == "👤 Sari, +6281100001111"
    # His client is told what he may answer with.
    offered = (await budi.http.get(f"/api/v1/business-chats/{room_id}/choices")).json()
    assert offered["messages"] == [
        {"message_id": history[2]["id"], "choices": ["42", "43"]},
        {"message_id": history[1]["id"], "choices": ["Ambil", "Diantar"]},
    ]
    # Budi answers each by replying with an option's title.
    await _write(budi, room_id, "Diantar", reply_to=history[1]["id"])
    await _write(budi, room_id, "43", reply_to=history[2]["id"])
    answers = inbound(await queued_events(server, business.id))[-2:]
    assert answers[0]["type"] == "interactive"
    assert answers[0]["interactive"] == {
        "type": "button_reply",
        "button_reply": {"id": "delivery", "title": "Diantar"},
    }
    assert answers[0]["context"]["id"] == buttons.json()["messages"][0]["id"]
    assert answers[1]["interactive"] == {
        "type": "list_reply",
        "list_reply": {"id": "s43", "title": "43"},
    }
    # Bad bodies are refused with the Cloud API's codes, and nothing is sent.
    four = [{"type": "reply", "reply": {"id": f"b{i}", "title": f"B{i}"}} for i in range(4)]
    for bad, code in (
        (
            {
                "type": "interactive",
                "interactive": {
                    "type": "button",
                    "body": {"text": "x"},
                    "action": {"buttons": four},
                },
            },
            131009,
        ),
        ({"type": "text", "text": {}}, 131008),
        ({"type": "telepathy"}, 131009),
        ({"type": "text", "text": {"body": "x" * 4097}}, 131009),
    ):
        refused = await business.send({"to": PHONE[1:], **bad})
        assert refused.status_code == 400 and refused.json()["error"]["code"] == code, bad
    assert len(await _history(budi, room_id)) == 7


async def test_r16_stop_and_mulai_answered_in_the_persons_language(
    business_server: RunningServer, sms_gateway: SmsGatewayStandIn
) -> None:
    server = business_server
    business = await make_business(server, name="Toko Sari")
    budi = await customer(server, sms_gateway, PHONE)
    await opt_in(business, PHONE)
    room_id = await _chat_with(budi, business)
    await _write(budi, room_id, "BERHENTI")
    confirmation = await _until(lambda: _replies(budi, room_id, business.number_user_id))
    assert confirmation[-1] == (
        "Anda tidak akan lagi menerima pesan pemasaran dari Toko Sari."
        " Balas MULAI untuk menerimanya lagi."
    )
    [held] = (await budi.http.get("/api/v1/me/business-opt-ins")).json()["opt_ins"]
    assert held["marketing_stopped_at"] is not None
    # The business is told of the word itself, as any message.
    assert inbound(await queued_events(server, business.id))[-1]["text"] == {"body": "BERHENTI"}
    await _write(budi, room_id, "start")
    await _until(lambda: _replies(budi, room_id, business.number_user_id, at_least=2))
    replies = await _replies(budi, room_id, business.number_user_id)
    assert replies[-1].startswith("You will get marketing messages from Toko Sari again.")
    [held] = (await budi.http.get("/api/v1/me/business-opt-ins")).json()["opt_ins"]
    assert held["marketing_stopped_at"] is None


async def _replies(person: User, room_id: str, number_user_id: str, at_least: int = 1) -> list[str]:
    mine = [m["body"] for m in await _history(person, room_id) if m["sender_id"] == number_user_id]
    return mine if len(mine) >= at_least else []


async def test_f9_an_uploaded_image_sent_by_id_is_the_persons_to_download(
    business_server: RunningServer, sms_gateway: SmsGatewayStandIn
) -> None:
    server = business_server
    business = await make_business(server)
    budi = await customer(server, sms_gateway, PHONE)
    stranger = await customer(server, sms_gateway, "+6281234500009")
    room_id = await _chat_with(budi, business)
    await _write(budi, room_id, "Boleh lihat fotonya?")
    photo = jpeg()
    media_id = await uploaded(business, photo)
    sent = await business.send(
        {"to": PHONE[1:], "type": "image", "image": {"id": media_id, "caption": "Sepatu 42"}}
    )
    assert sent.status_code == 200, sent.text
    assert (await _history(budi, room_id))[-1]["body"] == "📷 Photo\nSepatu 42"
    mine = await budi.http.get(f"/api/v1/business-media/{media_id}")
    assert mine.status_code == 200 and mine.content == photo
    assert (await stranger.http.get(f"/api/v1/business-media/{media_id}")).status_code == 404
    # Another business's media id is refused, and nothing is sent.
    other = await make_business(server, name="Lain", phone="+6281100003333")
    foreign = await other.send({"to": PHONE[1:], "type": "image", "image": {"id": media_id}})
    assert foreign.status_code == 400 and foreign.json()["error"]["code"] == 131053


async def test_r4_erasing_a_person_removes_their_business_conversations_and_opt_ins(
    business_server: RunningServer, sms_gateway: SmsGatewayStandIn
) -> None:
    server = business_server
    business = await make_business(server)
    budi = await customer(server, sms_gateway, PHONE)
    await opt_in(business, PHONE)
    room_id = await _chat_with(budi, business)
    await _write(budi, room_id, "Halo")
    removed = await server.services.erasure.erase(budi.id, request_id=None)
    assert removed["business_conversations"] == 1 and removed["business_opt_ins"] == 1
    listed = await business.owner.http.get(f"/api/v1/businesses/{business.id}/conversations")
    assert listed.json()["conversations"] == []
    held = await business.graph.get(f"{GRAPH}/{business.id}/opt_ins", params={"phone": PHONE})
    assert held.json() == {"data": []}


async def test_r16_after_stop_a_marketing_template_fails_with_131050_and_after_mulai_it_goes(
    business_server: RunningServer, sms_gateway: SmsGatewayStandIn
) -> None:
    server = business_server
    business = await make_business(server)
    budi = await customer(server, sms_gateway, PHONE)
    await approved_template(server, business, "promo_hari_ini", "MARKETING")
    await approved_template(
        server, business, "pesanan_siap", "UTILITY", "Pesanan {{1}} siap.", ["A-1"]
    )
    # Never opted in: refused at once, template or not.
    refused = await business.send({"to": PHONE[1:], **template("promo_hari_ini", "Budi")})
    assert refused.status_code == 400 and refused.json()["error"]["code"] == 131030
    await opt_in(business, PHONE)
    first = await business.send({"to": PHONE[1:], **template("promo_hari_ini", "Budi")})
    assert first.status_code == 200 and first.json()["messages"][0]["message_status"] == "accepted"
    room_id = (await budi.http.get("/api/v1/rooms")).json()["rooms"][0]["id"]
    assert [m["body"] for m in await _history(budi, room_id)] == [
        "Halo Budi, ada diskon 20% hari ini."
    ]
    await _write(budi, room_id, "STOP")
    await _until(lambda: _replies(budi, room_id, business.number_user_id, at_least=2))
    stopped = await business.send({"to": PHONE[1:], **template("promo_hari_ini", "Budi")})
    assert stopped.status_code == 200
    wamid = stopped.json()["messages"][0]["id"]
    events = await queued_events(server, business.id)
    failed = events[-1]["entry"][0]["changes"][0]["value"]["statuses"][0]
    assert (failed["id"], failed["status"]) == (wamid, "failed")
    assert failed["errors"][0]["code"] == 131050
    # A utility template still goes.
    utility = await business.send({"to": PHONE[1:], **template("pesanan_siap", "A-2")})
    assert statuses(await queued_events(server, business.id))[-1] == (
        utility.json()["messages"][0]["id"],
        "sent",
    )
    await _write(budi, room_id, "MULAI")
    await _until(lambda: _replies(budi, room_id, business.number_user_id, at_least=4))
    again = await business.send({"to": PHONE[1:], **template("promo_hari_ini", "Budi")})
    assert statuses(await queued_events(server, business.id))[-1] == (
        again.json()["messages"][0]["id"],
        "sent",
    )
    assert (await _history(budi, room_id))[-1]["body"] == "Halo Budi, ada diskon 20% hari ini."


async def test_f9_a_number_sending_too_fast_is_told_130429(
    database_url: str, tmp_path: Path, clock: FakeClock, sms_gateway: SmsGatewayStandIn
) -> None:
    server = await start_business_server(
        database_url, tmp_path, clock, sms_gateway, business_sends_per_second=3
    )
    try:
        business = await make_business(server)
        await opt_in(business, "+6281299990000")
        body = {"to": "6281299990000", "type": "text", "text": {"body": "Halo"}}
        answers = [await business.send(body) for _ in range(4)]
        assert [a.status_code for a in answers] == [200, 200, 200, 429]
        assert answers[-1].json()["error"]["code"] == 130429
        clock.advance(1)
        assert (await business.send(body)).status_code == 200
    finally:
        await server.shutdown()


async def test_r1_my_export_holds_the_opt_ins_businesses_hold_for_me(
    business_server: RunningServer, sms_gateway: SmsGatewayStandIn
) -> None:
    server = business_server
    business = await make_business(server)
    budi = await customer(server, sms_gateway, PHONE)
    await opt_in(business, PHONE, text="Centang untuk kabar promo")
    collected = await exported(server, budi)
    [held] = collected["business_opt_ins"]
    assert held["business_id"] == business.id and held["business_name"] == "Toko Sari"
    assert held["shown_text"] == "Centang untuk kabar promo"
    assert held["source"] == "web_form" and held["withdrawn_at"] is None
    assert collected["counts"]["business_opt_ins"] == 1


async def exported(server: RunningServer, person: User) -> dict[str, Any]:
    """The person's export (R1) as its export.json, checked against the shipped schema."""
    await request_export(server, person.id)
    listed = (await person.http.get("/api/v1/privacy/exports")).json()["exports"]
    download = await person.http.get(f"/api/v1/privacy/exports/{listed[0]['id']}")
    with zipfile.ZipFile(io.BytesIO(download.content)) as archive:
        collected: dict[str, Any] = json.loads(archive.read("export.json"))
    jsonschema.Draft202012Validator(
        SCHEMA, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    ).validate(collected)
    return collected


async def test_r9_each_message_shared_with_a_business_is_recorded_by_id(
    business_server: RunningServer, sms_gateway: SmsGatewayStandIn
) -> None:
    server = business_server
    business = await make_business(server)
    budi = await customer(server, sms_gateway, PHONE)
    room_id = await _chat_with(budi, business)
    first = await _write(budi, room_id, "Halo")
    second = await _write(budi, room_id, "Ada yang ukuran 42?")
    async with server.services.db.read() as conn:
        shared = [
            (entry.actor_id, entry.subject_id, orjson.loads(entry.detail))
            async for entry in audit_store.all_audit_entries(conn)
            if entry.action == "business.message_shared"
        ]
    assert shared == [
        (budi.id, budi.id, {"business_id": business.id, "message_id": m["id"]})
        for m in (first, second)
    ]
