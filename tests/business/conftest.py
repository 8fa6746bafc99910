"""Business fixtures: a server on a fake clock whose SMS reach a stand-in gateway, people
with verified phones, and a business with a sender number and a system token."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from obrolan.clock import FakeClock
from tests.accounts.conftest import SMS_SECRET
from tests.support.factories import User, make_user
from tests.support.outbound import SmsGatewayStandIn, code_in
from tests.support.server import RunningServer, start_server

GRAPH = "/v25.0"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


async def start_business_server(
    database_url: str,
    tmp_path: Path,
    clock: FakeClock,
    sms_gateway: SmsGatewayStandIn,
    **overrides: object,
) -> RunningServer:
    return await start_server(
        database_url,
        tmp_path,
        clock=clock,
        sms_backend="webhook",
        sms_webhook_url=sms_gateway.url,
        sms_webhook_secret=SMS_SECRET,
        jobs_poll_seconds=0.05,
        **overrides,
    )


@pytest.fixture
async def business_server(
    database_url: str, tmp_path: Path, clock: FakeClock, sms_gateway: SmsGatewayStandIn
) -> AsyncIterator[RunningServer]:
    running = await start_business_server(database_url, tmp_path, clock, sms_gateway)
    try:
        yield running
    finally:
        await running.shutdown()


async def customer(
    server: RunningServer, sms: SmsGatewayStandIn, phone: str, username: str | None = None
) -> User:
    """A person here whose phone number is verified by the code sent to it."""
    person = await make_user(server, username, phone=phone)
    e164 = "+" + "".join(c for c in phone if c.isdigit())
    async with asyncio.timeout(10):
        while True:
            sent = [c for c in sms.calls.items if c.json["to"] == e164]
            if sent:
                break
            await asyncio.sleep(0.02)
    code = code_in(sent[-1].json["text"])
    resp = await person.http.post("/api/v1/me/phone/verify", json={"code": code})
    assert resp.status_code == 200, resp.text
    return person


@dataclass
class Business:
    id: str  # the WABA id
    number_id: str  # the phone_number_id
    number_user_id: str  # the account that speaks for the number in chats
    display_phone_number: str
    token: str
    owner: User
    graph: httpx.AsyncClient  # Bearer-authenticated, for /v25.0/...

    async def send(self, body: dict[str, Any]) -> httpx.Response:
        return await self.graph.post(
            f"{GRAPH}/{self.number_id}/messages", json={"messaging_product": "whatsapp", **body}
        )


async def make_business(
    server: RunningServer,
    owner: User | None = None,
    *,
    name: str = "Toko Sari",
    phone: str = "+6281100001111",
) -> Business:
    owner = owner or await make_user(server)
    made = await owner.http.post("/api/v1/businesses", json={"name": name})
    assert made.status_code == 201, made.text
    business_id = made.json()["id"]
    number = await owner.http.post(
        f"/api/v1/businesses/{business_id}/numbers", json={"phone": phone}
    )
    assert number.status_code == 201, number.text
    token = await owner.http.post(
        f"/api/v1/businesses/{business_id}/tokens", json={"name": "sistem"}
    )
    assert token.status_code == 201, token.text
    secret = token.json()["token"]
    return Business(
        business_id,
        number.json()["id"],
        number.json()["user_id"],
        number.json()["display_phone_number"],
        secret,
        owner,
        server.http(secret),
    )


async def queued_events(server: RunningServer, business_id: str) -> list[dict[str, Any]]:
    """The webhook events queued for a business, oldest first, as their POST bodies."""
    from sqlalchemy import select

    from obrolan.business.models import business_webhook_events
    from obrolan.business.webhooks import body_aad
    from obrolan.crypto import open_sealed

    services = server.services
    key = await services.data_keys.get(business_id)
    async with services.db.read() as conn:
        rows = (
            await conn.execute(
                select(business_webhook_events)
                .where(business_webhook_events.c.business_id == business_id)
                .order_by(business_webhook_events.c.id)
            )
        ).all()
    return [orjson.loads(open_sealed(key, r.body_enc, body_aad(r.id))) for r in rows]


def values(events: list[dict[str, Any]], field: str = "messages") -> list[dict[str, Any]]:
    return [
        change["value"]
        for event in events
        for entry in event["entry"]
        for change in entry["changes"]
        if change["field"] == field
    ]


def statuses(events: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(wamid, status) of every status event, in order."""
    return [(s["id"], s["status"]) for v in values(events) for s in v.get("statuses", [])]


def inbound(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [m for v in values(events) for m in v.get("messages", [])]


async def opt_in(business: Business, phone: str, text: str = "Saya mau kabar promo") -> None:
    recorded = await business.graph.post(
        f"{GRAPH}/{business.id}/opt_ins",
        json={"phone": phone, "source": "web_form", "shown_text": text, "reference": "form-7"},
    )
    assert recorded.status_code == 200, recorded.text


async def approved_template(
    server: RunningServer,
    business: Business,
    name: str,
    category: str,
    text: str = "Halo {{1}}, ada diskon 20% hari ini.",
    example: list[str] | None = None,
    language: str = "id",
) -> str:
    """A template submitted through the Cloud API and approved by an operator; its id."""
    from obrolan.admin import OPERATOR

    made = await business.graph.post(
        f"{GRAPH}/{business.id}/message_templates",
        json={
            "name": name,
            "language": language,
            "category": category,
            "components": [
                {"type": "BODY", "text": text, "example": {"body_text": [example or ["Budi"]]}}
            ],
        },
    )
    assert made.status_code == 200, made.text
    template_id: str = made.json()["id"]
    await server.services.templates.approve(OPERATOR, template_id)
    return template_id


def template(name: str, *params: str, language: str = "id") -> dict[str, Any]:
    """A send of a template with positional body parameters."""
    return {
        "type": "template",
        "template": {
            "name": name,
            "language": {"code": language},
            "components": [
                {"type": "body", "parameters": [{"type": "text", "text": p} for p in params]}
            ],
        },
    }
