"""The web client in a real browser: two people sign up and chat in real time."""

from __future__ import annotations

from playwright.async_api import Browser, expect

from tests.support.factories import PASSWORD
from tests.support.server import RunningServer
from tests.web.browsing import (
    DESKTOP,
    message,
    open_context,
    send,
    token_of,
    two_people_in_a_direct_chat,
)


async def test_f2_two_people_sign_up_and_chat_in_real_time(
    server: RunningServer, browser: Browser
) -> None:
    ani, budi = await two_people_in_a_direct_chat(browser, server)

    await send(ani, "Halo Budi! Jadi ketemu besok?")
    # Budi sees it appear with no reload, and Ani's bubble becomes the stored message.
    await expect(message(budi, "Jadi ketemu besok?")).to_be_visible()
    await send(budi, "Jadi dong. Jam 10 di kafe biasa ya")
    await expect(message(ani, "Jam 10 di kafe biasa")).to_be_visible()
    await send(ani, "Siap, sampai besok!")
    await expect(message(budi, "sampai besok")).to_be_visible()

    # Budi has the chat open, so Ani's ticks turn to read.
    await expect(message(ani, "sampai besok")).to_have_attribute("data-status", "read")
    await expect(message(ani, "Jadi ketemu besok?")).to_have_attribute("data-status", "read")

    # The optimistic bubble is the confirmed message: one bubble, under the same
    # client_msg_id the server stored, and nothing is shown twice.
    bubble = message(ani, "sampai besok")
    await expect(bubble).to_have_count(1)
    client_msg_id = await bubble.get_attribute("data-client-msg-id")
    http = server.http(await token_of(ani))
    rooms = (await http.get("/api/v1/rooms")).json()["rooms"]
    history = (await http.get(f"/api/v1/rooms/{rooms[0]['id']}/messages")).json()["messages"]
    assert [m["body"] for m in history] == [
        "Halo Budi! Jadi ketemu besok?",
        "Jadi dong. Jam 10 di kafe biasa ya",
        "Siap, sampai besok!",
    ]
    assert history[-1]["client_msg_id"] == client_msg_id
    await expect(ani.get_by_test_id("message")).to_have_count(3)
    await expect(budi.get_by_test_id("message")).to_have_count(3)

    # On the phone, Budi goes back to the chat list (the button is named in his language).
    await budi.get_by_role("button", name="Kembali ke daftar obrolan").click()
    await expect(budi.get_by_test_id("room")).to_be_visible()


async def test_markup_in_a_message_is_shown_as_text(
    server: RunningServer, browser: Browser
) -> None:
    ani, budi = await two_people_in_a_direct_chat(browser, server)
    dialogs: list[str] = []
    for page in (ani, budi):
        page.on("dialog", lambda dialog: dialogs.append(dialog.message))

    markup = "<img src=x onerror=alert(1)>"
    await send(ani, markup)
    for page in (ani, budi):
        bubble = message(page, markup)
        await expect(bubble.locator(".body")).to_have_text(markup)
        await expect(page.get_by_test_id("messages").locator("img")).to_have_count(0)
    # A reload reopens the chat and renders it from history the same way.
    await budi.reload()
    await expect(message(budi, markup).locator(".body")).to_have_text(markup)
    await expect(budi.get_by_test_id("messages").locator("img")).to_have_count(0)
    assert dialogs == []


async def test_the_content_security_policy_stops_inline_script(
    server: RunningServer, browser: Browser
) -> None:
    _, page = await open_context(browser, server, "en-GB", DESKTOP)
    answer = await page.goto("/")
    assert answer is not None
    assert "script-src 'self';" in (await answer.all_headers())["content-security-policy"]
    refused: list[str] = []
    page.on("console", lambda entry: refused.append(entry.text))
    ran = await page.evaluate(
        """() => {
            const script = document.createElement("script");
            script.textContent = "window.inlineRan = true";
            document.head.append(script);
            return window.inlineRan === true;
        }"""
    )
    assert ran is False
    assert any("Content Security Policy" in text for text in refused)


async def test_f17_sign_out_sign_in_again_and_switch_the_language(
    server: RunningServer, browser: Browser
) -> None:
    ani, budi = await two_people_in_a_direct_chat(browser, server)
    await send(ani, "Sampai nanti")
    await expect(message(budi, "Sampai nanti")).to_be_visible()

    await ani.get_by_role("button", name="Sign out").click()
    await ani.get_by_test_id("signin").wait_for()
    assert await token_of(ani) is None
    form = ani.get_by_test_id("signin")
    await form.locator("[name=username]").fill("ani")
    await form.locator("[name=password]").fill(PASSWORD)
    await form.locator("button[type=submit]").click()
    await expect(ani.get_by_test_id("connection")).to_have_class("conn conn-online")
    await ani.get_by_test_id("room").filter(has_text="Budi Santoso").click()
    await expect(message(ani, "Sampai nanti")).to_be_visible()

    # The browser's language chose English; switching says Indonesian and is remembered.
    await ani.get_by_label("Language").select_option("id")
    await expect(ani.get_by_role("button", name="Keluar")).to_be_visible()
    assert await ani.evaluate("document.documentElement.lang") == "id"
    # F17: kept in a preference cookie, not in the page's storage.
    cookies = {c["name"]: c["value"] for c in await ani.context.cookies()}
    assert cookies.get("obrolan_lang") == "id"
    await ani.reload()
    await expect(ani.get_by_role("button", name="Keluar")).to_be_visible()


async def test_the_app_opens_offline_from_its_kept_shell(
    server: RunningServer, browser: Browser
) -> None:
    ani, _ = await two_people_in_a_direct_chat(browser, server)
    # The worker took over the page (it claims it once it kept the shell).
    await ani.wait_for_function("() => navigator.serviceWorker.controller !== null", timeout=10_000)
    await ani.context.set_offline(True)
    await ani.reload()
    # The page, its scripts and its languages come from the service worker's cache.
    await expect(ani.get_by_test_id("connection")).to_have_class("conn conn-offline")
    await expect(ani.get_by_role("button", name="Sign out")).to_be_visible()
    await ani.context.set_offline(False)
    await expect(ani.get_by_test_id("connection")).to_have_class("conn conn-online")
