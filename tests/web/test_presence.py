"""Presence from the start (F2): who is online already shows when a direct chat opens,
not only after the other person's next change."""

from __future__ import annotations

from playwright.async_api import Browser, expect

from tests.support.factories import PASSWORD, make_direct, make_user
from tests.support.server import RunningServer
from tests.web.browsing import DESKTOP, PHONE, open_context
from tests.web.screens import sign_in


async def test_f2_someone_signed_in_earlier_shows_online_when_the_chat_opens(
    server: RunningServer, browser: Browser
) -> None:
    ani = await make_user(server, "ani")
    budi = await make_user(server, "budi")
    await make_direct(ani, budi)
    # Budi is signed in first, and then does nothing at all.
    _, budi_page = await open_context(browser, server, "id-ID", DESKTOP)
    await sign_in(budi_page, "budi", PASSWORD)
    # Ani signs in afterwards: no presence frame about Budi is ever sent to her socket.
    _, ani_page = await open_context(browser, server, "en-GB", PHONE)
    await sign_in(ani_page, "ani", PASSWORD)
    await ani_page.get_by_test_id("room").filter(has_text="Budi").click()
    await expect(ani_page.get_by_test_id("room-title")).to_have_text("Budi")
    await expect(ani_page.get_by_test_id("room-status")).to_have_text("online")

    # Budi goes: the live frame keeps it current.
    await budi_page.close()
    await expect(ani_page.get_by_test_id("room-status")).to_have_text("offline")
