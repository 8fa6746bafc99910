"""Notifications of new messages while the tab is hidden, and the unread count in the
page's title and the app badge.

Chromium is given the notification permission; an init script records each Notification
the page constructs (instead of showing it), stands in for the app badge, and lets the
test hide and show the tab as switching to another tab would.
"""

from __future__ import annotations

import re
from typing import Any

from playwright.async_api import Browser, Page, expect

from tests.support.factories import PASSWORD, make_direct, make_room, make_user
from tests.support.server import RunningServer
from tests.web.browsing import DESKTOP
from tests.web.screens import open_themed_context, post_message, sign_in

RECORDER = """
(() => {
  const Real = window.Notification;
  let permission = "default"; // as for a site the person has not yet been asked about
  window.__notes = [];
  window.__asked = 0;
  window.__badge = null;
  window.__hidden = false;
  class Recorded {
    constructor(title, options = {}) {
      this.title = title;
      this.body = options.body;
      this.tag = options.tag;
      this.closed = false;
      window.__notes.push(this);
    }
    close() { this.closed = true; }
    static get permission() { return permission; }
    static async requestPermission() {
      window.__asked += 1;
      permission = await Real.requestPermission(); // the browser's answer: granted here
      return permission;
    }
  }
  window.Notification = Recorded;
  Object.defineProperty(Document.prototype, "visibilityState", {
    configurable: true, get() { return window.__hidden ? "hidden" : "visible"; },
  });
  Object.defineProperty(Document.prototype, "hidden", {
    configurable: true, get() { return window.__hidden; },
  });
  window.__setHidden = (hidden) => {
    window.__hidden = hidden;
    document.dispatchEvent(new Event("visibilitychange"));
  };
  navigator.setAppBadge = (n) => { window.__badge = n; return Promise.resolve(); };
  navigator.clearAppBadge = () => { window.__badge = 0; return Promise.resolve(); };
})();
"""


async def notes(page: Page) -> list[dict[str, Any]]:
    shown: list[dict[str, Any]] = await page.evaluate(
        "window.__notes.map(n => ({title: n.title, body: n.body, tag: n.tag, closed: n.closed}))"
    )
    return shown


async def hidden(page: Page, value: bool) -> None:
    await page.evaluate(f"window.__setHidden({'true' if value else 'false'})")


async def settle(page: Page) -> None:
    """Long enough for an event to reach the page and for nothing more to follow."""
    await page.wait_for_timeout(700)


async def test_f5_one_notification_per_room_and_burst_while_the_tab_is_hidden(
    server: RunningServer, browser: Browser
) -> None:
    ani = await make_user(server, "ani", display_name="Ani Lestari")
    budi = await make_user(server, "budi", display_name="Budi Santoso")
    citra = await make_user(server, "citra", display_name="Citra Dewi")
    with_budi = (await make_direct(budi, ani))["id"]
    with_citra = (await make_direct(citra, ani))["id"]
    context, page = await open_themed_context(
        browser, server, locale="en-GB", viewport=DESKTOP, scheme="light"
    )
    await context.grant_permissions(["notifications"], origin=server.base_url)
    await context.add_init_script(RECORDER)
    await sign_in(page, "ani", PASSWORD)
    await expect(page.get_by_test_id("room")).to_have_count(2)

    # Off until the person turns them on; the browser is asked on that click, not before.
    toggle = page.get_by_test_id("notify")
    await expect(toggle).to_have_attribute("aria-pressed", "false")
    assert await page.evaluate("window.__asked") == 0
    await toggle.click()
    await expect(toggle).to_have_attribute("aria-pressed", "true")
    assert await page.evaluate("window.__asked") == 1
    await expect(page).to_have_title("obrolan")

    # Ani switches to another tab; Budi sends three messages, Citra one.
    await hidden(page, True)
    await post_message(budi, with_budi, "Ani, besok jadi ke pasar?")
    await post_message(budi, with_budi, "Aku bawa mobil")
    await post_message(budi, with_budi, "Jam 7 ya")
    await post_message(citra, with_citra, "Laporan sudah kukirim lewat email")
    await expect(page).to_have_title("(4) obrolan")
    await settle(page)
    # One per room: each room's burst is told once it is over, so which of the two rooms
    # is told first depends on when each burst ended, not on who wrote first.
    assert sorted(await notes(page), key=lambda n: n["title"]) == [
        {
            "title": "Budi Santoso",
            "body": "Budi Santoso: Ani, besok jadi ke pasar?",
            "tag": with_budi,
            "closed": False,
        },
        {
            "title": "Citra Dewi",
            "body": "Citra Dewi: Laporan sudah kukirim lewat email",
            "tag": with_citra,
            "closed": False,
        },
    ]
    assert await page.evaluate("window.__badge") == 4
    # What Ani herself sends from another device is no news to her.
    await post_message(ani, with_budi, "Oke")
    await settle(page)
    assert len(await notes(page)) == 2

    # Clicking Citra's notification brings the tab back and opens her chat.
    await hidden(page, False)
    await page.evaluate(f"window.__notes.find(n => n.tag === {with_citra!r}).onclick()")
    await expect(page.locator(".room-head h2")).to_have_text("Citra Dewi")
    await expect(page).to_have_title("(3) obrolan")  # Budi's three are still unread
    await page.wait_for_function("() => window.__badge === 3")
    assert all(n["closed"] for n in await notes(page))

    # Having looked, the next message from Budi is news again.
    await hidden(page, True)
    await post_message(budi, with_budi, "Eh, jam 8 saja")
    await expect(page).to_have_title("(4) obrolan")
    await settle(page)
    assert [n["body"] for n in await notes(page)][2:] == ["Budi Santoso: Eh, jam 8 saja"]

    # Turned off: no more notifications; the count in the title stays.
    await hidden(page, False)
    await toggle.click()
    await expect(toggle).to_have_attribute("aria-pressed", "false")
    await hidden(page, True)
    await post_message(budi, with_budi, "Halo?")
    await expect(page).to_have_title("(5) obrolan")
    await settle(page)
    assert len(await notes(page)) == 3

    # Reading them clears the title and the badge.
    await hidden(page, False)
    await page.get_by_test_id("room").filter(has_text="Budi Santoso").click()
    await expect(page).to_have_title("obrolan")
    await page.wait_for_function("() => window.__badge === 0")


