"""Operations endpoints and the shape of every error answer."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support.factories import make_direct, make_user
from tests.support.server import RunningServer
from tests.support.ws import WsClient

PROBLEM_FIELDS = {"type", "title", "status", "detail"}


async def test_health_and_readiness(server: RunningServer) -> None:
    async with server.http() as http:
        health = await http.get("/healthz")
        ready = await http.get("/readyz")

    assert health.status_code == 200
    assert health.json() == {"status": "ok"}
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready"}


async def _metrics(http: httpx.AsyncClient) -> dict[str, float]:
    """Every sample /metrics shows, by name (our metrics carry no labels)."""
    resp = await http.get("/metrics")
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/plain")
    return {
        sample.name: sample.value
        for family in text_string_to_metric_families(resp.text)
        for sample in family.samples
        if not sample.labels
    }


async def _open_connections_reach(http: httpx.AsyncClient, count: int) -> None:
    """Ask /metrics until it counts `count` open sockets (closing one takes a moment)."""
    shown = None
    try:
        async with asyncio.timeout(5):
            while (shown := (await _metrics(http))["obrolan_open_connections"]) != count:
                pass
    except TimeoutError:
        pytest.fail(f"/metrics still shows {shown} open connections, not {count}")


async def test_metrics_count_messages_sockets_and_commit_latency(server: RunningServer) -> None:
    ani, budi, outsider = (
        await make_user(server),
        await make_user(server),
        await make_user(server),
    )
    room = await make_direct(ani, budi)
    http = server.http()
    before = await _metrics(http)
    assert before["obrolan_open_connections"] == 0

    a = await WsClient.open(server.ws_url, ani.token)
    b = await WsClient.open(server.ws_url, budi.token)
    await _open_connections_reach(http, 2)
    for i in range(3):
        assert (await a.send_message(room["id"], f"lewat soket {i}", f"ws-{i}"))["type"] == "ack"
    url = f"/api/v1/rooms/{room['id']}/messages"
    for i in range(2):
        sent = await budi.http.post(url, json={"client_msg_id": f"rest-{i}", "body": "lewat REST"})
        assert sent.status_code == 201
    # A retry and a refused send store nothing, so they count nothing.
    retry = await a.send_message(room["id"], "lewat soket 0", "ws-0")
    assert retry["type"] == "ack" and retry.get("duplicate") is True
    refused = await outsider.http.post(url, json={"client_msg_id": "x", "body": "boleh?"})
    assert refused.status_code == 404

    after = await _metrics(http)
    grown = {name: after[name] - before.get(name, 0) for name in after}
    assert grown["obrolan_messages_sent_total"] == 5
    assert grown["obrolan_send_to_commit_seconds_count"] == 5
    assert grown["obrolan_send_to_commit_seconds_sum"] > 0
    assert grown["obrolan_message_write_batch_size_sum"] == 5
    assert after["obrolan_open_connections"] == 2

    await b.close()
    await _open_connections_reach(http, 1)
    await a.close()
    await _open_connections_reach(http, 0)


async def test_openapi_lists_versioned_api(server: RunningServer) -> None:
    async with server.http() as http:
        resp = await http.get("/openapi.json")

    assert resp.status_code == 200
    paths = resp.json()["paths"]
    assert {"/api/v1/accounts", "/api/v1/sessions", "/api/v1/rooms", "/api/v1/rooms/direct"} <= set(
        paths
    )
    api_paths = [p for p in paths if p.startswith("/api/")]
    assert all(p.startswith("/api/v1/") for p in api_paths)


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("GET", "/api/v1/no-such-thing", None, 404),
        ("GET", "/no-such-page", None, 404),
        ("DELETE", "/healthz", None, 405),
        ("POST", "/api/v1/accounts", {}, 422),
        ("POST", "/api/v1/accounts", {"username": 7}, 422),
    ],
)
async def test_errors_are_problem_json(
    server: RunningServer, method: str, path: str, body: object, status: int
) -> None:
    async with server.http() as http:
        resp = await http.request(method, path, json=body)

    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    problem = resp.json()
    assert set(problem) >= PROBLEM_FIELDS
    assert problem["status"] == status
    assert problem["type"].startswith("https://")
    assert problem["detail"]


async def test_request_id_is_echoed_or_made(server: RunningServer) -> None:
    async with server.http() as http:
        echoed = await http.get("/healthz", headers={"X-Request-Id": "trace-42"})
        made = await http.get("/healthz")

    assert echoed.headers["x-request-id"] == "trace-42"
    assert made.headers["x-request-id"]
    assert made.headers["x-request-id"] != "trace-42"
