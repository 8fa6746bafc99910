"""Accessibility: axe-core finds no serious or critical violation on any screen, in the
light and the dark theme, on a laptop and a phone; and the chat works from the keyboard.

The screens beyond sign-in and chat are found from the header's `nav-…` buttons, so a
screen added later is checked without changing this file.
"""

from __future__ import annotations

import json
import re

import pytest
from playwright.async_api import Browser, Page, expect

from obrolan.web.assets import load
from tests.support.factories import PASSWORD, make_direct, make_user
from tests.support.server import RunningServer
from tests.web.browsing import DESKTOP, PHONE, message, sign_up
from tests.web.screens import (
    BLOCKING,
    axe_violations,
    describe,
    nav_screens,
    open_themed_context,
    post_message,
    show_screen,
    sign_in,
)

CASES = [
    pytest.param(DESKTOP, "light", "en-GB", id="desktop-light-en"),
    pytest.param(DESKTOP, "dark", "id-ID", id="desktop-dark-id"),
    pytest.param(PHONE, "light", "id-ID", id="phone-light-id"),
    pytest.param(PHONE, "dark", "en-GB", id="phone-dark-en"),
]


class Audit:
    """Runs axe on each screen visited; collects what blocks and prints the rest."""

    def __init__(self) -> None:
        self.blocking: list[str] = []
        self.visited: list[str] = []

    async def check(self, page: Page, where: str) -> None:
        self.visited.append(where)
        found = await axe_violations(page)
        for line in describe(where, found):
            print(line)
        self.blocking += describe(where, [v for v in found if v["impact"] in BLOCKING])


@pytest.mark.parametrize(("viewport", "scheme", "locale"), CASES)
async def test_every_screen_has_no_serious_accessibility_violation(
    server: RunningServer, browser: Browser, viewport: dict[str, int], scheme: str, locale: str
) -> None:
    audit = Audit()
    _, ani = await open_themed_context(
        browser, server, locale=locale, viewport=viewport, scheme=scheme
    )
    _, budi = await open_themed_context(
        browser, server, locale=locale, viewport=viewport, scheme=scheme
    )

    # Signing in, with the error a wrong password shows; signing up.
    await ani.goto("/")
    form = ani.get_by_test_id("signin")
    await audit.check(ani, "sign-in")
    await form.locator("[name=username]").fill("nobody")
    await form.locator("[name=password]").fill("not the password")
    await form.locator("button[type=submit]").click()
    await expect(form.locator(".error")).to_be_visible()
    await audit.check(ani, "sign-in with an error")
    await ani.locator("button.link").click()
    await ani.get_by_test_id("signup").wait_for()
    await audit.check(ani, "sign-up")

    await sign_up(ani, "ani", "Ani Lestari")
    await audit.check(ani, "chat, no chats yet")
    await sign_up(budi, "budi", "Budi Santoso")
    form = ani.get_by_test_id("new-chat")
    await form.locator("[name=username]").fill("budi")
    await form.locator("button[type=submit]").click()
    await ani.get_by_test_id("composer").wait_for()
    await audit.check(ani, "chat, an empty direct chat")
    request = budi.get_by_test_id("request")
    await expect(request).to_be_visible()
    await audit.check(budi, "chat, a message request")
    await request.locator("button.primary").click()
    await budi.get_by_test_id("composer").wait_for()

    for page, text in [
        (ani, "Halo Budi! Jadi ketemu besok?"),
        (budi, "Jadi dong. Jam 10 di kafe biasa ya"),
        (ani, "Siap, sampai besok!"),
    ]:
        await page.get_by_test_id("composer").locator("textarea").fill(text)
        await page.get_by_test_id("composer").locator("textarea").press("Enter")
        await expect(message(ani, text)).to_be_visible()
    await expect(message(ani, "sampai besok")).to_have_attribute("data-status", "read")
    await audit.check(ani, "chat, a conversation")
    await audit.check(budi, "chat, a conversation (the other side)")
    if viewport == PHONE:
        await ani.locator(".back").click()
        await expect(ani.get_by_test_id("room")).to_be_visible()
        await audit.check(ani, "chat list")

    # Every other screen the header links to.
    screens = [name for name in await nav_screens(ani) if name != "chat"]
    for name in screens:
        await show_screen(ani, name)
        await audit.check(ani, f"screen {name!r}")

    print(f"checked: {', '.join(audit.visited)}")
    assert audit.blocking == [], "\n".join(audit.blocking)


