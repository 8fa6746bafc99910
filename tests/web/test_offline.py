"""Never lose a message: the outbox while offline, and a reload in the middle of a chat."""

from __future__ import annotations

import asyncio

from playwright.async_api import Browser, Page, Route, expect

from tests.support.server import RunningServer
from tests.web.browsing import (
    DESKTOP,
    PHONE,
    message,
    open_direct_chat,
    send,
    sign_up,
    token_of,
    two_people_in_a_direct_chat,
)

OUTBOX_SIZE = """() => new Promise((resolve, reject) => {
    const opening = indexedDB.open("obrolan");
    opening.onerror = () => reject(opening.error);
    opening.onsuccess = () => {
        const count = opening.result.transaction("outbox").objectStore("outbox").count();
        count.onsuccess = () => resolve(count.result);
    };
})"""


async def bodies(page: Page) -> list[str]:
    return await page.get_by_test_id("message").locator(".body").all_inner_texts()


async def history(server: RunningServer, page: Page) -> list[dict[str, object]]:
    http = server.http(await token_of(page))
    rooms = (await http.get("/api/v1/rooms")).json()["rooms"]
    answer = await http.get(f"/api/v1/rooms/{rooms[0]['id']}/messages")
    messages: list[dict[str, object]] = answer.json()["messages"]
    return messages


async def test_messages_typed_offline_are_sent_once_each_in_order_when_back(
    server: RunningServer, browser: Browser
) -> None:
    ani, budi = await two_people_in_a_direct_chat(browser, server)
    await send(ani, "Aku mau naik kereta")
    await expect(message(budi, "naik kereta")).to_be_visible()

    # The network goes; the app notices (the badge), and what is typed waits.
    await ani.context.set_offline(True)
    await expect(ani.get_by_test_id("connection")).to_have_class("conn conn-offline")
    typed = ["Sinyal hilang di terowongan", "Nanti aku kabari", "Sudah hampir sampai"]
    for text in typed:
        await send(ani, text)
    for text in typed:
        await expect(message(ani, text)).to_have_attribute("data-status", "pending")
    assert await ani.evaluate(OUTBOX_SIZE) == 3
    # Budi writes meanwhile: Ani gets it on reconnecting, from her last position.
    await send(budi, "Hati-hati di jalan")
    await expect(message(budi, "Hati-hati")).not_to_have_attribute("data-status", "pending")
    await asyncio.sleep(1)
    await expect(budi.get_by_test_id("message")).to_have_count(2)
    await expect(ani.get_by_test_id("message")).to_have_count(4)
    everything = ["Aku mau naik kereta", "Hati-hati di jalan", *typed]

    await ani.context.set_offline(False)
    await expect(ani.get_by_test_id("connection")).to_have_class("conn conn-online")
    await expect(budi.get_by_test_id("message").locator(".body")).to_have_text(everything)
    await expect(ani.get_by_test_id("message").locator(".body")).to_have_text(everything)
    # Ani's waiting bubbles became the stored messages: one each, none waiting.
    for text in typed:
        await expect(message(ani, text)).not_to_have_attribute("data-status", "pending")
    await expect(ani.locator(".bubble.pending")).to_have_count(0)
    assert await bodies(ani) == everything
    assert await ani.evaluate(OUTBOX_SIZE) == 0

    stored = await history(server, ani)
    assert [m["body"] for m in stored] == everything
    shown = [await message(ani, text).get_attribute("data-client-msg-id") for text in typed]
    assert [m["client_msg_id"] for m in stored[2:]] == shown
    await asyncio.sleep(1)  # nothing arrives late, twice
    assert await bodies(budi) == everything
    assert await bodies(ani) == everything


async def test_a_reload_in_the_middle_of_a_chat_shows_no_gap_and_no_duplicate(
    server: RunningServer, browser: Browser
) -> None:
    # Ani's page loads its script from the network, so the test can hold it back.
    context = await browser.new_context(
        base_url=server.base_url, locale="en-GB", viewport=DESKTOP, service_workers="block"
    )
    ani = await context.new_page()
    budi = await (
        await browser.new_context(base_url=server.base_url, locale="id-ID", viewport=PHONE)
    ).new_page()
    await sign_up(ani, "ani", "Ani Lestari")
    await sign_up(budi, "budi", "Budi Santoso")
    await open_direct_chat(ani, "budi")
    await budi.get_by_test_id("request").locator("button.primary").click()
    await budi.get_by_test_id("composer").wait_for()

    before = ["Halo Budi", "Halo Ani", "Sudah makan?"]
    for page, text in zip((ani, budi, ani), before, strict=True):
        await send(page, text)
        await expect(message(budi, text)).to_be_visible()
    await expect(message(ani, "Sudah makan?")).to_be_visible()
    assert await ani.evaluate(
        "localStorage.getItem('obrolan.position.' + "
        "JSON.parse(localStorage.getItem('obrolan.me')).id)"
    )

    # Ani reloads; until her app runs again she has no socket, and Budi goes on talking.
    script_held = asyncio.Event()
    release = asyncio.Event()

    async def hold(route: Route) -> None:
        script_held.set()
        await release.wait()
        await route.continue_()

    await ani.route("**/app.js", hold)
    reloading = asyncio.create_task(ani.reload())
    await script_held.wait()
    during = ["Belum", "Kamu sudah?", "Ayo makan bareng"]
    for text in during:
        await send(budi, text)
    for text in during:
        await expect(message(budi, text)).not_to_have_attribute("data-status", "pending")
    release.set()
    await reloading

    # She is back in the same chat: the history and the replay after her last position
    # overlap, and every message shows once, in order.
    everything = [*before, *during]
    await expect(ani.get_by_test_id("connection")).to_have_class("conn conn-online")
    await expect(ani.get_by_test_id("message").locator(".body")).to_have_text(everything)
    await send(budi, "Aku tunggu ya")
    await expect(message(ani, "Aku tunggu ya")).to_be_visible()
    await asyncio.sleep(1)
    assert await bodies(ani) == [*everything, "Aku tunggu ya"]
    assert [m["body"] for m in await history(server, ani)] == [*everything, "Aku tunggu ya"]


