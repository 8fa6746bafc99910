"""F9: client libraries written by others drive the business API unchanged.

pywa 4.5 (pywa_async) talks to obrolan through an httpx transport (it has no base-URL
argument) and receives the person's replies and the statuses through its own FastAPI
webhook handler, served here, with its `app_secret` signature check on. heyoo is pointed
at obrolan by its base-URL attributes.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import heyoo
import httpx
import pytest
from fastapi import FastAPI
from pywa_async import WhatsApp
from pywa_async.types import Message, MessageStatus, MessageStatusType
from pywa_async.types import templates as t

from obrolan.admin import OPERATOR
from obrolan.clock import FakeClock
from tests.business.conftest import GRAPH, Business, customer, make_business, opt_in
from tests.business.test_media import jpeg
from tests.business.test_messages import _chat_with, _history, _write
from tests.business.test_webhooks import until
from tests.business.webhook_receiver import Receiver
from tests.support.outbound import SmsGatewayStandIn
from tests.support.server import RunningServer, serving

PHONE = "+6281234500003"
VERIFY_TOKEN = "token-verifikasi"
APP_SECRET = "rahasia-aplikasi"
WAIT = 60


class _ToObrolan(httpx.AsyncHTTPTransport):
    """pywa's Graph requests (to graph.facebook.com), sent to the test server instead."""

    def __init__(self, port: int) -> None:
        super().__init__()
        self.port = port

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        request.url = request.url.copy_with(scheme="http", host="127.0.0.1", port=self.port)
        return await super().handle_async_request(request)


