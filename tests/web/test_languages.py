"""Counts and dates in the person's language: plural forms, "Today"/"Yesterday", and
dates written the way English and Bahasa Indonesia write them."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from playwright.async_api import Browser, Page, expect

from tests.support.factories import PASSWORD, make_direct, make_user
from tests.support.server import RunningServer
from tests.web.browsing import DESKTOP
from tests.web.screens import open_themed_context, post_message, sign_in

EN_DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
ID_DAYS = ["Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu"]
EN_MONTHS = "January February March April May June July August September October November December"
ID_MONTHS = "Januari Februari Maret April Mei Juni Juli Agustus September Oktober November Desember"


async def at(
    browser: Browser, server: RunningServer, locale: str, zone: str, days_later: int
) -> Page:
    """Ani's browser, its clock `days_later` days after the messages were sent."""
    _, page = await open_themed_context(
        browser, server, locale=locale, viewport=DESKTOP, scheme="light", timezone_id=zone
    )
    if days_later:
        await page.clock.set_fixed_time(datetime.now(UTC) + timedelta(days=days_later))
    await sign_in(page, "ani", PASSWORD)
    return page


async def test_counts_and_days_are_worded_in_english_and_bahasa_indonesia(
    server: RunningServer, browser: Browser
) -> None:
    ani = await make_user(server, "ani", display_name="Ani Lestari")
    budi = await make_user(server, "budi", display_name="Budi Santoso")
    citra = await make_user(server, "citra", display_name="Citra Dewi")
    with_budi = (await make_direct(budi, ani))["id"]
    with_citra = (await make_direct(citra, ani))["id"]
    await post_message(budi, with_budi, "Sudah sampai?")
    await post_message(citra, with_citra, "Rapat jam 3")
    await post_message(citra, with_citra, "Di ruang biasa")

    page = await at(browser, server, "en-GB", "Europe/London", days_later=1)
    rooms = page.get_by_test_id("room")
    await expect(rooms.filter(has_text="Budi").locator(".badge")).to_have_attribute(
        "aria-label", "1 unread message"
    )
    await expect(rooms.filter(has_text="Citra").locator(".badge")).to_have_attribute(
        "aria-label", "2 unread messages"
    )
    await expect(page).to_have_title("(3) obrolan")
    await rooms.filter(has_text="Budi").click()
    await expect(page.get_by_test_id("day")).to_have_text(["Yesterday"])

    await page.get_by_label("Language").select_option("id")
    await expect(page.get_by_test_id("day")).to_have_text(["Kemarin"])
    await expect(rooms.filter(has_text="Citra").locator(".badge")).to_have_attribute(
        "aria-label", "2 pesan belum dibaca"
    )


async def test_older_days_are_dated_in_the_persons_language(
    server: RunningServer, browser: Browser
) -> None:
    ani = await make_user(server, "ani", display_name="Ani Lestari")
    budi = await make_user(server, "budi", display_name="Budi Santoso")
    room = (await make_direct(budi, ani))["id"]
    await post_message(budi, room, "Sudah sampai?")

    for locale, zone, days, months, expected in [
        ("en-GB", "Europe/London", EN_DAYS, EN_MONTHS.split(), r"{weekday},? {day} {month}"),
        ("id-ID", "Asia/Jakarta", ID_DAYS, ID_MONTHS.split(), r"{weekday}, {day} {month}"),
    ]:
        sent = datetime.now(ZoneInfo(zone))
        page = await at(browser, server, locale, zone, days_later=3)
        await page.get_by_test_id("room").click()
        wording = expected.format(
            weekday=days[sent.weekday()], day=sent.day, month=months[sent.month - 1]
        )
        await expect(page.get_by_test_id("day")).to_have_text(re.compile(f"^{wording}$"))
        # On the day itself: "Today" in the person's language.
        page = await at(browser, server, locale, zone, days_later=0)
        await page.get_by_test_id("room").click()
        await expect(page.get_by_test_id("day")).to_have_text(
            "Today" if locale == "en-GB" else "Hari ini"
        )
