"""F9 (item 7): webhook subscription with the Cloud API's verification, signed delivery
in order per conversation with retries, giving up, the delivery log and replay."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from pywa import utils as pywa_utils
from sqlalchemy import select

from obrolan.business import webhook_store
from obrolan.business.models import business_webhook_events
from obrolan.business.webhooks import EventIds, id_after
from obrolan.clock import FakeClock
from obrolan.jobs import Worker
from obrolan.jobs.models import jobs
from obrolan.jobs.rules import JobState
from tests.business.conftest import GRAPH, Business, make_business
from tests.business.webhook_receiver import Receiver
from tests.support.cli import obrolan_cli
from tests.support.factories import make_room, make_user
from tests.support.server import RunningServer, start_server

WAIT = 60.0
TOKEN = Receiver.verify_token


@pytest.fixture
async def server(
    database_url: str, tmp_path: Path, clock: FakeClock
) -> AsyncIterator[RunningServer]:
    running = await start_server(
        database_url,
        tmp_path,
        clock=clock,
        jobs_poll_seconds=0.05,
        business_webhook_retry_days=1,
        business_webhook_timeout_seconds=30,
    )
    try:
        yield running
    finally:
        await running.shutdown()


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    endpoint = Receiver(mark=key_of)
    await endpoint.start()
    try:
        yield endpoint
    finally:
        endpoint.released.set()
        await endpoint.stop()


def key_of(body: bytes) -> str:
    """The conversation a test event is about (its text is '<key> <n>')."""
    return text_of(body).split(" ")[0]


def text_of(body: bytes) -> str:
    value = orjson.loads(body)["entry"][0]["changes"][0]["value"]
    return str(value["messages"][0]["text"]["body"])


def message(business: Business, key: str, n: int) -> dict[str, Any]:
    """A Cloud API inbound-message value, as pywa 4 parses it."""
    return {
        "messaging_product": "whatsapp",
        "metadata": {
            "display_phone_number": business.display_phone_number,
            "phone_number_id": business.number_id,
        },
        "contacts": [{"profile": {"name": "Budi"}, "wa_id": "6281234", "user_id": "ID.1"}],
        "messages": [
            {
                "from": "6281234",
                "id": f"wamid.{key}.{n}",
                "timestamp": "1767225600",
                "type": "text",
                "text": {"body": f"{key} {n}"},
            }
        ],
    }


async def emit(server: RunningServer, business: Business, key: str, n: int) -> str:
    services = server.services
    async with services.stream.transaction() as tx:
        event_id: str = await services.webhooks.emit(
            tx, business.id, f"c:{key}", "messages", message(business, key, n)
        )
    return event_id


async def subscribe(business: Business, receiver: Receiver, path: str = "/wh") -> Any:
    return await business.owner.http.put(
        f"/api/v1/businesses/{business.id}/webhook",
        json={
            "callback_url": f"http://127.0.0.1:{receiver.port}{path}",
            "verify_token": TOKEN,
            "app_secret": receiver.app_secret,
        },
    )


async def until(check: Callable[[], Awaitable[bool]] | Callable[[], bool]) -> None:
    async with asyncio.timeout(WAIT):
        while True:
            done = check()
            if not isinstance(done, bool):
                done = await done
            if done:
                return
            await asyncio.sleep(0.02)


async def settled(server: RunningServer) -> None:
    """Every webhook job due at the fake clock's time has run."""
    services = server.services

    async def nothing_due() -> bool:
        async with services.db.read() as conn:
            found = await conn.execute(
                select(jobs.c.id).where(
                    jobs.c.kind == "business.webhook",
                    jobs.c.state.in_((JobState.QUEUED, JobState.RUNNING, JobState.FAILED)),
                    jobs.c.run_at <= services.clock.now(),
                )
            )
            return found.first() is None

    await until(nothing_due)


