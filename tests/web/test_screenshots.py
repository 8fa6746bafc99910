"""The screenshot set in docs/screenshots/: every screen on a laptop and a phone, in
English and Bahasa Indonesia, in the light and the dark theme.

File names are `<screen>-<desktop|phone>-<en|id>-<light|dark>.png`. The screens are
sign-in, sign-up, chat (a conversation open), on a phone also rooms (the chat list),
and every screen the header links to (`nav-<name>`), found at run time so that screens
added later are in the set too. Each image is the viewport, not the full page.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect

from tests.support.factories import PASSWORD, User, make_direct, make_user
from tests.support.server import RunningServer
from tests.web.browsing import DESKTOP, PHONE, message
from tests.web.conftest import SCREENSHOTS
from tests.web.screens import nav_screens, open_themed_context, post_message, show_screen

LANGUAGES = ["en", "id"]
CONVERSATION = [
    ("budi", "Ani, jadi ketemu besok?"),
    ("ani", "Jadi dong! Jam 10 di kafe biasa ya"),
    ("budi", "Oke. Aku bawa laptop, sekalian kita bahas presentasinya"),
    ("ani", "Sip. Slide bagian data sudah kuperbarui tadi malam"),
    ("budi", "Mantap, terima kasih banyak"),
    ("ani", "Sampai besok!"),
]


async def chatting(server: RunningServer) -> None:
    """Ani and Budi have been chatting; Citra's message to Ani waits unread."""
    ani = await make_user(server, "ani", display_name="Ani Lestari")
    budi = await make_user(server, "budi", display_name="Budi Santoso")
    citra = await make_user(server, "citra", display_name="Citra Dewi")
    people: dict[str, User] = {"ani": ani, "budi": budi}
    room = (await make_direct(budi, ani))["id"]
    last = 0
    for who, text in CONVERSATION:
        last = (await post_message(people[who], room, text))["position"]
    read = await budi.http.post(f"/api/v1/rooms/{room}/receipts", json={"read_up_to": last})
    assert read.status_code < 300, read.text
    with_citra = (await make_direct(citra, ani))["id"]
    await post_message(citra, with_citra, "Ani, laporan bulanan sudah kukirim lewat email ya")


def shot(screen: str, device: str, lang: str, scheme: str) -> Path:
    return SCREENSHOTS / f"{screen}-{device}-{lang}-{scheme}.png"


async def choose_language(page: Page, lang: str) -> None:
    await page.locator(".lang select").select_option(lang)
    await expect(page.locator("html")).to_have_attribute("lang", lang)


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("device", ["desktop", "phone"])
async def test_the_screenshot_set(
    server: RunningServer, browser: Browser, device: str, scheme: str
) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await chatting(server)
    _, page = await open_themed_context(
        browser,
        server,
        locale="en-GB",
        viewport=DESKTOP if device == "desktop" else PHONE,
        scheme=scheme,
        timezone_id="Asia/Jakarta",
    )
    taken: list[Path] = []

    async def take(screen: str, lang: str) -> None:
        path = shot(screen, device, lang, scheme)
        await page.screenshot(path=path, animations="disabled", caret="hide")
        taken.append(path)

    await page.goto("/")
    await page.get_by_test_id("signin").wait_for()
    for lang in LANGUAGES:
        await choose_language(page, lang)
        await page.get_by_test_id("signin").wait_for()
        await take("signin", lang)
        await page.locator("button.link").click()
        await page.get_by_test_id("signup").wait_for()
        await take("signup", lang)
        await page.locator("button.link").click()

    form = page.get_by_test_id("signin")
    await form.locator("[name=username]").fill("ani")
    await form.locator("[name=password]").fill(PASSWORD)
    await form.locator("button[type=submit]").click()
    await expect(page.get_by_test_id("connection")).to_have_class("conn conn-online")
    await page.get_by_test_id("room").filter(has_text="Budi").click()
    await expect(message(page, "Sampai besok!")).to_have_attribute("data-status", "read")
    await page.locator("[data-testid=composer] textarea").blur()

    screens = [name for name in await nav_screens(page) if name != "chat"]
    for lang in LANGUAGES:
        await choose_language(page, lang)
        await show_screen(page, "chat")
        await take("chat", lang)
        if device == "phone":
            await page.locator(".back").click()
            await expect(page.get_by_test_id("room")).to_have_count(2)
            await take("rooms", lang)
            await page.get_by_test_id("room").filter(has_text="Budi").click()
            await expect(message(page, "Sampai besok!")).to_be_visible()
        for name in screens:
            await show_screen(page, name)
            await take(name, lang)
    await show_screen(page, "chat")

    names = ["signin", "signup", "chat", *(["rooms"] if device == "phone" else []), *screens]
    expected = {shot(name, device, lang, scheme) for name in names for lang in LANGUAGES}
    assert set(taken) == expected
    assert all(path.stat().st_size > 0 for path in taken)
