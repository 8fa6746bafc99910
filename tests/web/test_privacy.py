"""The privacy centre in the browser: what obrolan holds about me, my requests and their
deadlines (R13), downloading my data (R1), restriction and objection (R8), deleting my
account and cancelling that with the mailed code (R4), and the audit about me (R7)."""

from __future__ import annotations

import asyncio
import io
import json
import re
import zipfile
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect

from obrolan.clock import FakeClock
from tests.admin.conftest import make_admin
from tests.support.factories import PASSWORD, User, login, make_direct, make_user
from tests.support.outbound import SmtpServer, text_part
from tests.support.server import RunningServer, start_server
from tests.web.browsing import DESKTOP, PHONE, open_context, send, sign_up, token_of

DAY = 24 * 3600
# The erasure mail, in either language (tests/privacy/test_erasure.py).
CANCEL_CODE = re.compile(r"(?:with the code|dengan kode) (\S+) ")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def app(
    database_url: str, tmp_path: Path, clock: FakeClock, smtp: SmtpServer
) -> AsyncIterator[RunningServer]:
    """A server on `clock` whose jobs (exports, mail) run at once and mail `smtp`."""
    running = await start_server(
        database_url,
        tmp_path,
        clock=clock,
        jobs_poll_seconds=0.05,
        mail_backend="smtp",
        mail_from="obrolan <noreply@obrolan.test>",
        smtp_host="127.0.0.1",
        smtp_port=smtp.port,
        smtp_security="none",
    )
    try:
        yield running
    finally:
        await running.shutdown()


async def _person(page: Page, server: RunningServer, username: str) -> User:
    """The person signed in on `page`, for what the test does through the API."""
    token = await token_of(page)
    http = server.http(token)
    me = (await http.get("/api/v1/me")).json()
    assert me["username"] == username
    return User(me["id"], username, token, http, server)


async def _open_privacy(page: Page) -> None:
    await page.get_by_test_id("nav-privacy").click()
    await page.get_by_test_id("privacy-held").wait_for()


def _request(page: Page, kind: str) -> object:
    return page.locator(f'[data-testid="privacy-request"][data-kind="{kind}"]')


async def test_r1_r13_what_obrolan_holds_and_my_data_downloaded_as_a_zip(
    browser: Browser, app: RunningServer
) -> None:
    budi = await make_user(app, "budi")
    _, page = await open_context(browser, app, "en-GB", DESKTOP)
    await sign_up(page, "ani", "Ani Lestari")
    ani = await _person(page, app, "ani")
    await make_direct(ani, budi)
    await page.reload()
    await page.get_by_test_id("room").first.click()
    await send(page, "titip salam untuk ibu")
    await expect(page.get_by_test_id("message").filter(has_text="titip salam")).to_be_visible()

    await _open_privacy(page)
    # Each category with what it is for and how long it is kept, and my own values.
    username = page.locator('[data-category="user.account.username"]')
    await expect(username.locator("h3")).to_have_text("Your username")
    await expect(username.get_by_test_id("privacy-value")).to_have_text("ani")
    name = page.locator('[data-category="user.name"]')
    await expect(name.get_by_test_id("privacy-value")).to_have_text("Ani Lestari")
    await expect(name).to_contain_text("Encrypted with your own key")
    email = page.locator('[data-category="user.contact.email"]')
    await expect(email).to_contain_text("to provide the service you use")
    await expect(email).to_contain_text(
        "while the account is active and 90 days after it is closed"
    )
    await expect(email.get_by_test_id("privacy-value")).to_have_text("Nothing of yours")
    await expect(page.get_by_test_id("privacy-export")).to_contain_text("kept 72 hours")

    # Ask for a copy: the request is listed with its 72-hour deadline, the page follows
    # the job, then offers the download.
    await page.get_by_test_id("export-request").click()
    access = _request(page, "access")
    await expect(access).to_contain_text("A copy of my data")
    await expect(page.get_by_test_id("export-download")).to_be_visible(timeout=30_000)
    await expect(access).to_contain_text("Done")
    built = page.locator('[data-testid="audit-entry"][data-action="privacy.export.built"]')
    await expect(built).to_contain_text("A copy of your data was made")
    async with page.expect_download() as waiting:
        await page.get_by_test_id("export-download").click()
    download = await waiting.value
    assert re.fullmatch(r"obrolan-export-\w{26}\.zip", download.suggested_filename)
    body = await asyncio.to_thread(Path(await download.path()).read_bytes)
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        names = set(archive.namelist())
        exported = json.loads(archive.read("export.json"))
        index = archive.read("index.html").decode()
    assert {"export.json", "index.html"} <= names
    assert exported["account"]["username"] == "ani"
    bodies = [m["body"] for m in exported["messages"]]
    assert "titip salam untuk ibu" in bodies
    assert "titip salam untuk ibu" in index
    # The download is recorded, and the list says so.
    await expect(page.get_by_test_id("export")).to_contain_text("Last downloaded")
    answered = (await ani.http.get("/api/v1/privacy/audit")).json()["entries"]
    assert answered[0]["action"] == "privacy.export.downloaded"


