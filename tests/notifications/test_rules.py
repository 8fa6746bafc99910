"""Pure notification rules: webhook signatures, elided addresses, templates and messages."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from obrolan.notifications.mail import build_message
from obrolan.notifications.rules import (
    LANGUAGES,
    elide_address,
    signature_matches,
    webhook_signature,
)
from obrolan.notifications.templates import MAIL, SMS, render_mail, render_sms


def test_the_signature_is_the_hex_hmac_sha256_of_the_body() -> None:
    # Computed independently: printf '{"to":"+62"}' | openssl dgst -sha256 -hmac rahasia
    assert webhook_signature("rahasia", b'{"to":"+62"}') == (
        "sha256=a644c29fc3f2f83881068565cb35bc3d8ad22c30c1a3006a270416b8eaa66a02"
    )


@given(st.binary(max_size=200), st.binary(min_size=1, max_size=200))
def test_a_changed_body_does_not_match_its_signature(body: bytes, extra: bytes) -> None:
    signature = webhook_signature("rahasia", body)
    assert signature_matches("rahasia", body, signature)
    assert not signature_matches("rahasia", body + extra, signature)
    assert not signature_matches("lain", body, signature)


@pytest.mark.parametrize(
    ("address", "shown"),
    [("sari@contoh.id", "s…@contoh.id"), ("+6281234567890", "+62…90"), ("123", "…")],
)
def test_logs_show_only_an_elided_address(address: str, shown: str) -> None:
    assert elide_address(address) == shown


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("name", sorted(MAIL))
def test_every_mail_template_renders_in_both_languages(name: str, language: str) -> None:
    params = {
        "code": "123456",
        "minutes": "10",
        "username": "sari",
        "device": "<b>",
        "at": "x",
        "date": "2026-01-08 12:00",
        "operator": "<b>",
    }
    text = render_mail(name, language, params)  # type: ignore[arg-type]
    assert text.subject and text.text
    assert "<b>" not in text.html and f'lang="{language}"' in text.html


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("name", sorted(SMS))
def test_every_sms_template_renders_in_both_languages(name: str, language: str) -> None:
    assert render_sms(name, language, {"code": "1", "minutes": "1", "username": "s"})  # type: ignore[arg-type]


def test_mail_that_is_not_essential_carries_one_click_unsubscribe() -> None:
    text = render_mail("new_device", "en", {"username": "s", "device": "d", "at": "t"})
    date = datetime(2026, 1, 1, tzinfo=UTC)
    kept = build_message(
        text,
        sender="a@b.id",
        to="c@d.id",
        message_id="<1@b.id>",
        date=date,
        unsubscribe_url="https://obrolan.test/unsubscribe/x",
    )
    assert kept["List-Unsubscribe"] == "<https://obrolan.test/unsubscribe/x>"
    assert kept["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    essential = build_message(text, sender="a@b.id", to="c@d.id", message_id="<2@b.id>", date=date)
    assert essential["List-Unsubscribe"] is None
    assert essential["Date"] == "Thu, 01 Jan 2026 00:00:00 +0000"