async def states(server: RunningServer, business: Business) -> dict[str, str]:
    async with server.services.db.read() as conn:
        rows = await conn.execute(
            select(business_webhook_events.c.id, business_webhook_events.c.state).where(
                business_webhook_events.c.business_id == business.id
            )
        )
        return {r.id: r.state for r in rows}


def in_order_once(receiver: Receiver, keys: list[str], count: int) -> None:
    """Each key's events were accepted once each, in the order made, validly signed."""
    for key in keys:
        texts = [text_of(r.body) for r in receiver.accepted() if key_of(r.body) == key]
        assert texts == [f"{key} {n}" for n in range(count)]
    assert all(r.signature_ok for r in receiver.received)


async def test_f9_subscribing_runs_the_callbacks_verification(
    server: RunningServer, receiver: Receiver
) -> None:
    business = await make_business(server)
    base = f"/api/v1/businesses/{business.id}/webhook"
    # An event made before any subscription waits for one.
    await emit(server, business, "a", 0)

    receiver.verify_token = "another"  # the callback expects another token: 403
    refused = await subscribe(business, receiver)
    assert refused.status_code == 422, refused.text
    problem = refused.json()
    assert problem["type"].endswith("/webhook-verification-failed")
    assert problem["callback_status"] == 403 and "403" in problem["detail"]

    receiver.verify_token = TOKEN
    receiver.echo_challenge = False  # 200, but not the challenge
    refused = await subscribe(business, receiver)
    assert refused.status_code == 422
    assert refused.json()["callback_status"] == 200
    assert refused.json()["callback_answer"] == "OK"
    assert (await business.owner.http.get(base)).status_code == 404

    receiver.echo_challenge = True
    made = await subscribe(business, receiver)
    assert made.status_code == 200, made.text
    shown = (await business.owner.http.get(base)).json()
    assert shown["callback_url"] == receiver.url and shown["verified_at"]
    assert "app_secret" not in shown and "verify_token" not in shown
    # The waiting event goes once subscribed.
    await until(lambda: len(receiver.accepted()) == 1)
    assert receiver.accepted()[0].signature_ok

    # Only the owner and admins manage it.
    agent = await make_user(server)
    await business.owner.http.put(
        f"/api/v1/businesses/{business.id}/members/{agent.id}", json={"role": "agent"}
    )
    assert (await agent.http.get(base)).status_code == 403


async def test_f9_the_cloud_apis_subscribed_apps_route(
    server: RunningServer, receiver: Receiver
) -> None:
    business = await make_business(server)
    apps = f"{GRAPH}/{business.id}/subscribed_apps"
    body = {"override_callback_uri": receiver.url + "2", "verify_token": TOKEN}
    # The app secret comes from obrolan's API first.
    early = await business.graph.post(apps, json=body)
    assert early.status_code == 400 and "app secret" in early.text
    assert (await subscribe(business, receiver)).status_code == 200

    receiver.verify_token = "changed"
    refused = await business.graph.post(apps, json=body)
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == 2200
    receiver.verify_token = TOKEN
    done = await business.graph.post(apps, json=body)
    assert done.status_code == 200 and done.json() == {"success": True}
    listed = (await business.graph.get(apps)).json()["data"]
    assert [a["override_callback_uri"] for a in listed] == [receiver.url + "2"]

    # Pending events go to the new URL, signed with the secret set before.
    await emit(server, business, "a", 0)
    await until(lambda: len(receiver.accepted()) == 1)
    assert receiver.accepted()[0].path == "/wh2" and receiver.accepted()[0].signature_ok

    other = await make_business(server, phone="+6281100002222")
    assert (await other.graph.get(apps)).status_code == 400  # not its WABA
    assert (await business.graph.delete(apps)).json() == {"success": True}
    assert (await business.graph.get(apps)).json() == {"data": []}