async def test_the_chat_works_from_the_keyboard_alone(
    server: RunningServer, browser: Browser
) -> None:
    ani = await make_user(server, "ani", display_name="Ani Lestari")
    budi = await make_user(server, "budi", display_name="Budi Santoso")
    await make_user(server, "citra", display_name="Citra Dewi")
    room = await make_direct(budi, ani)
    await post_message(budi, room["id"], "Ani, besok jadi ke pasar?")
    _, page = await open_themed_context(
        browser, server, locale="en-GB", viewport=DESKTOP, scheme="light"
    )
    await page.goto("/")
    await page.get_by_test_id("signin").wait_for()

    async def tab_to(selector: str, limit: int = 40) -> None:
        """Tab forward until the focus is on `selector`; fails if it never gets there."""
        for _ in range(limit):
            if await page.evaluate(f"document.activeElement?.matches({selector!r}) === true"):
                return
            await page.keyboard.press("Tab")
        raise AssertionError(f"Tab never reached {selector}")

    # Sign in: type into the fields, Enter submits.
    await tab_to("[name=username]")
    await page.keyboard.type("ani")
    await tab_to("[name=password]")
    await page.keyboard.type(PASSWORD)
    await page.keyboard.press("Enter")
    await expect(page.get_by_test_id("connection")).to_have_class("conn conn-online")

    # The first Tab reaches the skip link, which shows itself; Enter on it moves on.
    await page.keyboard.press("Tab")
    skip = page.get_by_test_id("skip-link")
    await expect(skip).to_be_focused()
    assert (await skip.bounding_box() or {}).get("y", -1) >= 0, "the focused skip link is visible"
    # Where the focus is, a visible outline shows it.
    outline = await skip.evaluate("el => getComputedStyle(el).outlineStyle")
    assert outline not in ("", "none")

    # Open the chat with Budi from the list, with Enter.
    await tab_to("[data-testid=room]")
    await page.keyboard.press("Enter")
    await expect(message(page, "besok jadi ke pasar")).to_be_visible()
    # Type a reply and send it with Enter.
    await tab_to("[data-testid=composer] textarea")
    await page.keyboard.type("Jadi, jam delapan ya.")
    await page.keyboard.press("Enter")
    await expect(message(page, "jam delapan")).to_have_attribute("data-status", "sent")
    history = (await budi.http.get(f"/api/v1/rooms/{room['id']}/messages")).json()["messages"]
    assert history[-1]["body"] == "Jadi, jam delapan ya."
    # Start a new chat by username: type it, Enter; the new room opens, ready to write.
    await tab_to("#direct-username")
    await page.keyboard.type("citra")
    await page.keyboard.press("Enter")
    await expect(page.locator(".room-head h2")).to_have_text("Citra Dewi")
    # New messages are announced: the list is a polite live region, as is the connection.
    await expect(page.get_by_test_id("messages")).to_have_attribute("aria-live", "polite")
    await expect(page.get_by_test_id("connection")).to_have_attribute("aria-live", "polite")


async def test_escape_goes_back_to_the_chat_list_on_a_phone(
    server: RunningServer, browser: Browser
) -> None:
    ani = await make_user(server, "ani", display_name="Ani Lestari")
    budi = await make_user(server, "budi", display_name="Budi Santoso")
    room = await make_direct(budi, ani)
    await post_message(budi, room["id"], "Ani, besok jadi ke pasar?")
    _, page = await open_themed_context(
        browser, server, locale="id-ID", viewport=PHONE, scheme="dark"
    )
    await sign_in(page, "ani", PASSWORD)
    entry = page.get_by_test_id("room")
    await entry.focus()
    await page.keyboard.press("Enter")
    await expect(message(page, "besok jadi ke pasar")).to_be_visible()
    await expect(entry).to_be_hidden()  # the open room fills the phone's screen
    await page.keyboard.press("Escape")
    await expect(entry).to_be_visible()
    await expect(entry).to_be_focused()


def test_the_checker_is_not_part_of_the_apps_kept_shell() -> None:
    """axe-core is vendored for these tests only: the service worker does not keep it."""
    bundle = load()
    found = re.search(rb"const SHELL = (\[.*?\]);", bundle.service_worker)
    assert found is not None
    shell = json.loads(found.group(1))
    assert f"/assets/{bundle.version}/vendor/preact.mjs" in shell
    assert not [url for url in shell if "axe" in url]
    assert "vendor/axe.min.js" in bundle.assets  # vendored and served, for the tests to use
