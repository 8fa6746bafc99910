"""The pure account rules, without a server: names, passwords, contacts, throttling, TOTP."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import phonenumbers
import pyotp
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from obrolan.accounts.rules import (
    SessionLifetime,
    check_password_strength,
    login_retry_after,
    normalise_display_name,
    normalise_email,
    normalise_phone,
    normalise_username,
    totp_accepted_step,
)
from obrolan.errors import Invalid

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
E164 = re.compile(r"\+[1-9][0-9]{6,14}")


def _invalid_field(call: object) -> str | None:
    assert callable(call)
    with pytest.raises(Invalid) as raised:
        call()
    return raised.value.field


# -- usernames and display names -----------------------------------------------------
def test_f1_username_is_stored_lowercase() -> None:
    assert normalise_username("Sari.W_99") == "sari.w_99"


@pytest.mark.parametrize("bad", ["ab", "a" * 33, "sari w", "sári", "sari-w", "", "sari@x"])
def test_f1_username_outside_the_rule_is_refused(bad: str) -> None:
    assert _invalid_field(lambda: normalise_username(bad)) == "username"


def test_display_name_is_trimmed_and_bounded() -> None:
    assert normalise_display_name("  Sari Wulandari ") == "Sari Wulandari"
    assert _invalid_field(lambda: normalise_display_name("   ")) == "display_name"
    assert _invalid_field(lambda: normalise_display_name("x" * 65)) == "display_name"


# -- passwords -----------------------------------------------------------------------
def test_a_long_uncommon_password_passes() -> None:
    check_password_strength("correct horse battery staple", username="sari")


@pytest.mark.parametrize(
    ("password", "why"),
    [
        ("pendek123", "short"),
        (("kopi tubruk " * 20)[:201], "overlong"),
        ("SariWulan99", "the username, in other case"),
        ("Password123", "common, in other case"),
        ("sayangkamu", "common in Indonesia"),
        ("zzzzzzzzzzzz", "one character repeated"),
    ],
)
def test_r17_weak_passwords_are_refused(password: str, why: str) -> None:
    field = _invalid_field(lambda: check_password_strength(password, username="sariwulan99"))
    assert field == "password", why


# -- email ---------------------------------------------------------------------------
def test_email_is_normalised_to_lowercase() -> None:
    assert normalise_email("Siti.Nur@Contoh.CO.ID") == "siti.nur@contoh.co.id"


@pytest.mark.parametrize(
    "bad", ["siti", "siti@", "@contoh.id", "siti@@contoh.id", "a" * 250 + "@x.id"]
)
def test_invalid_email_names_the_field(bad: str) -> None:
    assert _invalid_field(lambda: normalise_email(bad)) == "email"


# -- phone numbers -------------------------------------------------------------------
@pytest.mark.parametrize(
    "typed",
    [
        "0812-3456-7890",
        "081234567890",
        "+62 812 3456 7890",
        "(0812) 3456-7890",
        "+62-812-3456-7890",
    ],
)
def test_indonesian_numbers_in_any_usual_form_become_e164(typed: str) -> None:
    assert normalise_phone(typed, "ID") == "+6281234567890"


def test_numbers_with_a_country_code_ignore_the_default_region() -> None:
    assert normalise_phone("+1 650-253-0000", "ID") == "+16502530000"


@pytest.mark.parametrize("bad", ["12", "0812", "telepon", "+62 000 0000", "1" * 40, ""])
def test_invalid_phone_names_the_field(bad: str) -> None:
    assert _invalid_field(lambda: normalise_phone(bad, "ID")) == "phone"


_REGIONS = sorted(
    region
    for region in phonenumbers.SUPPORTED_REGIONS
    if phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE)
)
_FORMATS = [
    phonenumbers.PhoneNumberFormat.NATIONAL,
    phonenumbers.PhoneNumberFormat.INTERNATIONAL,
    phonenumbers.PhoneNumberFormat.E164,
]


@settings(deadline=None, max_examples=300)
@given(
    region=st.sampled_from(_REGIONS),
    number_format=st.sampled_from(_FORMATS),
    separator=st.sampled_from([" ", "-", "", "  "]),
)
def test_property_any_written_form_of_a_number_normalises_to_its_e164(
    region: str, number_format: int, separator: str
) -> None:
    number = phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE)
    expected = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    written = phonenumbers.format_number(number, number_format).replace(" ", separator)
    if len(written) > 32:
        return  # longer than anyone may send; refused by the length rule instead
    assert normalise_phone(written, region) == expected


@settings(deadline=None, max_examples=500)
@given(typed=st.text(alphabet="0123456789+-() .x#*abc", max_size=40))
def test_property_normaliser_gives_e164_or_a_phone_error_and_is_idempotent(typed: str) -> None:
    try:
        normalised = normalise_phone(typed, "ID")
    except Invalid as error:
        assert error.field == "phone"
        return
    assert E164.fullmatch(normalised)
    assert normalise_phone(normalised, "ID") == normalised
    assert normalise_phone(normalised, "US") == normalised  # E.164 needs no region


# -- sign-in throttling --------------------------------------------------------------
def _ago(*seconds: float) -> list[datetime]:
    return [NOW - timedelta(seconds=s) for s in seconds]


def test_r17_below_the_limit_sign_in_is_allowed() -> None:
    assert login_retry_after(_ago(10, 20), now=NOW, limit=3, window_seconds=600) is None


def test_r17_at_the_limit_wait_until_the_oldest_counted_failure_leaves_the_window() -> None:
    assert login_retry_after(_ago(10, 20, 100), now=NOW, limit=3, window_seconds=600) == 500


def test_r17_past_the_limit_wait_for_the_limit_th_newest_failure() -> None:
    # Four failures, limit 3: after the oldest leaves there are still three.
    failures = _ago(100, 10, 590, 20)
    assert login_retry_after(failures, now=NOW, limit=3, window_seconds=600) == 500


def test_r17_failures_outside_the_window_do_not_count() -> None:
    assert login_retry_after(_ago(10, 700, 900), now=NOW, limit=2, window_seconds=600) is None


def test_r17_retry_after_is_at_least_one_second() -> None:
    assert login_retry_after(_ago(599.9), now=NOW, limit=1, window_seconds=600) == 1


@given(
    offsets=st.lists(st.integers(min_value=0, max_value=1200), max_size=30),
    limit=st.integers(min_value=1, max_value=10),
    window=st.integers(min_value=1, max_value=900),
)
def test_property_r17_waiting_retry_after_seconds_is_exactly_enough(
    offsets: list[int], limit: int, window: int
) -> None:
    failures = _ago(*offsets)
    wait = login_retry_after(failures, now=NOW, limit=limit, window_seconds=window)
    in_window = [f for f in failures if f > NOW - timedelta(seconds=window)]
    if wait is None:
        assert len(in_window) < limit
        return
    assert 1 <= wait <= window
    later = NOW + timedelta(seconds=wait)
    assert login_retry_after(failures, now=later, limit=limit, window_seconds=window) is None
    earlier = NOW + timedelta(seconds=wait - 1)
    assert login_retry_after(failures, now=earlier, limit=limit, window_seconds=window) is not None


# -- sessions ------------------------------------------------------------------------
LIFETIME = SessionLifetime(
    idle=timedelta(days=30), maximum=timedelta(days=90), resolution=timedelta(minutes=1)
)


def _expired(created_days_ago: float, seen_days_ago: float) -> bool:
    return LIFETIME.expired(
        created_at=NOW - timedelta(days=created_days_ago),
        last_seen_at=NOW - timedelta(days=seen_days_ago),
        now=NOW,
    )


def test_r17_a_session_expires_when_idle_allowing_for_the_last_seen_resolution() -> None:
    # last_seen_at may lag the last use by up to a minute: 30 days and 59 s after the
    # stored time the session may have been used less than 30 days ago.
    assert not _expired(40, 30 + 59 / 86400)
    assert _expired(40, 30 + 60 / 86400)


def test_r17_a_session_in_use_still_ends_at_its_maximum_age() -> None:
    assert not _expired(90 - 1 / 86400, 0)
    assert _expired(90, 0)


@given(
    created=st.floats(min_value=0, max_value=200),
    seen=st.floats(min_value=0, max_value=200),
)
def test_property_r17_expired_and_cutoffs_agree(created: float, seen: float) -> None:
    seen = min(seen, created)  # a session is seen after it is made
    cutoffs = LIFETIME.cutoffs(NOW)
    created_at, seen_at = NOW - timedelta(days=created), NOW - timedelta(days=seen)
    live = created_at > cutoffs.created_after and seen_at > cutoffs.seen_after
    assert live is not LIFETIME.expired(created_at=created_at, last_seen_at=seen_at, now=NOW)


# -- TOTP ----------------------------------------------------------------------------
def test_r17_totp_accepts_the_current_code_and_one_step_of_drift() -> None:
    secret = pyotp.random_base32()
    totp = pyotp.TOTP(secret)
    step = totp.timecode(NOW)
    assert totp_accepted_step(secret, totp.at(NOW), now=NOW, last_used_step=None) == step
    earlier = totp.at(NOW - timedelta(seconds=30))
    assert totp_accepted_step(secret, earlier, now=NOW, last_used_step=None) == step - 1
    code = totp.at(NOW)
    assert totp_accepted_step(secret, f"{code[:3]} {code[3:]}", now=NOW, last_used_step=None)


def test_r17_totp_refuses_old_and_malformed_codes() -> None:
    secret = pyotp.random_base32()
    totp = pyotp.TOTP(secret)
    for code in [totp.at(NOW - timedelta(minutes=5)), "abcdef", "١٢٣٤٥٦", ""]:
        assert totp_accepted_step(secret, code, now=NOW, last_used_step=None) is None


def test_r17_a_totp_code_is_good_once() -> None:
    secret = pyotp.random_base32()
    totp = pyotp.TOTP(secret)
    step = totp.timecode(NOW)
    assert totp_accepted_step(secret, totp.at(NOW), now=NOW, last_used_step=step) is None
    # Nor an older code still inside the drift window, once a newer one was used.
    earlier = totp.at(NOW - timedelta(seconds=30))
    assert totp_accepted_step(secret, earlier, now=NOW, last_used_step=step) is None
    later = totp.at(NOW + timedelta(seconds=30))
    assert totp_accepted_step(secret, later, now=NOW, last_used_step=step) == step + 1


# -- verification codes and sign-in names (F1) -------------------------------------------
def test_f1_a_code_attempt_is_refused_once_attempts_run_out_or_time_passes() -> None:
    from obrolan.accounts.rules import CodeOutcome, verification_outcome

    now = datetime(2026, 1, 1, tzinfo=UTC)
    later = now + timedelta(minutes=10)
    kwargs = {"max_attempts": 5, "expires_at": later, "now": now}
    assert verification_outcome(matches=True, attempts=0, **kwargs) is CodeOutcome.ACCEPTED
    assert verification_outcome(matches=False, attempts=4, **kwargs) is CodeOutcome.WRONG
    assert verification_outcome(matches=True, attempts=5, **kwargs) is CodeOutcome.EXHAUSTED
    expired = {**kwargs, "now": later}
    assert verification_outcome(matches=True, attempts=0, **expired) is CodeOutcome.EXPIRED


def test_f1_codes_are_six_digits_and_typed_ones_may_hold_spaces() -> None:
    from obrolan.accounts.rules import new_verification_code, typed_code

    assert all(len(c) == 6 and c.isdigit() for c in (new_verification_code() for _ in range(50)))
    assert typed_code(" 123 456 ") == typed_code("123-456") == "123456"
    assert typed_code("12345") is None
    assert typed_code("\uff11\uff12\uff13\uff14\uff15\uff16") is None  # fullwidth digits


def test_f1_a_sign_in_name_reads_as_username_email_or_phone() -> None:
    from obrolan.accounts.rules import SignInName, sign_in_names

    assert sign_in_names("Sari@Contoh.ID", "ID") == [SignInName("email", "sari@contoh.id")]
    assert sign_in_names("sari.w", "ID") == [SignInName("username", "sari.w")]
    assert sign_in_names("0812-3456-7890", "ID") == [SignInName("phone", "+6281234567890")]
    # All digits may be a username too: it is tried first.
    assert sign_in_names("081234567890", "ID") == [
        SignInName("username", "081234567890"),
        SignInName("phone", "+6281234567890"),
    ]
    assert sign_in_names("bukan@", "ID") == []
