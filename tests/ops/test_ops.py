"""Operations endpoints and the shape of every error answer."""

from __future__ import annotations

import pytest

from tests.support.server import RunningServer

PROBLEM_FIELDS = {"type", "title", "status", "detail"}


async def test_health_and_readiness(server: RunningServer) -> None:
    async with server.http() as http:
        health = await http.get("/healthz")
        ready = await http.get("/readyz")

    assert health.status_code == 200
    assert health.json() == {"status": "ok"}
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready"}


async def test_metrics_expose_connections_messages_and_commit_latency(
    server: RunningServer,
) -> None:
    async with server.http() as http:
        resp = await http.get("/metrics")

    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/plain")
    for name in (
        "obrolan_open_connections",
        "obrolan_messages_sent",
        "obrolan_send_to_commit_seconds",
    ):
        assert name in resp.text


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