async def test_r13_r8_my_requests_with_deadlines_in_my_language_asked_and_cancelled(
    browser: Browser, app: RunningServer, clock: FakeClock
) -> None:
    _, page = await open_context(browser, app, "id-ID", PHONE)
    await sign_up(page, "sari", "Sari Wulandari")
    await _open_privacy(page)
    await expect(page.get_by_test_id("privacy-requests")).to_contain_text(
        "Anda belum mengajukan permintaan"
    )

    # A correction needs a note; it is due within 72 hours.
    correction = page.get_by_test_id("ask-rectification")
    await correction.locator("textarea").fill("Nama pengguna saya salah eja: seharusnya sari.w")
    await correction.locator("button[type=submit]").click()
    rectification = _request(page, "rectification")
    await expect(rectification).to_contain_text("Koreksi")
    await expect(rectification).to_contain_text("Diterima")
    await expect(rectification.get_by_test_id("privacy-deadline")).to_contain_text("3 hari lagi")
    await expect(rectification).to_contain_text("seharusnya sari.w")
    # The step is an audit entry about me at once, in words.
    await expect(page.get_by_test_id("audit-entry").first).to_have_text(
        re.compile("Permintaan diajukan: Koreksi")
    )

    # A restriction applies at once; lifting it cancels the request.
    await page.get_by_test_id("ask-restriction").locator("button[type=submit]").click()
    restriction = _request(page, "restriction")
    await expect(restriction).to_contain_text("Selesai")
    restrict = page.get_by_test_id("ask-restriction")
    await expect(restrict).to_contain_text("Akun Anda sedang dibatasi")
    await restriction.get_by_test_id("privacy-request-cancel").click()
    await expect(restriction).to_contain_text("Dibatalkan")
    await expect(restrict.locator("button")).to_be_visible()

    # An objection, with why; the deadline of an objection is 14 days.
    objection_form = page.get_by_test_id("ask-objection")
    await objection_form.locator("textarea").fill("Jangan pakai data saya untuk statistik")
    await objection_form.locator("button[type=submit]").click()
    objection = _request(page, "objection")
    await expect(objection).to_contain_text("Selesai")
    await expect(objection_form).to_contain_text("Keberatan Anda sedang berlaku")

    # Four days later the correction is overdue, in words.
    clock.advance(4 * DAY)
    await page.reload()
    await _open_privacy(page)
    await expect(rectification.get_by_test_id("privacy-deadline")).to_contain_text(
        "lewat tenggat 1 hari"
    )
    await expect(rectification).to_have_class(re.compile(r"\boverdue\b"))
    await rectification.get_by_test_id("privacy-request-cancel").click()
    await expect(rectification).to_contain_text("Dibatalkan")
    await expect(rectification.get_by_test_id("privacy-request-cancel")).to_have_count(0)

    # The same requests through the API, as the page showed them.
    sari = await _person(page, app, "sari")
    statuses = {
        r["kind"]: r["status"]
        for r in (await sari.http.get("/api/v1/privacy/requests")).json()["requests"]
    }
    assert statuses == {
        "rectification": "cancelled",
        "restriction": "cancelled",
        "objection": "done",
    }


async def test_r4_delete_my_account_then_cancel_with_the_mailed_code_and_sign_in_again(
    browser: Browser, app: RunningServer, smtp: SmtpServer
) -> None:
    _, page = await open_context(browser, app, "en-GB", PHONE)
    await sign_up(page, "dewi", "Dewi Anggraini")
    dewi = await _person(page, app, "dewi")
    # A confirmed email, so the erasure mail with its cancel code reaches her.
    changed = await dewi.http.patch("/api/v1/me", json={"email": "dewi@contoh.id"})
    assert changed.status_code == 200, changed.text
    verified = await dewi.http.post("/api/v1/me/email/verify", json={"code": await smtp.code(1)})
    assert verified.status_code == 200, verified.text

    await _open_privacy(page)
    delete = page.get_by_test_id("privacy-delete")
    await expect(delete).to_contain_text("Your data is erased 7 days later")
    await expect(delete).to_contain_text("A code to cancel it goes to dewi@contoh.id")
    submit = delete.locator("button[type=submit]")
    await delete.locator("[name=confirm]").fill("dew")
    await expect(submit).to_be_disabled()
    await delete.locator("[name=confirm]").fill("dewi")
    await submit.click()

    # Closed and signed out at once, told when the erasure runs.
    await expect(page.get_by_test_id("erasure-scheduled")).to_contain_text("It will be erased on")
    assert await token_of(page) is None
    assert (await dewi.http.get("/api/v1/me")).status_code == 401
    mail = text_part(await smtp.inbox.nth(2))
    found = CANCEL_CODE.search(mail)
    assert found is not None, mail
    code = found[1]

    # Signing in is refused while the deletion waits.
    await page.get_by_test_id("cancel-deletion").get_by_role("button", name="Back").click()
    form = page.get_by_test_id("signin")
    await form.locator("[name=username]").fill("dewi")
    await form.locator("[name=password]").fill(PASSWORD)
    await form.locator("button[type=submit]").click()
    await expect(form.locator(".error")).to_be_visible()

    # From the sign-in screen: a wrong code is refused, the mailed one cancels.
    await page.get_by_test_id("to-cancel-deletion").click()
    cancel = page.get_by_test_id("cancel-deletion")
    await cancel.locator("[name=code]").fill("not-the-code")
    await cancel.locator("button[type=submit]").click()
    await expect(cancel.get_by_role("alert")).to_contain_text("does not cancel any deletion")
    await cancel.locator("[name=code]").fill(code)
    await cancel.locator("button[type=submit]").click()
    await expect(page.get_by_test_id("cancel-deletion-done")).to_be_visible()
    await page.get_by_test_id("cancel-deletion-signin").click()

    # The account is open again: she signs in with her password.
    await form.locator("[name=username]").fill("dewi")
    await form.locator("[name=password]").fill(PASSWORD)
    await form.locator("button[type=submit]").click()
    await expect(page.get_by_test_id("connection")).to_have_class("conn conn-online")
    await _open_privacy(page)
    await expect(_request(page, "erasure")).to_contain_text("Cancelled")