async def test_f9_events_arrive_signed_in_order_and_once(
    server: RunningServer, receiver: Receiver
) -> None:
    business = await make_business(server)
    assert (await subscribe(business, receiver)).status_code == 200
    services = server.services
    # Several events of two conversations in one transaction, as a change makes them.
    async with services.stream.transaction() as tx:
        for n in range(5):
            for key in ("a", "b"):
                await services.webhooks.emit(
                    tx, business.id, f"c:{key}", "messages", message(business, key, n)
                )
    await until(lambda: len(receiver.accepted()) == 10)
    await settled(server)
    assert len(receiver.received) == 10  # each exactly once
    in_order_once(receiver, ["a", "b"], 5)
    first = receiver.received[0]
    assert (
        first.signature
        == "sha256="
        + hmac.new(receiver.app_secret.encode(), first.body, hashlib.sha256).hexdigest()
    )
    assert first.json["object"] == "whatsapp_business_account"
    assert first.json["entry"][0]["id"] == business.id


async def test_f9_a_failed_attempt_is_retried_with_the_same_body_and_signature(
    server: RunningServer, receiver: Receiver, clock: FakeClock
) -> None:
    business = await make_business(server)
    assert (await subscribe(business, receiver)).status_code == 200
    receiver.status = 500
    await emit(server, business, "a", 0)
    await emit(server, business, "a", 1)
    await until(lambda: len(receiver.received) == 1)
    await settled(server)
    assert len(receiver.received) == 1  # the second waits behind the first
    receiver.status = 200
    clock.advance(5)  # the first retry comes after 1 to 2 s
    await until(lambda: len(receiver.accepted()) == 2)
    failed, retried = receiver.received[0], receiver.received[1]
    assert (failed.body, failed.signature) == (retried.body, retried.signature)
    in_order_once(receiver, ["a"], 2)


async def test_f9_a_callback_down_for_an_hour_receives_every_event_in_order_when_it_answers(
    server: RunningServer, receiver: Receiver, clock: FakeClock
) -> None:
    business = await make_business(server)
    assert (await subscribe(business, receiver)).status_code == 200
    await receiver.stop()  # down: connection refused
    for n in range(4):
        for key in ("a", "b"):
            await emit(server, business, key, n)
    # An hour in steps: the worker retries as attempts fall due.
    for _ in range(60):
        clock.advance(60)
        await settled(server)
    log = (
        await business.owner.http.get(
            f"/api/v1/businesses/{business.id}/webhook/deliveries", params={"state": "pending"}
        )
    ).json()["deliveries"]
    heads = [d for d in log if d["attempts"]]
    assert len(heads) == 2 and all(d["attempts"] > 3 for d in heads)
    assert all(a["status_code"] is None and a["error"] for a in heads[0]["attempt_log"])
    assert receiver.received == []

    await receiver.start()  # back, on the same port
    for _ in range(120):
        if len(receiver.accepted()) == 8:
            break
        clock.advance(60)
        await settled(server)
    in_order_once(receiver, ["a", "b"], 4)
    assert len(receiver.received) == 8
    for got in receiver.received:
        assert pywa_utils.webhook_updates_validator(receiver.app_secret, got.body, got.signature)
    assert set((await states(server, business)).values()) == {"delivered"}


async def test_f9_a_hanging_callback_does_not_hold_up_a_chat_send(
    server: RunningServer, receiver: Receiver
) -> None:
    business = await make_business(server)
    assert (await subscribe(business, receiver)).status_code == 200
    receiver.hang = True
    event_id = await emit(server, business, "a", 0)
    await until(lambda: len(receiver.received) == 1)  # the POST is in flight, unanswered

    friend = await make_user(server)
    room = await make_room(business.owner, members=[friend])
    sent = await business.owner.http.post(
        f"/api/v1/rooms/{room['id']}/messages", json={"client_msg_id": "m1", "body": "halo"}
    )
    assert sent.status_code in (200, 201), sent.text
    listed = (await friend.http.get(f"/api/v1/rooms/{room['id']}/messages")).json()
    assert "halo" in orjson.dumps(listed).decode()
    assert (await states(server, business))[event_id] == "sending"  # still in flight

    receiver.released.set()
    await until(lambda: states_are(server, business, {event_id: "delivered"}))