class _Updates:
    """What pywa's handlers received, in order."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.statuses: list[MessageStatus] = []
        self.arrived = asyncio.Event()

    async def until(self, check: Any) -> None:
        async with asyncio.timeout(WAIT):
            while not check():
                self.arrived.clear()
                await self.arrived.wait()


def _pywa(session: httpx.AsyncClient, business: Business, receiver: FastAPI) -> WhatsApp:
    return WhatsApp(
        phone_id=business.number_id,
        token=business.token,
        waba_id=business.id,
        api_version="25.0",
        session=session,
        server=receiver,
        webhook_endpoint="/whatsapp",
        verify_token=VERIFY_TOKEN,
        app_secret=APP_SECRET,
    )


async def _approved_template(server: RunningServer, business: Business) -> None:
    made = await business.graph.post(
        f"{GRAPH}/{business.id}/message_templates",
        json={
            "name": "order_ready",
            "language": "id",
            "category": "UTILITY",
            "components": [
                {
                    "type": "BODY",
                    "text": "Halo {{1}}, pesanan {{2}} siap diambil.",
                    "example": {"body_text": [["Budi", "A-17"]]},
                }
            ],
        },
    )
    assert made.status_code == 200, made.text
    # The operator's review (docs/business-api.md#templates).
    await server.services.templates.approve(OPERATOR, made.json()["id"])


async def test_f9_pywa_sends_and_receives_through_obrolan_unchanged(
    business_server: RunningServer, sms_gateway: SmsGatewayStandIn, clock: FakeClock
) -> None:
    server = business_server
    business = await make_business(server)
    budi = await customer(server, sms_gateway, PHONE)
    await opt_in(business, PHONE)
    receiver = FastAPI()
    session = httpx.AsyncClient(transport=_ToObrolan(server.port), timeout=30)
    wa = _pywa(session, business, receiver)
    updates = _Updates()

    @wa.on_message()
    async def message(_: WhatsApp, msg: Message) -> None:
        updates.messages.append(msg)
        updates.arrived.set()

    @wa.on_message_status()
    async def status(_: WhatsApp, st: MessageStatus) -> None:
        updates.statuses.append(st)
        updates.arrived.set()

    async with session, serving(receiver) as url:
        # obrolan verifies the callback with hub.challenge: pywa's own handler answers.
        subscribed = await business.owner.http.put(
            f"/api/v1/businesses/{business.id}/webhook",
            json={
                "callback_url": f"{url}/whatsapp",
                "verify_token": VERIFY_TOKEN,
                "app_secret": APP_SECRET,
            },
        )
        assert subscribed.status_code == 200, subscribed.text

        # A template to an opted-in person, at any time.
        await _approved_template(server, business)
        sent = await wa.send_template(
            to=PHONE[1:],
            name="order_ready",
            language=t.TemplateLanguage.INDONESIAN,
            params=[t.BodyText.params("Budi", "A-17")],
        )
        room_id = (await budi.http.get("/api/v1/rooms")).json()["rooms"][0]["id"]
        assert [m["body"] for m in await _history(budi, room_id)] == [
            "Halo Budi, pesanan A-17 siap diambil."
        ]
        await updates.until(lambda: len(updates.statuses) >= 1)
        assert updates.statuses[0].id == sent.id
        assert updates.statuses[0].status == MessageStatusType.SENT

        # Budi answers; pywa's handler gets it, signature checked.
        await _write(budi, room_id, "Baik, saya ambil sore ini")
        await updates.until(lambda: len(updates.messages) >= 1)
        reply = updates.messages[0]
        assert reply.text == "Baik, saya ambil sore ini"
        assert reply.from_user.wa_id == PHONE[1:]

        # In the window: a text as a reply, an uploaded image, and the read receipt.
        text = await wa.send_message(
            to=PHONE[1:], text="Siap, kami tunggu", reply_to_message_id=reply.id
        )
        media = await wa.upload_media(jpeg(), mime_type="image/jpeg", filename="struk.jpg")
        image = await wa.send_image(to=PHONE[1:], image=media.id, caption="Struk Anda")
        await wa.mark_message_as_read(reply.id)
        history = await _history(budi, room_id)
        assert [m["body"] for m in history][-2:] == ["Siap, kami tunggu", "📷 Photo\nStruk Anda"]
        assert history[-2]["reply_to"] == history[1]["id"]
        photo = await budi.http.get(f"/api/v1/business-media/{media.id}")
        assert photo.status_code == 200 and photo.content == jpeg()

        # Budi reads everything: pywa sees delivered and read for each message.
        await budi.http.post(
            f"/api/v1/rooms/{room_id}/receipts", json={"read_up_to": history[-1]["position"]}
        )
        wanted = {(m, s) for m in (sent.id, text.id, image.id) for s in ("delivered", "read")}
        await updates.until(
            lambda: wanted <= {(s.id, str(s.status.value)) for s in updates.statuses}
        )
        assert all(s.from_user.wa_id == PHONE[1:] for s in updates.statuses)
    await wa._api._session.aclose()


# heyoo's upload_media opens the file and never closes it (heyoo 0.1.2): the ResourceWarning
# that leaves is heyoo's, not obrolan's.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
async def test_f9_heyoo_sends_through_obrolan_by_its_base_url(
    business_server: RunningServer,
    sms_gateway: SmsGatewayStandIn,
    tmp_path: Path,
) -> None:
    server = business_server
    business = await make_business(server)
    budi = await customer(server, sms_gateway, PHONE)
    receiver = Receiver()
    await receiver.start()
    try:
        subscribed = await business.owner.http.put(
            f"/api/v1/businesses/{business.id}/webhook",
            json={
                "callback_url": receiver.url,
                "verify_token": receiver.verify_token,
                "app_secret": receiver.app_secret,
            },
        )
        assert subscribed.status_code == 200, subscribed.text
        wa = heyoo.WhatsApp(business.token, phone_number_id=business.number_id)
        # heyoo's three base-URL attributes (COMPAT.md §2), pointed at obrolan.
        wa.base_url = f"{server.base_url}/v15.0"
        wa.v15_base_url = wa.base_url
        wa.url = f"{wa.base_url}/{business.number_id}/messages"

        room_id = await _chat_with(budi, business)
        await _write(budi, room_id, "Halo, toko buka hari Minggu?")
        await until(lambda: len(receiver.accepted()) >= 1)
        # heyoo reads the person's message from the webhook body it would be given.
        inbound = receiver.accepted()[0]
        assert inbound.signature_ok
        assert wa.is_message(inbound.json)
        assert wa.get_message(inbound.json) == "Halo, toko buka hari Minggu?"
        assert wa.get_mobile(inbound.json) == PHONE[1:]
        their_id = wa.get_message_id(inbound.json)

        # heyoo's calls are blocking (requests): each runs in a thread.
        answered = await asyncio.to_thread(wa.reply_to_message, their_id, PHONE[1:], "Buka, kak")
        assert answered["messages"][0]["id"].startswith("wamid.")
        photo = tmp_path / "toko.jpg"
        photo.write_bytes(jpeg())
        uploaded = await asyncio.to_thread(wa.upload_media, str(photo))
        assert uploaded is not None and "id" in uploaded
        sent = await asyncio.to_thread(
            wa.send_image, uploaded["id"], PHONE[1:], caption="Etalase kami", link=False
        )
        assert "messages" in sent, sent
        read = await asyncio.to_thread(wa.mark_as_read, their_id)
        assert read == {"success": True}
        history = await _history(budi, room_id)
        assert [m["body"] for m in history][1:] == ["Buka, kak", "📷 Photo\nEtalase kami"]
        assert history[1]["reply_to"] == history[0]["id"]
        # The statuses reach the callback, and heyoo reads them.
        await budi.http.post(
            f"/api/v1/rooms/{room_id}/receipts", json={"read_up_to": history[-1]["position"]}
        )
        await until(lambda: "read" in [wa.get_delivery(r.json) for r in receiver.accepted()])
        assert all(r.signature_ok for r in receiver.accepted())
    finally:
        await receiver.stop()
