"""F9: a sender number configured to relay passes sends to numbers nobody here verified
on to an upstream Cloud API (here a local stand-in that follows the documented contract)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.business.conftest import customer, make_business, opt_in, queued_events
from tests.support.cloud_api_stand_in import CloudApiStandIn
from tests.support.outbound import SmsGatewayStandIn
from tests.support.server import RunningServer

UPSTREAM_TOKEN = "EAAupstream-token"


@pytest.fixture
async def upstream() -> AsyncIterator[CloudApiStandIn]:
    stand_in = CloudApiStandIn(UPSTREAM_TOKEN)
    await stand_in.start()
    try:
        yield stand_in
    finally:
        await stand_in.stop()


async def test_f9_sends_to_numbers_nobody_here_has_go_to_the_upstream_cloud_api(
    business_server: RunningServer, sms_gateway: SmsGatewayStandIn, upstream: CloudApiStandIn
) -> None:
    server = business_server
    business = await make_business(server)
    base = f"/api/v1/businesses/{business.id}/numbers/{business.number_id}/relay"
    configured = await business.owner.http.put(
        base, json={"base_url": upstream.base_url("109876"), "token": UPSTREAM_TOKEN}
    )
    assert configured.status_code == 200, configured.text
    assert configured.json()["relay_base_url"] == upstream.base_url("109876")
    body = {"to": "6281277770000", "type": "text", "text": {"body": "Pesanan siap diambil"}}
    # R16 holds for relayed sends: no opt-in, nothing leaves.
    refused = await business.send(body)
    assert refused.status_code == 400 and refused.json()["error"]["code"] == 131030
    assert upstream.calls.items == []
    await opt_in(business, "+6281277770000")
    sent = await business.send(body)
    # The upstream's answer, its id included, is the business's answer.
    assert sent.status_code == 200, sent.text
    assert sent.json()["messages"] == [{"id": "wamid.upstream1"}]
    call = await upstream.calls.nth(1)
    assert call.path == "/v21.0/109876/messages"
    assert call.headers["authorization"] == f"Bearer {UPSTREAM_TOKEN}"
    assert call.body == {"messaging_product": "whatsapp", **body}
    # Nothing is reported by obrolan for it: the upstream's webhooks do.
    assert await queued_events(server, business.id) == []

    # A number someone here verified stays here.
    person = await customer(server, sms_gateway, "+6281277771111")
    await opt_in(business, "+6281277771111")
    await person.http.post("/api/v1/business-chats", json={"number": business.display_phone_number})
    here = await business.send({"to": "6281277771111", "type": "text", "text": {"body": "Halo"}})
    assert here.status_code == 200 and here.json()["messages"][0]["id"] != "wamid.upstream2"
    assert len(upstream.calls.items) == 1

    # The upstream's errors come back as they were.
    await business.owner.http.put(
        base, json={"base_url": upstream.base_url("109876"), "token": "wrong"}
    )
    refused = await business.send(body)
    assert refused.status_code == 401 and refused.json()["error"]["code"] == 190
    # Turned off, such a send is reported undeliverable again.
    await business.owner.http.put(base, json={"base_url": None, "token": None})
    alone = await business.send(body)
    assert alone.status_code == 200
    failed = (await queued_events(server, business.id))[-1]["entry"][0]["changes"][0]["value"]
    assert failed["statuses"][0]["errors"][0]["code"] == 131026
