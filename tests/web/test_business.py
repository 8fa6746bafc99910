"""Business chats in the web client (F9, R16): opening a chat with a business's number,
the business's answer, its badge and profile, blocking it; the businesses that may
message me in the privacy centre, with their proof, and withdrawing one."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Page, expect

from tests.accounts.conftest import SMS_SECRET
from tests.business.conftest import (
    Business,
    customer,
    inbound,
    make_business,
    opt_in,
    queued_events,
)
from tests.support.factories import PASSWORD, User
from tests.support.outbound import SmsGatewayStandIn
from tests.support.server import RunningServer, start_server
from tests.web.browsing import DESKTOP, PHONE, message, open_context, send
from tests.web.screens import BLOCKING, axe_violations, describe, sign_in

NUMBER = "+6281234500001"  # the person's verified phone


@pytest.fixture
async def app(
    database_url: str, tmp_path: Path, sms_gateway: SmsGatewayStandIn
) -> AsyncIterator[RunningServer]:
    """A server whose SMS (the phone's verification code) reach the stand-in gateway."""
    running = await start_server(
        database_url,
        tmp_path,
        sms_backend="webhook",
        sms_webhook_url=sms_gateway.url,
        sms_webhook_secret=SMS_SECRET,
        jobs_poll_seconds=0.05,
    )
    try:
        yield running
    finally:
        await running.shutdown()


async def _shop(app: RunningServer) -> Business:
    business = await make_business(app, name="Toko Sari", phone="+6281100001111")
    profile = await business.owner.http.patch(
        f"/api/v1/businesses/{business.id}",
        json={
            "about": "Sepatu dan sandal sejak 1998",
            "description": "Toko sepatu keluarga.\nBuka setiap hari.",
            "address": "Jl. Malioboro 12, Yogyakarta",
            "email": "halo@tokosari.example",
            "websites": ["https://tokosari.example/", "javascript:alert(1)"],
        },
    )
    assert profile.status_code == 200, profile.text
    return business


async def _signed_in(
    browser: Browser, app: RunningServer, person: User, locale: str, viewport: dict[str, int]
) -> Page:
    _, page = await open_context(browser, app, locale, viewport)
    await sign_in(page, person.username, PASSWORD)
    return page


async def _no_serious_violations(page: Page, where: str) -> None:
    found = await axe_violations(page)
    for line in describe(where, found):
        print(line)
    blocking = describe(where, [v for v in found if v["impact"] in BLOCKING])
    assert blocking == [], "\n".join(blocking)


async def _open_business_chat(page: Page, number: str) -> None:
    form = page.get_by_test_id("business-chat")
    if not await form.is_visible():
        await page.get_by_test_id("panel-business").click()
    await form.locator("[name=number]").fill(number)
    await form.locator("button[type=submit]").click()


async def test_f9_a_chat_opened_by_number_shows_the_business_its_answer_and_its_profile(
    browser: Browser, app: RunningServer, sms_gateway: SmsGatewayStandIn
) -> None:
    business = await _shop(app)
    budi = await customer(app, sms_gateway, NUMBER, "budi")
    page = await _signed_in(browser, app, budi, "en-GB", DESKTOP)

    # A number no business has is refused, in words.
    await _open_business_chat(page, "+62 899 0000 0000")
    error = page.get_by_test_id("business-chat-error")
    await expect(error).to_have_text("No business has the number +62 899 0000 0000 here.")
    await _no_serious_violations(page, "chat with a business, an unknown number")

    # Its number (as a wa.me link has it) opens the chat, marked as a business's.
    await _open_business_chat(page, business.display_phone_number)
    await expect(page.get_by_test_id("room-title")).to_have_text("Toko Sari")
    head = page.locator(".room-head")
    # Seen as "Business", heard as "Business (business account)".
    await expect(head.get_by_test_id("business-badge")).to_have_text(
        re.compile(r"^Business\s*\(business account\)$")
    )
    await expect(head.get_by_test_id("business-head")).to_contain_text(
        business.display_phone_number
    )
    row = page.get_by_test_id("room").filter(has_text="Toko Sari")
    await expect(row.get_by_test_id("business-badge")).to_be_visible()

    # Budi writes; within the 24 hours the business answers free-form, with a link.
    await send(page, "Halo, sepatu ukuran 42 ada?")
    # Stored (it has its id) before the business answers: the window is open.
    await expect(message(page, "ukuran 42")).to_have_attribute(
        "data-message-id", re.compile(r"\w{26}")
    )
    answer = await business.send(
        {
            "to": NUMBER[1:],
            "type": "text",
            "text": {"body": "Ada, kak!\n[Lihat katalog]\nhttps://tokosari.example/katalog."},
        }
    )
    assert answer.status_code == 200, answer.text
    reply = message(page, "Ada, kak!")
    await expect(reply).to_contain_text("[Lihat katalog]")
    link = reply.locator("a")
    await expect(link).to_have_attribute("href", "https://tokosari.example/katalog")
    await expect(link).to_have_attribute("rel", "noopener noreferrer nofollow")
    await expect(row.get_by_test_id("room-last")).to_have_text(
        "Ada, kak! [Lihat katalog] https://tokosari.example/katalog."
    )
    await _no_serious_violations(page, "a business chat")

    # The details show the business, not members, roles, invites or leaving.
    await page.get_by_test_id("room-details").click()
    info = page.get_by_test_id("room-info")
    profile = info.get_by_test_id("business-profile")
    await expect(profile.get_by_test_id("business-name")).to_have_text("Toko Sari")
    await expect(profile.get_by_test_id("business-about")).to_have_text(
        "Sepatu dan sandal sejak 1998"
    )
    await expect(profile).to_contain_text("Jl. Malioboro 12, Yogyakarta")
    await expect(profile).to_contain_text("halo@tokosari.example")
    await expect(profile.get_by_test_id("business-phone")).to_have_text(
        business.display_phone_number
    )
    await expect(profile.get_by_test_id("business-opt-in")).to_contain_text("No:")
    site = profile.get_by_role("link", name="https://tokosari.example/")
    await expect(site).to_have_attribute("href", "https://tokosari.example/")
    # A website that is not http(s) stays text.
    await expect(profile.get_by_text("javascript:alert(1)")).to_be_visible()
    await expect(profile.locator("a")).to_have_count(1)
    for absent in ("members", "invite", "leave", "room-edit"):
        await expect(info.get_by_test_id(absent)).to_have_count(0)
    await _no_serious_violations(page, "a business chat's details")

    # Blocking the business: the number's account is blocked, and the chat cannot be written to.
    await info.get_by_test_id("info-block").click()
    await expect(info.get_by_test_id("info-unblock")).to_have_text("Unblock this business")
    blocks = (await budi.http.get("/api/v1/blocks")).json()["blocks"]
    assert [b["user_id"] for b in blocks] == [business.number_user_id]
    await page.get_by_test_id("info-close").click()
    await expect(page.get_by_test_id("blocked-note")).to_contain_text("You blocked this business")
    await expect(page.get_by_test_id("composer")).to_have_count(0)


async def test_f9_a_business_s_reply_buttons_are_pressed_to_answer_it(
    browser: Browser, app: RunningServer, sms_gateway: SmsGatewayStandIn
) -> None:
    business = await _shop(app)
    budi = await customer(app, sms_gateway, NUMBER, "budi")
    page = await _signed_in(browser, app, budi, "en-GB", DESKTOP)
    await _open_business_chat(page, business.display_phone_number)
    await send(page, "Mau pesan sepatu")
    await expect(message(page, "Mau pesan")).to_have_attribute(
        "data-message-id", re.compile(r"\w{26}")
    )

    asked = await business.send(
        {
            "to": NUMBER[1:],
            "type": "interactive",
            "interactive": {
                "type": "button",
                "body": {"text": "Ambil di toko atau diantar?"},
                "action": {
                    "buttons": [
                        {"type": "reply", "reply": {"id": "pickup", "title": "Ambil"}},
                        {"type": "reply", "reply": {"id": "delivery", "title": "Diantar"}},
                    ]
                },
            },
        }
    )
    assert asked.status_code == 200, asked.text
    # Arrived live, the message shows its buttons, each named by its title.
    question = page.locator(".bubble.theirs").filter(has_text="Ambil di toko")
    choices = question.get_by_test_id("choices")
    await expect(choices.get_by_role("button")).to_have_count(2)
    await expect(choices.get_by_role("button", name="Ambil", exact=True)).to_be_enabled()
    await _no_serious_violations(page, "a business's reply buttons")

    await choices.get_by_role("button", name="Diantar", exact=True).click()
    answer = page.locator(".bubble.mine").filter(has_text="Diantar")
    await expect(answer).to_have_attribute("data-message-id", re.compile(r"\w{26}"))
    # Answered, the buttons stay to be read but cannot be pressed again.
    for title in ("Ambil", "Diantar"):
        await expect(choices.get_by_role("button", name=title, exact=True)).to_be_disabled()

    # It is a reply to the business's message, with the title as its text.
    opened = await budi.http.post(
        "/api/v1/business-chats", json={"number": business.display_phone_number}
    )
    room_id = opened.json()["room_id"]
    history = (await budi.http.get(f"/api/v1/rooms/{room_id}/messages")).json()["messages"]
    question_id = await question.get_attribute("data-message-id")
    assert history[-1]["sender_id"] == budi.id
    assert history[-1]["body"] == "Diantar"
    assert history[-1]["reply_to"] == question_id
    # The business is told which button, as the Cloud API tells it.
    [told] = inbound(await queued_events(app, business.id))[-1:]
    assert told["type"] == "interactive"
    assert told["interactive"] == {
        "type": "button_reply",
        "button_reply": {"id": "delivery", "title": "Diantar"},
    }
    assert told["context"]["id"] == asked.json()["messages"][0]["id"]

    # Opened again (here after a reload), the chat asks for its choices: still answered.
    await page.reload()
    await expect(choices.get_by_role("button", name="Diantar", exact=True)).to_be_disabled()


async def _opt_ins(person: User) -> list[dict[str, Any]]:
    answer = await person.http.get("/api/v1/me/business-opt-ins")
    assert answer.status_code == 200, answer.text
    found: list[dict[str, Any]] = answer.json()["opt_ins"]
    return found


async def test_r16_the_privacy_centre_lists_each_opt_in_with_its_proof_and_withdraws_it(
    browser: Browser, app: RunningServer, sms_gateway: SmsGatewayStandIn
) -> None:
    business = await _shop(app)
    sari = await customer(app, sms_gateway, NUMBER, "sari")
    page = await _signed_in(browser, app, sari, "id-ID", PHONE)
    await page.get_by_test_id("nav-privacy").click()
    section = page.get_by_test_id("privacy-businesses")
    await expect(section.get_by_test_id("opt-ins-none")).to_have_text(
        "Belum ada bisnis yang mencatat persetujuan Anda untuk dikirimi pesan."
    )

    shown = "Ya, saya mau kabar promo Toko Sari lewat obrolan.\nBisa berhenti kapan saja."
    await opt_in(business, NUMBER, shown)
    await page.reload()
    await page.get_by_test_id("nav-privacy").click()
    entry = page.get_by_test_id("opt-in")
    await expect(entry).to_have_count(1)
    await expect(entry).to_contain_text("Toko Sari")
    await expect(entry.get_by_test_id("opt-in-state")).to_have_text("Berlaku")
    await expect(entry.get_by_test_id("opt-in-source")).to_have_text("Formulir di situs webnya")
    # The exact text she was shown, line breaks and all.
    assert await entry.get_by_test_id("opt-in-shown").inner_text() == shown
    await expect(entry.get_by_test_id("opt-in-reference")).to_have_text("form-7")
    await expect(entry.get_by_test_id("opt-in-marketing")).to_have_text("Diizinkan")
    await _no_serious_violations(page, "privacy centre, businesses that may message me")

    # Withdraw asks first; keeping it changes nothing.
    await entry.get_by_test_id("opt-in-withdraw").click()
    await expect(entry).to_contain_text("Tarik persetujuan Anda? Toko Sari")
    await entry.get_by_role("button", name="Biarkan").click()
    await expect(entry.get_by_test_id("opt-in-withdraw")).to_be_visible()
    assert (await _opt_ins(sari))[0]["withdrawn_at"] is None

    await entry.get_by_test_id("opt-in-withdraw").click()
    await entry.get_by_test_id("opt-in-withdraw-confirm").click()
    await expect(page.get_by_test_id("privacy-notice")).to_contain_text("Ditarik: Toko Sari")
    await expect(entry.get_by_test_id("opt-in-state")).to_have_text("Ditarik")
    await expect(entry.get_by_test_id("opt-in-withdrawn")).to_be_visible()
    await expect(entry.get_by_test_id("opt-in-withdraw")).to_have_count(0)
    [withdrawn] = await _opt_ins(sari)
    assert withdrawn["withdrawn_at"] is not None
    # The proof stays listed after withdrawing.
    assert withdrawn["shown_text"] == shown
