"""F1, F14, R17, R18: codes by mail and SMS confirm addresses; only then sign in and be found."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import select

from obrolan.accounts.models import users
from obrolan.clock import FakeClock
from obrolan.jobs import JobState
from obrolan.notifications import MAIL_SEND
from obrolan.notifications.rules import SIGNATURE_HEADER, signature_matches
from tests.accounts.conftest import SMS_SECRET, MakePerson, count_argon2
from tests.crypto.test_at_rest import _raw_database
from tests.support.factories import PASSWORD, User, register
from tests.support.outbound import SmsGatewayStandIn, SmtpServer, text_part
from tests.support.server import RunningServer

EMAIL = "sari@contoh.id"
PHONE_TYPED = "0812-3456-7890"
PHONE_E164 = "+6281234567890"


async def _sign_in(server: RunningServer, name: str) -> tuple[int, dict[str, Any]]:
    async with server.http() as http:
        resp = await http.post("/api/v1/sessions", json={"username": name, "password": PASSWORD})
    return resp.status_code, resp.json()


async def _verify(user: User, channel: str, code: str) -> tuple[int, dict[str, Any]]:
    resp = await user.http.post(f"/api/v1/me/{channel}/verify", json={"code": code})
    return resp.status_code, resp.json()


async def _lookup(user: User, **address: str) -> tuple[int, dict[str, Any]]:
    resp = await user.http.post("/api/v1/users/lookup", json=address)
    return resp.status_code, resp.json()


def _without_instance(problem: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in problem.items() if k != "instance"}


async def _eventually(check: Callable[[], Awaitable[bool]], timeout: float = 10.0) -> None:
    """Poll `check` until it holds, failing after `timeout` seconds.

    For state that lives only in the database (a job's), which sends no event to wait on.
    """
    async with asyncio.timeout(timeout):
        while not await check():  # noqa: ASYNC110
            await asyncio.sleep(0.02)


async def test_f1_r18_codes_by_mail_and_sms_confirm_addresses_for_sign_in_and_look_up(
    mailing_server: RunningServer,
    smtp: SmtpServer,
    sms_gateway: SmsGatewayStandIn,
    person: MakePerson,
) -> None:
    sari = await person(mailing_server, "sari", email=EMAIL, phone=PHONE_TYPED)
    stranger = await person(mailing_server, "orang.asing")
    email_code = await smtp.code(1)
    sms = await sms_gateway.calls.nth(1)
    sms_code = await sms_gateway.code(1)
    # The stand-in checks the webhook's signature as a real gateway would.
    assert signature_matches(SMS_SECRET, sms.body, sms.headers[SIGNATURE_HEADER.lower()])
    assert sms.json["to"] == PHONE_E164
    assert smtp.inbox.items[0]["To"] == EMAIL

    # Unverified, the addresses sign in to no one: the answer for an unknown name.
    unknown_status, unknown = await _sign_in(mailing_server, "siapa@contoh.id")
    for name in (EMAIL, PHONE_TYPED):
        status, problem = await _sign_in(mailing_server, name)
        assert (
            (status, problem["type"]) == (401, unknown["type"]) == (unknown_status, unknown["type"])
        )
    # ... and find no one, even when allowed.
    await sari.http.patch("/api/v1/me/contact-settings", json={"findable_by_phone": True})
    nobody = await _lookup(stranger, phone="+62 813 0000 0000")
    unverified = await _lookup(stranger, phone=PHONE_TYPED)
    assert nobody[0] == unverified[0] == 404
    assert _without_instance(nobody[1]) == _without_instance(unverified[1])
    await sari.http.patch("/api/v1/me/contact-settings", json={"findable_by_phone": False})

    status, account = await _verify(sari, "email", email_code)
    assert status == 200 and account["email_verified"] and not account["phone_verified"]
    status, account = await _verify(sari, "phone", sms_code)
    assert status == 200 and account["phone_verified"]

    for name in (EMAIL, "SARI@contoh.ID", PHONE_TYPED, PHONE_E164):
        status, signed_in = await _sign_in(mailing_server, name)
        assert status == 201, (name, signed_in)
        assert signed_in["user"]["id"] == sari.id

    # R18: verified but not findable answers as an address nobody has.
    hidden = await _lookup(stranger, phone=PHONE_E164)
    assert hidden[0] == 404 and _without_instance(hidden[1]) == _without_instance(nobody[1])
    turned_on = await sari.http.patch(
        "/api/v1/me/contact-settings", json={"findable_by_phone": True}
    )
    assert turned_on.json()["findable_by_phone"] is True
    status, found = await _lookup(stranger, phone=PHONE_TYPED)
    assert status == 200
    assert found == {"id": sari.id, "username": "sari", "display_name": "Sari"}
    # Findable by phone says nothing about email.
    by_email = await _lookup(stranger, email=EMAIL)
    unknown_email = await _lookup(stranger, email="siapa@contoh.id")
    assert by_email[0] == unknown_email[0] == 404
    assert _without_instance(by_email[1]) == _without_instance(unknown_email[1])


async def test_r17_an_unverified_address_costs_the_same_argon2_verify_as_an_unknown_name(
    mailing_server: RunningServer, smtp: SmtpServer
) -> None:
    await register(mailing_server, "sari", email=EMAIL)
    argon2 = count_argon2(mailing_server)
    for name in (EMAIL, "tidak.ada"):
        before = argon2.verifies
        status, problem = await _sign_in(mailing_server, name)
        assert (status, problem["type"]) == (
            401,
            "https://obrolan.dev/problems/invalid-credentials",
        )
        assert argon2.verifies == before + 1, name


async def test_f1_wrong_codes_run_out(
    mailing_server: RunningServer, smtp: SmtpServer, person: MakePerson
) -> None:
    sari = await person(mailing_server, "sari", email=EMAIL)
    code = await smtp.code(1)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for _ in range(mailing_server.settings.verification_max_attempts):
        status, problem = await _verify(sari, "email", wrong)
        assert (status, problem["type"]) == (422, "https://obrolan.dev/problems/code-wrong")
    # The right code no longer helps once the attempts are spent.
    status, problem = await _verify(sari, "email", code)
    assert (status, problem["type"]) == (422, "https://obrolan.dev/problems/code-exhausted")
    assert (await sari.http.post("/api/v1/me/email/resend")).status_code == 202
    status, account = await _verify(sari, "email", await smtp.code(2))
    assert status == 200 and account["email_verified"]


async def test_f1_an_expired_code_is_refused(
    mailing_server: RunningServer, smtp: SmtpServer, clock: FakeClock, person: MakePerson
) -> None:
    sari = await person(mailing_server, "sari", email=EMAIL)
    code = await smtp.code(1)
    clock.advance(mailing_server.settings.verification_code_minutes * 60)
    status, problem = await _verify(sari, "email", code)
    assert (status, problem["type"]) == (422, "https://obrolan.dev/problems/code-expired")
    assert (await _sign_in(mailing_server, EMAIL))[0] == 401


async def test_r6_the_code_is_stored_only_as_a_keyed_hash(
    mailing_server: RunningServer, smtp: SmtpServer, sms_gateway: SmsGatewayStandIn
) -> None:
    await register(mailing_server, "sari", email=EMAIL, phone=PHONE_TYPED)
    codes = [await smtp.code(1), await sms_gateway.code(1)]
    raw = await _raw_database(mailing_server)
    # Neither the codes nor the addresses are anywhere in clear, the jobs' payloads included.
    for secret in [*codes, EMAIL, PHONE_E164]:
        assert secret.encode() not in raw, secret


async def test_f1_mail_has_its_headers_both_parts_and_the_persons_language(
    mailing_server: RunningServer, smtp: SmtpServer
) -> None:
    await register(mailing_server, "sari", email=EMAIL)
    mail = await smtp.inbox.nth(1)
    assert mail["Message-ID"].endswith("@obrolan.test>")
    assert mail["Date"] and mail["From"] == "obrolan <noreply@obrolan.test>"
    assert mail["To"] == EMAIL
    # OBROLAN_DEFAULT_LANGUAGE is id: the person reads Indonesian.
    assert mail["Subject"] == "Konfirmasi alamat email Anda"
    assert "Kode konfirmasi obrolan Anda" in text_part(mail)
    html = mail.get_body(("html",))
    assert html is not None and 'lang="id"' in html.get_content()
    assert mail.get_content_type() == "multipart/alternative"
    # A code is essential mail: no unsubscribe.
    assert mail["List-Unsubscribe"] is None


async def test_r17_changing_a_verified_email_tells_the_old_one(
    mailing_server: RunningServer, smtp: SmtpServer, person: MakePerson
) -> None:
    sari = await person(mailing_server, "sari", email=EMAIL)
    assert (await _verify(sari, "email", await smtp.code(1)))[0] == 200
    changed = await sari.http.patch("/api/v1/me", json={"email": "sari.baru@contoh.id"})
    assert changed.json()["email_verified"] is False
    arrived = [await smtp.inbox.nth(2), await smtp.inbox.nth(3)]
    by_address = {m["To"]: m for m in arrived}
    assert by_address[EMAIL]["Subject"] == "Alamat email Anda telah diubah"
    assert "sari" in text_part(by_address[EMAIL])
    assert by_address["sari.baru@contoh.id"]["Subject"] == "Konfirmasi alamat email Anda"
    # The old address stopped signing in with the change; the new one not yet.
    assert (await _sign_in(mailing_server, EMAIL))[0] == 401
    assert (await _sign_in(mailing_server, "sari.baru@contoh.id"))[0] == 401


async def test_f1_the_person_who_enters_the_code_takes_the_address(
    mailing_server: RunningServer, smtp: SmtpServer, person: MakePerson
) -> None:
    first = await person(mailing_server, "pertama", email=EMAIL)
    assert (await _verify(first, "email", await smtp.code(1)))[0] == 200
    second = await person(mailing_server, "kedua", email=EMAIL)
    assert (await _verify(second, "email", await smtp.code(2)))[0] == 200
    status, signed_in = await _sign_in(mailing_server, EMAIL)
    assert status == 201 and signed_in["user"]["id"] == second.id
    assert (await first.http.get("/api/v1/me")).json()["email_verified"] is False
    index = mailing_server.services.keyring.blind_index("email", EMAIL)
    async with mailing_server.services.db.read() as conn:
        holders = await conn.execute(select(users.c.username).where(users.c.email_index == index))
        assert list(holders.scalars()) == ["kedua"]


async def test_r17_a_new_device_is_told_by_mail_to_a_verified_email(
    mailing_server: RunningServer, smtp: SmtpServer, person: MakePerson
) -> None:
    sari = await person(mailing_server, "sari", email=EMAIL)
    assert (await _verify(sari, "email", await smtp.code(1)))[0] == 200
    async with mailing_server.http() as http:
        resp = await http.post(
            "/api/v1/sessions",
            json={"username": EMAIL, "password": PASSWORD, "device_name": "Ponsel Baru"},
        )
    assert resp.status_code == 201
    alert = await smtp.inbox.nth(2)
    assert alert["Subject"] == "Perangkat baru masuk ke akun Anda"
    assert "Ponsel Baru" in text_part(alert)


async def test_f1_mail_waits_out_a_failing_smtp_server_and_arrives_once(
    mailing_server: RunningServer, smtp: SmtpServer, clock: FakeClock
) -> None:
    smtp.stop()
    await register(mailing_server, "sari", email=EMAIL)
    jobs = mailing_server.services.jobs

    async def mail_job_state() -> JobState:
        [job] = [j for j in await jobs.list() if j.kind == MAIL_SEND]
        return job.state

    async def failed() -> bool:
        return await mail_job_state() is JobState.FAILED

    await _eventually(failed)
    smtp.start()
    clock.advance(60)  # past the first retry's backoff
    jobs.wake()
    mail = await smtp.inbox.nth(1)
    assert mail["To"] == EMAIL

    async def done() -> bool:
        return await mail_job_state() is JobState.DONE

    await _eventually(done)
    assert len(smtp.inbox.items) == 1


async def test_r18_look_ups_are_throttled_per_caller(
    mailing_server: RunningServer, person: MakePerson
) -> None:
    asker = await person(mailing_server, "penanya")
    limit = mailing_server.settings.lookups_max_per_account
    for n in range(limit):
        assert (await _lookup(asker, phone=f"+62812000{n:05d}"))[0] == 404
    status, problem = await _lookup(asker, phone="+6281299999999")
    assert status == 429 and problem["type"] == "https://obrolan.dev/problems/rate-limited"


async def test_f1_the_retention_sweep_deletes_expired_codes(
    mailing_server: RunningServer, smtp: SmtpServer, clock: FakeClock
) -> None:
    await register(mailing_server, "sari", email=EMAIL)
    await register(mailing_server, "budi", email="budi@contoh.id")
    sweep = mailing_server.services.retention_sweep
    assert (await sweep.sweep(clock.now()))["verification_codes"] == 0
    clock.advance(mailing_server.settings.verification_code_minutes * 60)
    assert (await sweep.sweep(clock.now()))["verification_codes"] == 2
