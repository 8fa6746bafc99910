"""Read receipts follow what was on screen: a chat opened at its first unread, with newer
messages still below, is read only as far as the person has scrolled."""

from __future__ import annotations

import asyncio
import re
from typing import Any

from playwright.async_api import Browser, Page, expect

from tests.support.server import RunningServer
from tests.web.browsing import token_of, two_people_in_a_direct_chat


def exactly(page: Page, text: str) -> Any:
    return page.get_by_test_id("message").filter(
        has=page.locator(".body", has_text=re.compile(f"^{re.escape(text)}$"))
    )


async def post_messages(http: Any, room_id: str, texts: list[str]) -> list[int]:
    positions = []
    for text in texts:
        answer = await http.post(
            f"/api/v1/rooms/{room_id}/messages",
            json={"client_msg_id": f"seed-{text}", "body": text},
        )
        assert answer.status_code == 201, answer.text
        positions.append(answer.json()["position"])
    return positions


async def read_up_to(http: Any, room_id: str, user_id: str) -> int:
    members = (await http.get(f"/api/v1/rooms/{room_id}/members")).json()["members"]
    mark: int = next(m for m in members if m["user_id"] == user_id)["read_up_to"] or 0
    return mark


async def test_f2_a_chat_opened_at_its_first_unread_is_read_only_as_far_as_it_was_seen(
    server: RunningServer, browser: Browser
) -> None:
    ani, budi = await two_people_in_a_direct_chat(browser, server)
    http = server.http(await token_of(ani))
    room_id = (await http.get("/api/v1/rooms")).json()["rooms"][0]["id"]
    budi_id = await budi.evaluate("JSON.parse(localStorage.getItem('obrolan.me')).id")
    (seen,) = await post_messages(http, room_id, ["Sudah sampai?"])
    await expect(exactly(budi, "Sudah sampai?")).to_be_visible()
    await expect(exactly(ani, "Sudah sampai?")).to_have_attribute("data-status", "read")

    # Budi is back at his chats while Ani sends 60 more: more than a screen.
    await budi.get_by_role("button", name="Kembali ke daftar obrolan").click()
    texts = [f"cerita {i}" for i in range(1, 61)]
    positions = await post_messages(http, room_id, texts)
    await expect(budi.get_by_test_id("room").locator(".badge")).to_have_text("60")

    # He opens the chat: at the first unread, the newest still below, off screen.
    await budi.get_by_test_id("room").click()
    await expect(budi.get_by_test_id("unread-divider")).to_be_visible()
    await expect(exactly(budi, "cerita 1")).to_be_in_viewport()
    await expect(exactly(budi, "cerita 60")).not_to_be_in_viewport()
    await asyncio.sleep(1.5)
    marker = await read_up_to(http, room_id, budi_id)
    assert positions[0] <= marker < positions[-1]
    assert marker > seen
    await expect(exactly(ani, "cerita 60")).not_to_have_attribute("data-status", "read")

    # Scrolled to the end, he has seen them all: read up to the last one.
    await budi.get_by_test_id("messages").evaluate("el => el.scrollTop = el.scrollHeight")
    await expect(exactly(budi, "cerita 60")).to_be_in_viewport()
    await expect(exactly(ani, "cerita 60")).to_have_attribute("data-status", "read")
    for _ in range(50):
        if await read_up_to(http, room_id, budi_id) == positions[-1]:
            break
        await asyncio.sleep(0.1)
    assert await read_up_to(http, room_id, budi_id) == positions[-1]
