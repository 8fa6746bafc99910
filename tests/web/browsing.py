"""Steps the browser tests share: a browser context per person, signing up, chatting."""

from __future__ import annotations

from typing import Any

from playwright.async_api import Browser, BrowserContext, Page, expect

from tests.support.factories import PASSWORD
from tests.support.server import RunningServer

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


async def open_context(
    browser: Browser, server: RunningServer, locale: str, viewport: dict[str, int]
) -> tuple[BrowserContext, Page]:
    context = await browser.new_context(
        base_url=server.base_url,
        locale=locale,
        viewport=viewport,  # type: ignore[arg-type]
    )
    page = await context.new_page()
    return context, page


async def sign_up(page: Page, username: str, display_name: str) -> None:
    await page.goto("/")
    await page.get_by_test_id("signin").wait_for()
    # The link to the sign-up form is the only plain button on the sign-in screen.
    await page.locator("button.link").click()
    form = page.get_by_test_id("signup")
    await form.locator("[name=username]").fill(username)
    await form.locator("[name=display_name]").fill(display_name)
    await form.locator("[name=password]").fill(PASSWORD)
    await form.locator("button[type=submit]").click()
    await expect(page.get_by_test_id("connection")).to_have_class("conn conn-online")


async def open_direct_chat(page: Page, username: str) -> None:
    form = page.get_by_test_id("new-chat")
    await form.locator("[name=username]").fill(username)
    await form.locator("button[type=submit]").click()
    await page.get_by_test_id("composer").wait_for()


async def send(page: Page, text: str) -> None:
    composer = page.get_by_test_id("composer")
    await composer.locator("textarea").fill(text)
    await composer.locator("textarea").press("Enter")


def message(page: Page, text: str) -> Any:
    return page.get_by_test_id("message").filter(has_text=text)


async def token_of(page: Page) -> str:
    token: str = await page.evaluate("localStorage.getItem('obrolan.token')")
    return token


async def two_people_in_a_direct_chat(browser: Browser, server: RunningServer) -> tuple[Page, Page]:
    """Ani (English, laptop) opens a direct chat with Budi (Indonesian, phone); he accepts."""
    _, ani = await open_context(browser, server, "en-GB", DESKTOP)
    _, budi = await open_context(browser, server, "id-ID", PHONE)
    await sign_up(ani, "ani", "Ani Lestari")
    await sign_up(budi, "budi", "Budi Santoso")
    await open_direct_chat(ani, "budi")
    # A stranger's chat arrives as a message request (R18): Budi accepts it.
    request = budi.get_by_test_id("request")
    await expect(request).to_contain_text("Ani Lestari")
    await request.locator("button.primary").click()
    await budi.get_by_test_id("composer").wait_for()
    return ani, budi
