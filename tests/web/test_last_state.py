"""The app opens offline to the last state: the room list and the last messages, kept on
the device per person, and deleted on signing out."""

from __future__ import annotations

import asyncio

from playwright.async_api import Browser, Page, expect

from tests.support.server import RunningServer
from tests.web.browsing import (
    DESKTOP,
    message,
    send,
    sign_up,
    two_people_in_a_direct_chat,
)

# The bodies kept in the snapshot of whoever is signed in (null when there is none).
KEPT_BODIES = """() => new Promise((resolve, reject) => {
    const opening = indexedDB.open("obrolan");
    opening.onerror = () => reject(opening.error);
    opening.onsuccess = () => {
        const db = opening.result;
        if (!db.objectStoreNames.contains("snapshot")) return resolve(null);
        const me = JSON.parse(localStorage.getItem("obrolan.me") || "null");
        const all = db.transaction("snapshot").objectStore("snapshot").getAll();
        all.onsuccess = () => {
            const mine = all.result.find((r) => me && r.user_id === me.id);
            resolve(mine ? Object.values(mine.messages).flat().map((m) => m.body) : null);
        };
    };
})"""

SNAPSHOTS = """() => new Promise((resolve, reject) => {
    const opening = indexedDB.open("obrolan");
    opening.onerror = () => reject(opening.error);
    opening.onsuccess = () => {
        const db = opening.result;
        if (!db.objectStoreNames.contains("snapshot")) return resolve(0);
        const count = db.transaction("snapshot").objectStore("snapshot").count();
        count.onsuccess = () => resolve(count.result);
    };
})"""


async def kept(page: Page, text: str) -> None:
    """Waits until the snapshot holds a message with this text (it is written lazily)."""
    for _ in range(100):
        if text in (await page.evaluate(KEPT_BODIES) or []):
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{text!r} never reached the snapshot")


async def test_the_app_opens_offline_to_the_last_rooms_and_messages(
    server: RunningServer, browser: Browser
) -> None:
    ani, budi = await two_people_in_a_direct_chat(browser, server)
    said = ["Sampai ketemu di stasiun", "Oke, jam tujuh ya", "Aku bawa payung"]
    for page, text in zip((ani, budi, ani), said, strict=True):
        await send(page, text)
        await expect(message(ani, text)).not_to_have_attribute("data-status", "pending")
    await ani.wait_for_function("() => navigator.serviceWorker.controller !== null", timeout=10_000)
    await kept(ani, said[-1])

    # No network, and the page reloaded: the chats and the messages are there at once.
    await ani.context.set_offline(True)
    await ani.reload()
    await expect(ani.get_by_test_id("connection")).to_have_class("conn conn-offline")
    await expect(ani.get_by_test_id("room")).to_have_count(1)
    await expect(ani.get_by_test_id("room")).to_contain_text("Budi Santoso")
    await expect(ani.get_by_test_id("room-title")).to_have_text("Budi Santoso")
    await expect(ani.get_by_test_id("message").locator(".body")).to_have_text(said)

    # What she types offline shows as waiting, after the last message.
    await send(ani, "Kereta telat")
    await expect(message(ani, "Kereta telat")).to_have_attribute("data-status", "pending")
    await expect(ani.get_by_test_id("message").locator(".body")).to_have_text(
        [*said, "Kereta telat"]
    )

    # Back online: sent once, and the history over REST merges with the kept one.
    await ani.context.set_offline(False)
    everything = [*said, "Kereta telat"]
    await expect(message(budi, "Kereta telat")).to_be_visible()
    await expect(message(ani, "Kereta telat")).not_to_have_attribute("data-status", "pending")
    await asyncio.sleep(1)  # nothing arrives late, twice
    await expect(ani.get_by_test_id("message").locator(".body")).to_have_text(everything)
    await expect(budi.get_by_test_id("message").locator(".body")).to_have_text(everything)
    await kept(ani, "Kereta telat")


async def test_signing_out_deletes_the_kept_state_and_the_next_person_sees_none_of_it(
    server: RunningServer, browser: Browser
) -> None:
    ani, budi = await two_people_in_a_direct_chat(browser, server)
    await send(budi, "Rahasia kita berdua")
    await expect(message(ani, "Rahasia kita berdua")).to_be_visible()
    await ani.wait_for_function("() => navigator.serviceWorker.controller !== null", timeout=10_000)
    await kept(ani, "Rahasia kita berdua")
    assert await ani.evaluate(SNAPSHOTS) == 1

    await ani.get_by_role("button", name="Sign out").click()
    await ani.get_by_test_id("signin").wait_for()
    assert await ani.evaluate(SNAPSHOTS) == 0

    # Citra signs up on the same browser, then opens the app offline: nothing of Ani's.
    await sign_up(ani, "citra", "Citra Dewi")
    await expect(ani.get_by_test_id("room")).to_have_count(0)
    await ani.context.set_offline(True)
    await ani.reload()
    await expect(ani.get_by_role("button", name="Sign out")).to_be_visible()
    await expect(ani.get_by_test_id("connection")).to_have_class("conn conn-offline")
    await asyncio.sleep(1)
    await expect(ani.get_by_test_id("room")).to_have_count(0)
    await expect(ani.get_by_test_id("message")).to_have_count(0)
    assert "Rahasia" not in await ani.locator("body").inner_text()
    assert not await ani.evaluate(KEPT_BODIES)
    assert ani.viewport_size == DESKTOP