async def test_r7_audit_about_me_newest_first_paged_with_lawful_access_shown_as_such(
    browser: Browser, app: RunningServer, clock: FakeClock
) -> None:
    budi = await make_user(app, "budi")
    _, page = await open_context(browser, app, "id-ID", DESKTOP)
    await sign_up(page, "ani", "Ani Lestari")
    ani = await _person(page, app, "ani")
    room = await make_direct(ani, budi)
    sent = await ani.http.post(
        f"/api/v1/rooms/{room['id']}/messages", json={"client_msg_id": "m1", "body": "halo"}
    )
    assert sent.status_code == 201, sent.text
    # More sign-ins than one page holds, and a failed one.
    for _ in range(22):
        await login(app, "ani")
    async with app.http() as http:
        wrong = {"username": "ani", "password": "not her password"}
        assert (await http.post("/api/v1/sessions", json=wrong)).status_code == 401

    # Lawful access: one operator files, another approves, the first reads the chat; a
    # second request under a legal hold reads it too, and that read stays hidden (R7).
    pak_rt, bu_rw = await make_admin(app), await make_admin(app)
    now = clock.now()
    window = {
        "reason": "Polda Metro Jaya asks for the messages of a fraud suspect",
        "legal_basis": "UU ITE Art. 43; court order 12/Pid/2026",
        "room_ids": [room["id"]],
        "starts_at": now.isoformat(),
        "ends_at": (now + timedelta(days=7)).isoformat(),
    }
    held = {**window, "hold_until": (now + timedelta(days=60)).isoformat()}
    for body in (held, window):
        filed = await pak_rt.http.post("/api/v1/admin/lawful-access", json=body)
        assert filed.status_code == 201, filed.text
        request_id = filed.json()["id"]
        approved = await bu_rw.http.post(f"/api/v1/admin/lawful-access/{request_id}/approve")
        assert approved.status_code == 200, approved.text
        read = await pak_rt.http.get(
            f"/api/v1/admin/lawful-access/{request_id}/rooms/{room['id']}/messages"
        )
        assert read.status_code == 200, read.text

    await _open_privacy(page)
    audit = page.get_by_test_id("privacy-audit")
    entries = audit.get_by_test_id("audit-entry")
    # A page of 20 entries, less the one under the hold: 19 shown.
    await expect(entries).to_have_count(19)
    # Newest first: the read without a hold, as lawful access, by an operator.
    first = entries.first
    await expect(first).to_have_attribute("data-action", "lawful_access.read")
    await expect(first).to_contain_text("Akses sah menurut hukum")
    await expect(first).to_contain_text("operator membaca 1 pesan dan 0 reaksi milik Anda")
    await expect(first).to_contain_text("oleh operator")
    await expect(entries.nth(1)).to_have_attribute("data-action", "auth.sign_in_failed")

    await audit.get_by_test_id("audit-more").click()
    await expect(entries).to_have_count(25)
    await expect(audit.get_by_test_id("audit-more")).to_have_count(0)
    # The held read is not shown; the failed sign-in and the first sign-in are.
    await expect(audit.locator('[data-action="lawful_access.read"]')).to_have_count(1)
    await expect(audit.locator('[data-action="auth.sign_in_failed"]')).to_contain_text(
        "kata sandi salah"
    )
    await expect(entries.last).to_contain_text("Masuk ke akun")
    await expect(entries.last).to_contain_text("oleh Anda")
