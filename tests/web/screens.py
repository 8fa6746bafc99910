"""Steps for the tests that visit every screen: the screens the header links to, a chat
with some history, the accessibility checker."""

from __future__ import annotations

import itertools
from typing import Any

from playwright.async_api import Browser, BrowserContext, Page, expect

from obrolan.web.vendoring import AXE
from tests.support.factories import User
from tests.support.server import RunningServer

# Impacts that fail the accessibility tests; "minor" and "moderate" are printed only.
BLOCKING = frozenset({"serious", "critical"})
_ids = itertools.count(1)


async def open_themed_context(
    browser: Browser,
    server: RunningServer,
    *,
    locale: str,
    viewport: dict[str, int],
    scheme: str,
    **options: Any,
) -> tuple[BrowserContext, Page]:
    context = await browser.new_context(
        base_url=server.base_url,
        locale=locale,
        viewport=viewport,  # type: ignore[arg-type]
        color_scheme=scheme,  # type: ignore[arg-type]
        **options,
    )
    return context, await context.new_page()


async def nav_screens(page: Page) -> list[str]:
    """The screens the header links to (`nav-<name>`), so that screens added later are
    visited too."""
    ids = await page.locator("[data-testid^=nav-]").evaluate_all(
        "buttons => buttons.map(b => b.dataset.testid)"
    )
    return [str(testid).removeprefix("nav-") for testid in ids]


async def show_screen(page: Page, name: str) -> None:
    button = page.get_by_test_id(f"nav-{name}")
    await button.click()
    await expect(button).to_have_attribute("aria-current", "page")
    # Screens load what they show over REST: let that settle before looking.
    await page.wait_for_timeout(400)


async def post_message(user: User, room_id: str, body: str) -> dict[str, Any]:
    resp = await user.http.post(
        f"/api/v1/rooms/{room_id}/messages",
        json={"client_msg_id": f"t-{next(_ids)}", "body": body},
    )
    assert resp.status_code == 201, resp.text
    message: dict[str, Any] = resp.json()
    return message


async def sign_in(page: Page, username: str, password: str) -> None:
    await page.goto("/")
    form = page.get_by_test_id("signin")
    await form.locator("[name=username]").fill(username)
    await form.locator("[name=password]").fill(password)
    await form.locator("button[type=submit]").click()
    await expect(page.get_by_test_id("connection")).to_have_class("conn conn-online")


async def axe_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's violations on the page as it is now (the vendored copy: no network)."""
    if not await page.evaluate("typeof window.axe === 'object'"):
        # Evaluated through the DevTools protocol, which the page's CSP does not govern.
        await page.evaluate(AXE.read_text())
    found: list[dict[str, Any]] = await page.evaluate(
        """async () => {
          const result = await axe.run(document, { resultTypes: ["violations"] });
          return result.violations.map(v => ({
            id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.map(n =>
              n.target.join(" ") + " — " + n.failureSummary.replace(/\\s+/g, " ")),
          }));
        }"""
    )
    return found


def describe(where: str, violations: list[dict[str, Any]]) -> list[str]:
    return [
        f"{where}: [{v['impact']}] {v['id']}: {v['help']}\n    " + "\n    ".join(v["nodes"][:5])
        for v in violations
    ]
