"""R2: business messages and their media are deleted 30 days after delivery by the
retention sweep, from the person's chat and from the webhook log's bodies too, with
evidence in the audit log."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from obrolan.business.models import business_messages, business_webhook_events
from obrolan.clock import FakeClock
from tests.business.conftest import customer, make_business, opt_in, start_business_server
from tests.business.test_media import jpeg, uploaded
from tests.business.test_messages import _chat_with, _history, _write
from tests.privacy.sweeping import SWEEP_SECONDS, first_sweep_done, run_next_sweep, runs
from tests.support.outbound import SmsGatewayStandIn
from tests.support.server import RunningServer

PHONE = "+6281234500002"
DAY = 86_400


@pytest.fixture
async def sweeping_server(
    database_url: str, tmp_path: Path, clock: FakeClock, sms_gateway: SmsGatewayStandIn
) -> AsyncIterator[RunningServer]:
    running = await start_business_server(
        database_url, tmp_path, clock, sms_gateway, retention_sweep_seconds=SWEEP_SECONDS
    )
    try:
        yield running
    finally:
        await running.shutdown()


async def test_r2_business_messages_are_deleted_30_days_after_delivery(
    sweeping_server: RunningServer, sms_gateway: SmsGatewayStandIn, clock: FakeClock
) -> None:
    server = sweeping_server
    await first_sweep_done(server, clock)
    business = await make_business(server)
    budi = await customer(server, sms_gateway, PHONE)
    await opt_in(business, PHONE)
    room_id = await _chat_with(budi, business)
    await _write(budi, room_id, "Pesanan saya sudah dikirim?")
    old = await business.send({"to": PHONE[1:], "type": "text", "text": {"body": "Sudah, kak"}})
    assert old.status_code == 200
    media_id = await uploaded(business, jpeg())
    photo = await business.send({"to": PHONE[1:], "type": "image", "image": {"id": media_id}})
    assert photo.status_code == 200
    [*_, answer] = await _history(budi, room_id)
    await budi.http.post(
        f"/api/v1/rooms/{room_id}/receipts", json={"read_up_to": answer["position"]}
    )
    # Ten days later, a newer exchange.
    clock.advance(10 * DAY)
    await _write(budi, room_id, "Terima kasih!")
    newer = await business.send({"to": PHONE[1:], "type": "text", "text": {"body": "Sama-sama"}})
    assert newer.status_code == 200

    # 31 days after the first delivery: the first two messages go, the newer ones stay.
    clock.advance(21 * DAY)
    await run_next_sweep(server, clock)
    assert [m["body"] for m in await _history(budi, room_id)] == ["Terima kasih!", "Sama-sama"]
    async with server.services.db.read() as conn:
        kept = (await conn.execute(select(business_messages.c.id))).scalars().all()
    assert sorted(kept) == sorted(
        [newer.json()["messages"][0]["id"], "wamid." + (await _history(budi, room_id))[0]["id"]]
    )
    # The run's evidence names the rule and what it removed.
    removed: dict[str, int] = {}
    for run in await runs(server):
        for table, n in run["rules"].get("business-messages", {}).get("removed", {}).items():
            removed[table] = removed.get(table, 0) + n
    assert removed == {
        "business_messages": 3,
        "messages": 3,
        "reactions": 0,
        "business_media": 1,
    }
    assert (await budi.http.get(f"/api/v1/business-media/{media_id}")).status_code == 404
    # The webhook events about the old messages keep no body (their text); newer ones do.
    async with server.services.db.read() as conn:
        bodies = (
            await conn.execute(
                select(business_webhook_events.c.created_at, business_webhook_events.c.body_enc)
            )
        ).all()
    cutoff = clock.now() - timedelta(days=30)
    assert {at < cutoff for at, _ in bodies} == {True, False}
    assert all((body is None) == (at < cutoff) for at, body in bodies)