async def test_f5_no_notification_while_the_tab_is_visible(
    server: RunningServer, browser: Browser
) -> None:
    ani = await make_user(server, "ani", display_name="Ani Lestari")
    budi = await make_user(server, "budi", display_name="Budi Santoso")
    room = (await make_direct(budi, ani))["id"]
    context, page = await open_themed_context(
        browser, server, locale="en-GB", viewport=DESKTOP, scheme="light"
    )
    await context.grant_permissions(["notifications"], origin=server.base_url)
    await context.add_init_script(RECORDER)
    await sign_in(page, "ani", PASSWORD)
    await page.get_by_test_id("room").click()
    await page.get_by_test_id("notify").click()
    await expect(page.get_by_test_id("notify")).to_have_attribute("aria-pressed", "true")
    await post_message(budi, room, "Sudah sampai?")
    await expect(page.get_by_test_id("message").filter(has_text="Sudah sampai?")).to_be_visible()
    await settle(page)
    assert await notes(page) == []


async def test_a_browser_that_blocks_notifications_is_said_so(
    server: RunningServer, browser: Browser
) -> None:
    await make_user(server, "ani", display_name="Ani Lestari")
    context, page = await open_themed_context(
        browser, server, locale="id-ID", viewport=DESKTOP, scheme="light"
    )
    await context.add_init_script(
        RECORDER.replace('let permission = "default"', 'let permission = "denied"')
    )
    await sign_in(page, "ani", PASSWORD)
    toggle = page.get_by_test_id("notify")
    await expect(toggle).to_be_disabled()
    await expect(toggle).to_have_text("Notifikasi diblokir")
    await expect(toggle).to_have_attribute("title", re.compile("izinkan di pengaturan situs"))
    assert await page.evaluate("window.__asked") == 0


async def test_f5_a_group_message_names_its_sender_and_the_group(
    server: RunningServer, browser: Browser
) -> None:
    ani = await make_user(server, "ani", display_name="Ani Lestari")
    dewi = await make_user(server, "dewi", display_name="Dewi Anggraini")
    group = (await make_room(dewi, "group", name="Keluarga Lestari", members=[ani]))["id"]
    context, page = await open_themed_context(
        browser, server, locale="en-GB", viewport=DESKTOP, scheme="light"
    )
    await context.grant_permissions(["notifications"], origin=server.base_url)
    await context.add_init_script(RECORDER)
    await sign_in(page, "ani", PASSWORD)
    await expect(page.get_by_test_id("room")).to_contain_text("Keluarga Lestari")
    await page.get_by_test_id("notify").click()
    await expect(page.get_by_test_id("notify")).to_have_attribute("aria-pressed", "true")
    await hidden(page, True)
    # Ani has not met Dewi in a direct chat: her name is looked up for the notification.
    await post_message(dewi, group, "Arisan hari Minggu di rumah Ibu")
    await expect(page).to_have_title("(1) obrolan")
    await page.wait_for_function("() => window.__notes.length === 1")
    assert await notes(page) == [
        {
            "title": "Keluarga Lestari",
            "body": "Dewi Anggraini: Arisan hari Minggu di rumah Ibu",
            "tag": group,
            "closed": False,
        }
    ]