async def states_are(server: RunningServer, business: Business, wanted: dict[str, str]) -> bool:
    return await states(server, business) == wanted


async def test_f9_an_event_is_given_up_after_the_retry_period_and_the_next_goes(
    server: RunningServer, receiver: Receiver, clock: FakeClock
) -> None:
    business = await make_business(server)
    assert (await subscribe(business, receiver)).status_code == 200
    receiver.fails = lambda got: text_of(got.body) == "a 0"
    first = await emit(server, business, "a", 0)
    second = await emit(server, business, "a", 1)
    await until(lambda: len(receiver.received) == 1)
    await settled(server)
    assert await states(server, business) == {first: "pending", second: "pending"}
    # The retry period is one day here; steps of an hour (the back-off's cap).
    for _ in range(30):
        clock.advance(3600)
        await settled(server)
    assert await states(server, business) == {first: "dead", second: "delivered"}
    assert [text_of(r.body) for r in receiver.accepted()] == ["a 1"]
    assert all(text_of(r.body) == "a 0" for r in receiver.received[:-1])


async def test_f9_the_delivery_log_and_replay(
    server: RunningServer, receiver: Receiver, clock: FakeClock
) -> None:
    business = await make_business(server)
    assert (await subscribe(business, receiver)).status_code == 200
    started = clock.now()
    for n in range(3):
        await emit(server, business, "a", n)
    await emit(server, business, "b", 0)
    await until(lambda: len(receiver.accepted()) == 4)
    await settled(server)
    base = f"/api/v1/businesses/{business.id}/webhook"

    page = (await business.owner.http.get(f"{base}/deliveries", params={"limit": 3})).json()
    assert len(page["deliveries"]) == 3 and page["next_before"]
    newest = page["deliveries"][0]
    assert newest["ordering_key"] == "c:b" and newest["field"] == "messages"
    assert newest["state"] == "delivered" and newest["delivered_at"] and newest["has_body"]
    assert [a["status_code"] for a in newest["attempt_log"]] == [200]
    assert "body" not in newest
    rest = (
        await business.owner.http.get(
            f"{base}/deliveries", params={"limit": 3, "before": page["next_before"]}
        )
    ).json()
    assert len(rest["deliveries"]) == 1 and rest["next_before"] is None

    async def logged(**params: str) -> list[dict[str, Any]]:
        found = await business.owner.http.get(f"{base}/deliveries", params=params)
        assert found.status_code == 200, found.text
        return list(found.json()["deliveries"])

    assert await logged(state="dead") == []
    day = started + timedelta(days=1)
    assert len(await logged(since=started.isoformat(), until=day.isoformat())) == 4
    assert await logged(since=day.isoformat()) == []

    first_time = {r.body: r.signature for r in receiver.received}
    clock.advance(10)
    replayed = await business.owner.http.post(
        f"{base}/replay",
        json={"since": started.isoformat(), "until": (started + timedelta(seconds=1)).isoformat()},
    )
    assert replayed.status_code == 200 and replayed.json() == {"queued": 4}
    await until(lambda: len(receiver.accepted()) == 8)
    again = receiver.received[4:]
    assert all(first_time[r.body] == r.signature for r in again)  # same bytes, same signature
    assert [text_of(r.body) for r in again if key_of(r.body) == "a"] == ["a 0", "a 1", "a 2"]

    # R2: retention drops bodies (an event without one is never sent), then the log.
    services = server.services
    pending = await emit(server, business, "c", 0)
    await services.webhook_subscriptions.unsubscribe(business.id)  # so it stays pending
    cutoff = clock.now() + timedelta(seconds=1)
    async with services.stream.transaction() as tx:
        dropped = await webhook_store.drop_bodies_older_than(tx.conn, cutoff, 100)
    assert dropped == 5
    assert (await states(server, business))[pending] == "dead"
    log = (await business.owner.http.get(f"{base}/deliveries")).json()["deliveries"]
    assert not any(d["has_body"] for d in log)
    assert (await subscribe(business, receiver)).status_code == 200
    nothing = await business.owner.http.post(
        f"{base}/replay",
        json={"since": started.isoformat(), "until": cutoff.isoformat()},
    )
    assert nothing.json() == {"queued": 0}
    async with services.stream.transaction() as tx:
        deleted = await webhook_store.delete_log_older_than(tx.conn, cutoff, 3)
        deleted += await webhook_store.delete_log_older_than(tx.conn, cutoff, 3)
    assert deleted == 5 and await states(server, business) == {}