async def test_r18_a_refused_message_says_why_and_can_be_resent_or_edited(
    server: RunningServer, browser: Browser
) -> None:
    ani, budi = await two_people_in_a_direct_chat(browser, server)
    budi_http = server.http(await token_of(budi))
    ani_id = await ani.evaluate("JSON.parse(localStorage.getItem('obrolan.me')).id")
    assert (await budi_http.post("/api/v1/blocks", json={"user_id": ani_id})).status_code == 204

    await send(ani, "Kenapa diblokir?")
    refused = message(ani, "Kenapa diblokir?")
    await expect(refused.get_by_role("alert")).to_contain_text("you cannot message this person")
    await expect(refused).to_have_attribute("data-status", "failed")
    assert await ani.evaluate(OUTBOX_SIZE) == 1  # kept, to be sent again

    # Taken back into the composer, changed, and sent once the block is lifted.
    await refused.get_by_role("button", name="Edit").click()
    await expect(refused).to_have_count(0)
    textarea = ani.get_by_test_id("composer").locator("textarea")
    await expect(textarea).to_have_value("Kenapa diblokir?")
    assert await ani.evaluate(OUTBOX_SIZE) == 0
    await send(ani, "Maaf ya")
    await expect(message(ani, "Maaf ya")).to_have_attribute("data-status", "failed")
    assert (await budi_http.delete(f"/api/v1/blocks/{ani_id}")).status_code == 204
    await message(ani, "Maaf ya").get_by_role("button", name="Retry").click()
    await expect(message(budi, "Maaf ya")).to_be_visible()
    await expect(message(ani, "Maaf ya")).not_to_have_attribute("data-status", "failed")
    await expect(ani.locator(".bubble.failed")).to_have_count(0)
    assert await ani.evaluate(OUTBOX_SIZE) == 0
    assert [m["body"] for m in await history(server, ani)] == ["Maaf ya"]


async def test_messages_typed_offline_survive_a_reload_offline_and_go_once_each_in_order(
    server: RunningServer, browser: Browser
) -> None:
    ani, budi = await two_people_in_a_direct_chat(browser, server)
    await send(ani, "Berangkat sekarang")
    await expect(message(budi, "Berangkat sekarang")).to_be_visible()
    await ani.wait_for_function("() => navigator.serviceWorker.controller !== null", timeout=10_000)

    await ani.context.set_offline(True)
    await expect(ani.get_by_test_id("connection")).to_have_class("conn conn-offline")
    typed = ["Di kereta, sinyal jelek", "Nanti sampai jam 5", "Tolong jemput ya"]
    for text in typed:
        await send(ani, text)
    assert await ani.evaluate(OUTBOX_SIZE) == 3

    # Reloaded with no network: the shell comes from the service worker, the outbox
    # from IndexedDB, and nothing is sent or lost meanwhile.
    await ani.reload()
    await expect(ani.get_by_role("button", name="Sign out")).to_be_visible()
    await expect(ani.get_by_test_id("connection")).to_have_class("conn conn-offline")
    assert await ani.evaluate(OUTBOX_SIZE) == 3

    await ani.context.set_offline(False)
    everything = ["Berangkat sekarang", *typed]
    await expect(budi.get_by_test_id("message").locator(".body")).to_have_text(everything)
    await expect(ani.get_by_test_id("message").locator(".body")).to_have_text(everything)
    await expect(ani.locator(".bubble.pending")).to_have_count(0)
    assert await ani.evaluate(OUTBOX_SIZE) == 0
    stored = await history(server, ani)
    assert [m["body"] for m in stored] == everything
    assert len({m["client_msg_id"] for m in stored}) == len(everything)
    await asyncio.sleep(1)  # nothing arrives late, twice
    assert await bodies(budi) == everything
    assert await bodies(ani) == everything
