"""Contact settings: who may find me by username, and how look-ups are throttled (F14, R18)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.factories import make_user
from tests.support.server import RunningServer, start_server

LOOKUPS = 3


def _problem(resp: httpx.Response) -> tuple[int, str | None, dict[str, Any]]:
    body = resp.json()
    body.pop("instance", None)  # the request's own path and query
    return resp.status_code, resp.headers.get("content-type"), body


async def test_f14_r18_contact_settings_have_private_defaults_and_change_one_by_one(
    server: RunningServer,
) -> None:
    ani = await make_user(server)
    url = "/api/v1/me/contact-settings"
    assert (await ani.http.get(url)).json() == {
        "findable_by_username": True,
        "message_requests": True,
        "findable_by_email": False,
        "findable_by_phone": False,
    }
    changed = await ani.http.patch(url, json={"message_requests": False})
    assert changed.status_code == 200
    assert changed.json()["message_requests"] is False
    assert changed.json()["findable_by_username"] is True
    again = await ani.http.patch(url, json={"findable_by_phone": True})
    assert again.json() == {
        "findable_by_username": True,
        "message_requests": False,
        "findable_by_email": False,
        "findable_by_phone": True,
    }
    assert (await ani.http.get(url)).json() == again.json()
    refused = await ani.http.patch(url, json={"findable_by_username": True, "nickname": "x"})
    assert refused.status_code == 422


async def test_r18_unfindable_username_answers_exactly_as_an_unknown_one(
    server: RunningServer,
) -> None:
    ani, budi = await make_user(server, "ani"), await make_user(server)
    found = await budi.http.get("/api/v1/users", params={"username": "ani"})
    assert found.status_code == 200 and found.json()["id"] == ani.id

    await ani.http.patch("/api/v1/me/contact-settings", json={"findable_by_username": False})
    hidden = await budi.http.get("/api/v1/users", params={"username": "ani"})
    unknown = await budi.http.get("/api/v1/users", params={"username": "tiada"})
    assert hidden.status_code == 404
    assert _problem(hidden) == _problem(unknown)
    assert hidden.json()["field"] == "username"
    # Only the look-up by name is closed: people who know her id still see her profile.
    assert (await budi.http.get(f"/api/v1/users/{ani.id}")).status_code == 200


@pytest.fixture
async def throttled_server(database_url: str, tmp_path: Path) -> AsyncIterator[RunningServer]:
    running = await start_server(database_url, tmp_path, lookups_max_per_account=LOOKUPS)
    try:
        yield running
    finally:
        await running.shutdown()


async def test_r18_username_look_ups_are_throttled_per_person(
    throttled_server: RunningServer,
) -> None:
    ani, budi = await make_user(throttled_server, "ani"), await make_user(throttled_server)
    citra = await make_user(throttled_server)
    # Names nobody has count as well: probing for accounts is what is limited.
    for name in ["ani", "tiada", "siapa"]:
        assert (await budi.http.get("/api/v1/users", params={"username": name})).status_code in (
            200,
            404,
        )
    refused = await budi.http.get("/api/v1/users", params={"username": "ani"})
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) > 0
    # Another person's count is their own.
    other = await citra.http.get("/api/v1/users", params={"username": "ani"})
    assert other.status_code == 200 and other.json()["id"] == ani.id
