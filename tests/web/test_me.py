"""The Me screen in Chromium: profile and who sees it (F1), email and phone confirmed by
a code, contact settings (F14, R18), sessions and devices (R17), two-step sign-in (R17).

The server here sends its mail to a real local SMTP server and its SMS to a gateway
stand-in, and runs on a clock that moves only when a test says (two-step codes are good
once, so signing in after turning it on waits for the next 30-second step).
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pyotp
import pytest
from PIL import Image
from playwright.async_api import Browser, Page, expect

from obrolan.clock import FakeClock
from tests.accounts.conftest import outbound_settings
from tests.support.factories import PASSWORD, User, make_user
from tests.support.outbound import SmsGatewayStandIn, SmtpServer
from tests.support.server import RunningServer, start_server
from tests.web.browsing import DESKTOP, PHONE, open_context, sign_up, token_of

STEP = 30  # seconds per two-step code

# Every close code the page's WebSockets saw, so a test can tell how a socket ended.
RECORD_CLOSES = """
window.__closes = [];
const Native = window.WebSocket;
window.WebSocket = class extends Native {
  constructor(...args) {
    super(...args);
    this.addEventListener("close", (event) => window.__closes.push(event.code));
  }
};
"""


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime.now(UTC).replace(microsecond=0))


@pytest.fixture
async def me_server(
    database_url: str,
    tmp_path: Path,
    clock: FakeClock,
    smtp: SmtpServer,
    sms_gateway: SmsGatewayStandIn,
) -> AsyncIterator[RunningServer]:
    running = await start_server(
        database_url, tmp_path, clock=clock, **outbound_settings(smtp, sms_gateway)
    )
    try:
        yield running
    finally:
        await running.shutdown()


@pytest.fixture
async def budi(me_server: RunningServer) -> AsyncIterator[User]:
    """Someone else on the server, who looks Ani up through the API."""
    person = await make_user(me_server, "budi")
    try:
        yield person
    finally:
        await person.aclose()


async def open_me(page: Page) -> None:
    await page.get_by_test_id("nav-me").click()
    await page.get_by_test_id("me").wait_for()


async def me_id(server: RunningServer, page: Page) -> str:
    async with server.http(await token_of(page)) as http:
        user_id: str = (await http.get("/api/v1/me")).json()["id"]
    return user_id


async def sign_in(page: Page, username: str) -> None:
    form = page.get_by_test_id("signin")
    await form.locator("[name=username]").fill(username)
    await form.locator("[name=password]").fill(PASSWORD)
    await form.locator("button[type=submit]").click()


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 40, 90)).save(out, format="PNG")
    return out.getvalue()


async def no_sideways_scroll(page: Page) -> None:
    """Nothing on the Me screen is wider than the screen (the header is not this screen's)."""
    overflow = await page.evaluate(
        "() => [...document.querySelectorAll('.me-screen, .me-card')].map(e =>"
        " Math.max(e.scrollWidth - e.clientWidth, e.getBoundingClientRect().right - innerWidth))"
    )
    assert max(overflow) <= 0, overflow


async def test_f1_profile_fields_are_shown_to_others_as_their_visibility_says(
    browser: Browser, me_server: RunningServer, budi: User
) -> None:
    _, ani = await open_context(browser, me_server, "en-GB", DESKTOP)
    await sign_up(ani, "ani", "Ani Lestari")
    await open_me(ani)
    ani_id = await me_id(me_server, ani)
    profile = ani.get_by_test_id("profile")
    await profile.locator("[name=display_name]").fill("Ani L.")
    await profile.locator("[name=bio]").fill("Suka kopi\nand long walks")
    await profile.locator("[name=gender]").fill("perempuan")
    await profile.locator("[name=date_of_birth]").fill("1994-08-17")
    await ani.get_by_test_id("visibility-gender").select_option("everyone")
    await ani.get_by_test_id("visibility-bio").select_option("nobody")
    await profile.locator("button[type=submit]").click()
    await expect(ani.get_by_test_id("profile-saved")).to_be_visible()

    seen = (await budi.http.get(f"/api/v1/users/{ani_id}")).json()
    assert seen["display_name"] == "Ani L."
    assert seen["gender"] == "perempuan"
    # The bio is hidden from Budi, and so is the date of birth (nobody, by default).
    assert "bio" not in seen and "date_of_birth" not in seen

    # What was saved is what the screen shows after a reload.
    await ani.reload()
    await open_me(ani)
    await expect(profile.locator("[name=bio]")).to_have_value("Suka kopi\nand long walks")
    await expect(profile.locator("[name=date_of_birth]")).to_have_value("1994-08-17")
    await expect(ani.get_by_test_id("visibility-bio")).to_have_value("nobody")
    await ani.get_by_test_id("visibility-bio").select_option("everyone")
    await ani.get_by_test_id("visibility-gender").select_option("contacts")
    await profile.locator("button[type=submit]").click()
    await expect(ani.get_by_test_id("profile-saved")).to_be_visible()
    seen = (await budi.http.get(f"/api/v1/users/{ani_id}")).json()
    assert seen["bio"] == "Suka kopi\nand long walks"
    assert "gender" not in seen  # Budi shares no direct chat with Ani: not a contact

    # Once Ani accepts Budi's direct chat, he is a contact and sees her gender; Cita,
    # who shares nothing with Ani, still does not.
    direct = (await budi.http.post("/api/v1/rooms/direct", json={"user_id": ani_id})).json()
    async with me_server.http(await token_of(ani)) as http:
        accepted = await http.post(f"/api/v1/rooms/{direct['id']}/accept")
        assert accepted.status_code == 200, accepted.text
    assert (await budi.http.get(f"/api/v1/users/{ani_id}")).json()["gender"] == "perempuan"
    cita = await make_user(me_server, "cita")
    try:
        assert "gender" not in (await cita.http.get(f"/api/v1/users/{ani_id}")).json()
    finally:
        await cita.aclose()


async def test_f1_the_photo_is_uploaded_shown_hidden_and_removed(
    browser: Browser, me_server: RunningServer, budi: User
) -> None:
    _, ani = await open_context(browser, me_server, "en-GB", DESKTOP)
    await sign_up(ani, "ani", "Ani Lestari")
    await open_me(ani)
    ani_id = await me_id(me_server, ani)
    await expect(ani.get_by_test_id("photo")).to_have_count(0)
    await ani.locator("input[type=file][name=photo]").set_input_files(
        files=[{"name": "ani.png", "mimeType": "image/png", "buffer": png()}]
    )
    photo = ani.get_by_test_id("photo")
    await expect(photo).to_be_visible()
    assert await photo.evaluate("img => img.naturalWidth") == 64
    photo_url = f"/api/v1/users/{ani_id}/photo"
    assert (await budi.http.get(photo_url)).status_code == 200  # everyone, by default

    await ani.get_by_test_id("visibility-photo").select_option("nobody")
    await ani.get_by_test_id("profile").locator("button[type=submit]").click()
    await expect(ani.get_by_test_id("profile-saved")).to_be_visible()
    assert (await budi.http.get(photo_url)).status_code == 404

    # A file that is no picture is refused, and the photo stays.
    await ani.locator("input[type=file][name=photo]").set_input_files(
        files=[{"name": "notes.png", "mimeType": "image/png", "buffer": b"not a picture"}]
    )
    await expect(ani.get_by_test_id("me-profile").get_by_role("alert")).to_contain_text(
        "not a JPEG, PNG or WebP"
    )
    await expect(photo).to_be_visible()

    await ani.get_by_test_id("photo-remove").click()
    await expect(ani.get_by_test_id("photo")).to_have_count(0)
    assert (await budi.http.get("/api/v1/me")).status_code == 200
    async with me_server.http(await token_of(ani)) as http:
        assert (await http.get("/api/v1/me")).json()["photo"] is False


async def test_f1_email_and_phone_are_verified_with_the_code_sent_to_them(
    browser: Browser, me_server: RunningServer, smtp: SmtpServer, sms_gateway: SmsGatewayStandIn
) -> None:
    _, ani = await open_context(browser, me_server, "id-ID", PHONE)
    await sign_up(ani, "ani", "Ani Lestari")
    await open_me(ani)
    await no_sideways_scroll(ani)

    email = ani.get_by_test_id("email")
    await email.locator("[name=address]").fill("ani@contoh.id")
    await email.locator("button[type=submit]").click()
    await expect(ani.get_by_test_id("email-status")).to_have_text("Belum terverifikasi")
    first = await smtp.code(1)
    # A wrong code is refused in the reader's language.
    wrong = "000000" if first != "000000" else "111111"
    code_form = ani.get_by_test_id("email-code")
    await code_form.locator("[name=code]").fill(wrong)
    await code_form.locator("button[type=submit]").click()
    await expect(email.get_by_role("alert")).to_have_text(
        "Kodenya tidak cocok. Periksa lalu coba lagi."
    )
    # A new code replaces the first one.
    await ani.get_by_test_id("email-resend").click()
    second = await smtp.code(2)
    if second != first:
        await code_form.locator("[name=code]").fill(first)
        await code_form.locator("button[type=submit]").click()
        await expect(email.get_by_role("alert")).to_be_visible()
    await code_form.locator("[name=code]").fill(second)
    await code_form.locator("button[type=submit]").click()
    await expect(ani.get_by_test_id("email-status")).to_have_text("Terverifikasi")
    await expect(ani.get_by_test_id("email-code")).to_have_count(0)

    phone = ani.get_by_test_id("phone")
    await phone.locator("[name=address]").fill("0812-3456-7890")
    await phone.locator("button[type=submit]").click()
    await expect(phone.locator("[name=address]")).to_have_value("+6281234567890")
    await expect(ani.get_by_test_id("phone-status")).to_have_text("Belum terverifikasi")
    sms = await sms_gateway.calls.nth(1)
    assert sms.json["to"] == "+6281234567890"
    phone_form = ani.get_by_test_id("phone-code")
    await phone_form.locator("[name=code]").fill(await sms_gateway.code(1))
    await phone_form.locator("button[type=submit]").click()
    await expect(ani.get_by_test_id("phone-status")).to_have_text("Terverifikasi")

    # The account says so too, after a reload.
    await ani.reload()
    await open_me(ani)
    await expect(ani.get_by_test_id("email-status")).to_have_text("Terverifikasi")
    await expect(ani.get_by_test_id("phone-status")).to_have_text("Terverifikasi")
    await no_sideways_scroll(ani)


async def test_f14_r18_who_can_find_and_message_me_are_switches(
    browser: Browser, me_server: RunningServer, budi: User
) -> None:
    _, ani = await open_context(browser, me_server, "en-GB", DESKTOP)
    await sign_up(ani, "ani", "Ani Lestari")
    await open_me(ani)
    settings = ani.get_by_test_id("contact-settings")
    by_username = settings.get_by_role("switch", name="People can find me by my username")
    by_email = settings.get_by_role("switch", name="People can find me by my email")
    requests = settings.get_by_role("switch", name="Strangers' messages arrive as requests")
    await expect(by_username).to_be_checked()
    await expect(requests).to_be_checked()
    await expect(by_email).not_to_be_checked()
    assert (await budi.http.get("/api/v1/users", params={"username": "ani"})).status_code == 200

    await by_username.click()
    await by_email.click()
    await expect(by_username).not_to_be_checked()
    # A switch flips at the click; what it saved arrives when the server has answered.
    wanted = {
        "findable_by_username": False,
        "message_requests": True,
        "findable_by_email": True,
        "findable_by_phone": False,
    }
    async with me_server.http(await token_of(ani)) as http:
        for _ in range(100):
            stored = (await http.get("/api/v1/me/contact-settings")).json()
            if stored == wanted:
                break
            await asyncio.sleep(0.05)
    assert stored == wanted
    # Budi no longer finds Ani by her username: the answer a username nobody has gets.
    assert (await budi.http.get("/api/v1/users", params={"username": "ani"})).status_code == 404

    await ani.reload()
    await open_me(ani)
    await expect(by_username).not_to_be_checked()
    await expect(by_email).to_be_checked()


async def test_r17_revoking_another_device_signs_it_out_and_signing_out_everywhere_ends_all(
    browser: Browser, me_server: RunningServer
) -> None:
    laptop_context, laptop = await open_context(browser, me_server, "en-GB", DESKTOP)
    phone_context, phone = await open_context(browser, me_server, "en-GB", PHONE)
    await phone_context.add_init_script(RECORD_CLOSES)
    await sign_up(laptop, "ani", "Ani Lestari")
    await phone.goto("/")
    await sign_in(phone, "ani")
    await expect(phone.get_by_test_id("connection")).to_have_class("conn conn-online")
    phone_token = await token_of(phone)

    await open_me(laptop)
    sessions = laptop.get_by_test_id("session")
    await expect(sessions).to_have_count(2)
    this = laptop.locator("[data-testid=session][data-current=true]")
    await expect(this).to_contain_text("This device")
    await expect(this).to_contain_text("Last active")
    await expect(this.get_by_role("button")).to_have_count(0)  # signing out here is elsewhere
    other = laptop.locator("[data-testid=session][data-current=false]")
    await expect(other).to_contain_text("Web browser")
    await other.get_by_role("button", name="Sign out Web browser").click()

    # The phone's socket is closed, and it goes back to the sign-in screen. The server
    # sends the phone its `session.revoked` event, then closes with 4401; the phone
    # signs out on whichever it reads first, so the close it records is the server's
    # 4401 or its own (tests/realtime test the server's 4401).
    await phone.get_by_test_id("signin").wait_for()
    await phone.wait_for_function("window.__closes.length >= 1")
    assert await token_of(phone) is None
    await expect(sessions).to_have_count(1)
    async with me_server.http(phone_token) as http:
        assert (await http.get("/api/v1/me")).status_code == 401

    # Signed in again on the phone; then "sign out everywhere" on the laptop ends both.
    await sign_in(phone, "ani")
    await expect(phone.get_by_test_id("connection")).to_have_class("conn conn-online")
    await expect(sessions).to_have_count(2)  # the list follows the new sign-in
    laptop_token = await token_of(laptop)
    await laptop.get_by_test_id("everywhere").click()
    await laptop.get_by_test_id("everywhere-confirm").click()
    await laptop.get_by_test_id("signin").wait_for()
    await phone.get_by_test_id("signin").wait_for()
    await phone.wait_for_function("window.__closes.length >= 2")
    for token in (laptop_token, await token_of(phone) or phone_token):
        async with me_server.http(token) as http:
            assert (await http.get("/api/v1/me")).status_code == 401
    await laptop_context.close()
    await phone_context.close()


async def test_r17_two_step_sign_in_is_set_up_from_a_qr_code_and_asked_for_at_sign_in(
    browser: Browser, me_server: RunningServer, clock: FakeClock
) -> None:
    _, ani = await open_context(browser, me_server, "en-GB", DESKTOP)
    await sign_up(ani, "ani", "Ani Lestari")
    await open_me(ani)
    await ani.get_by_test_id("totp-start").click()
    qr = ani.get_by_test_id("totp-qr")
    await expect(qr).to_be_visible()
    await expect(qr).to_have_attribute("aria-label", "QR code for your authenticator app")
    assert await qr.locator("path").evaluate("p => p.getAttribute('d').length") > 1000
    secret = (await ani.get_by_test_id("totp-secret").inner_text()).replace(" ", "")
    totp = pyotp.TOTP(secret)

    confirm = ani.get_by_test_id("totp-confirm")
    await confirm.locator("[name=code]").fill(totp.at(clock.now()))
    await confirm.locator("[name=password]").fill("not the password at all")
    await confirm.locator("button[type=submit]").click()
    await expect(ani.get_by_test_id("me-totp").get_by_role("alert")).to_have_text(
        "The password is wrong."
    )
    await confirm.locator("[name=password]").fill(PASSWORD)
    await confirm.locator("button[type=submit]").click()
    await expect(ani.get_by_test_id("totp-status")).to_contain_text("On:")

    await ani.get_by_role("button", name="Sign out", exact=True).click()
    await sign_in(ani, "ani")
    code = ani.get_by_test_id("signin").locator("[name=totp_code]")
    await expect(code).to_be_focused()
    # The code that turned it on is used up; the next step's code signs in.
    await code.fill(totp.at(clock.now()))
    await ani.get_by_test_id("signin").locator("button[type=submit]").click()
    await expect(ani.get_by_test_id("signin").get_by_role("alert")).to_contain_text(
        "wrong or has expired"
    )
    clock.advance(STEP)
    await code.fill(totp.at(clock.now()))
    await ani.get_by_test_id("signin").locator("button[type=submit]").click()
    await expect(ani.get_by_test_id("connection")).to_have_class("conn conn-online")

    # Turned off again with a fresh code and the password.
    await open_me(ani)
    clock.advance(STEP)
    off = ani.get_by_test_id("totp-off")
    await off.locator("[name=code]").fill(totp.at(clock.now()))
    await off.locator("[name=password]").fill(PASSWORD)
    await off.locator("button[type=submit]").click()
    await expect(ani.get_by_test_id("totp-start")).to_be_visible()
    async with me_server.http(await token_of(ani)) as http:
        assert (await http.get("/api/v1/me")).json()["totp_enabled"] is False
