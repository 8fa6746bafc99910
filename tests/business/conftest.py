"""Business fixtures: a server on a fake clock whose SMS reach a stand-in gateway, people
with verified phones, and a business with a sender number and a system token."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
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


@pytest.fixture
async def business_server(
    database_url: str, tmp_path: Path, clock: FakeClock, sms_gateway: SmsGatewayStandIn
) -> AsyncIterator[RunningServer]:
    running = await start_server(
        database_url,
        tmp_path,
        clock=clock,
        sms_backend="webhook",
        sms_webhook_url=sms_gateway.url,
        sms_webhook_secret=SMS_SECRET,
        jobs_poll_seconds=0.05,
    )
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