async def test_f9_order_holds_with_two_workers_racing(
    server: RunningServer, receiver: Receiver, clock: FakeClock
) -> None:
    business = await make_business(server)
    assert (await subscribe(business, receiver)).status_code == 200
    services = server.services
    second = Worker(services.jobs, poll_seconds=0.05, lease=timedelta(seconds=60), batch=4)
    services.webhook_delivery.register(second)
    second.start()
    try:
        # Every third POST fails, so retries and later events race for the same key.
        count = {"n": 0}

        def every_third(_: Any) -> bool:
            count["n"] += 1
            return count["n"] % 3 == 0

        receiver.fails = every_third
        keys = ["a", "b", "c"]
        for n in range(8):
            for key in keys:
                await emit(server, business, key, n)
        for _ in range(200):
            if len(receiver.accepted()) == 24:
                break
            clock.advance(5)
            await settled(server)
    finally:
        await second.stop()
    in_order_once(receiver, keys, 8)
    assert receiver.overlaps == []  # never two POSTs of one conversation at once
    # Each POST was the event after the last one accepted: nothing went out of turn.
    for key in keys:
        accepted = -1
        for got in receiver.received:
            if key_of(got.body) != key:
                continue
            n = int(text_of(got.body).split(" ")[1])
            assert n == accepted + 1
            if got.answered == 200:
                accepted = n


def test_event_ids_grow_strictly_in_the_order_they_are_made() -> None:
    ids = EventIds()
    made = [ids.next() for _ in range(5000)]
    assert made == sorted(made) and len(set(made)) == len(made)
    assert id_after("0" * 26) == "0" * 25 + "4"
    assert id_after("0" * 25 + "w") == "0" * 24 + "10"  # the carry


async def test_f9_operators_list_deliveries_and_replay_from_the_cli(
    server: RunningServer, receiver: Receiver, clock: FakeClock
) -> None:
    business = await make_business(server)
    assert (await subscribe(business, receiver)).status_code == 200
    started = clock.now()
    made = [await emit(server, business, "a", n) for n in range(2)]
    await until(lambda: len(receiver.accepted()) == 2)
    await settled(server)

    listing = await obrolan_cli(server, "business", "webhooks", "deliveries", business.id)
    assert listing.returncode == 0, listing.stderr
    rows = [line for line in listing.stdout.splitlines() if any(i in line for i in made)]
    assert len(rows) == 2 and all("delivered" in r and "c:a" in r for r in rows)

    window = ["--since", started.isoformat(), "--until", (started + timedelta(1)).isoformat()]
    replayed = await obrolan_cli(server, "business", "webhooks", "replay", business.id, *window)
    assert replayed.returncode == 0, replayed.stderr
    assert "queued 2" in replayed.stdout
    assert set((await states(server, business)).values()) == {"pending"}

    naive = await obrolan_cli(
        server,
        "business",
        "webhooks",
        "replay",
        business.id,
        "--since",
        "2026-01-01T00:00",
        "--until",
        "2026-01-02T00:00+00:00",
    )
    assert naive.returncode == 1 and "time zone" in naive.stderr
