"""Pure account rules: usernames, passwords, email and phone; throttling; session and TOTP time.

No I/O here: every function takes what it decides on (including `now`) as arguments, so
each is unit-tested without a server.
"""

from __future__ import annotations

import contextlib
import hmac
import math
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Literal

import phonenumbers
import pyotp
from email_validator import EmailNotValidError, validate_email

from obrolan.errors import Invalid

USERNAME_MIN = 3
USERNAME_MAX = 32
PASSWORD_MIN = 10
PASSWORD_MAX = 200
DISPLAY_NAME_MAX = 64
PHONE_INPUT_MAX = 32
EMAIL_MAX = 254

_USERNAME = re.compile(r"[a-z0-9_.]+")

# R17 ("complex passwords"): the most common passwords that are long enough to pass the
# length rule, from public breach corpora, plus common Indonesian ones. Compared
# case-insensitively. A short list on purpose: it stops the first guesses of every
# attacker without making people fight a checker.
COMMON_PASSWORDS = frozenset(
    {
        "0123456789",
        "0987654321",
        "1111111111",
        "1122334455",
        "1234567890",
        "12345678910",
        "123456789a",
        "123456789q",
        "1234qwerasdf",
        "1q2w3e4r5t",
        "1q2w3e4r5t6y",
        "1qaz2wsx3edc",
        "a123456789",
        "aaaaaaaaaa",
        "abc1234567",
        "abcd123456",
        "abcdefghij",
        "administrator",
        "asdfghjkl1",
        "asdfghjkl;",
        "baseball123",
        "bismillah123",
        "changeme123",
        "football123",
        "iloveyou12",
        "iloveyou123",
        "indonesia1",
        "indonesia123",
        "jakarta123",
        "letmein123",
        "monkey1234",
        "passw0rd123",
        "password00",
        "password01",
        "password12",
        "password123",
        "password1234",
        "password!!",
        "qazwsxedc1",
        "qazwsxedcrfv",
        "qwerty1234",
        "qwerty12345",
        "qwerty123456",
        "qwertyuiop",
        "qwertyuiop1",
        "rahasia123",
        "sayangkamu",
        "sayangku123",
        "superman123",
        "welcome123",
        "zaq12wsxcde",
    }
)


def normalise_username(raw: str) -> str:
    """The stored form of a username: lowercase, 3 to 32 of `a-z 0-9 _ .`."""
    username = raw.lower()
    if not USERNAME_MIN <= len(username) <= USERNAME_MAX:
        raise Invalid(
            f"a username has {USERNAME_MIN} to {USERNAME_MAX} characters", field="username"
        )
    if not _USERNAME.fullmatch(username):
        raise Invalid("a username may only hold letters a-z, digits, '_' and '.'", field="username")
    return username


def check_password_strength(password: str, *, username: str) -> None:
    """Refuse passwords that are short, overlong, the username, or among the most common (R17)."""
    if len(password) < PASSWORD_MIN:
        raise Invalid(f"a password has at least {PASSWORD_MIN} characters", field="password")
    if len(password) > PASSWORD_MAX:
        raise Invalid(f"a password has at most {PASSWORD_MAX} characters", field="password")
    folded = password.casefold()
    if folded == username.casefold():
        raise Invalid("the password must not be the username", field="password")
    if folded in COMMON_PASSWORDS or len(set(folded)) == 1:
        raise Invalid("this password is among the first an attacker tries", field="password")


def normalise_display_name(raw: str) -> str:
    """A display name without surrounding spaces, 1 to 64 characters."""
    name = raw.strip()
    if not 1 <= len(name) <= DISPLAY_NAME_MAX:
        raise Invalid(
            f"a display name has 1 to {DISPLAY_NAME_MAX} characters", field="display_name"
        )
    return name


def normalise_email(raw: str) -> str:
    """The look-up form of an email address: validated syntax, all lowercase."""
    if len(raw) > EMAIL_MAX:
        raise Invalid(f"an email address has at most {EMAIL_MAX} characters", field="email")
    try:
        checked = validate_email(raw, check_deliverability=False)
    except EmailNotValidError as exc:
        raise Invalid(f"not an email address: {exc}", field="email") from exc
    return checked.normalized.lower()


def normalise_phone(raw: str, default_region: str) -> str:
    """A phone number in E.164 form; numbers without a country code are in `default_region`."""
    if len(raw) > PHONE_INPUT_MAX:
        raise Invalid(f"a phone number has at most {PHONE_INPUT_MAX} characters", field="phone")
    try:
        number = phonenumbers.parse(raw, default_region)
    except phonenumbers.NumberParseException as exc:
        raise Invalid(f"not a phone number: {exc}", field="phone") from exc
    if not phonenumbers.is_valid_number(number):
        raise Invalid("not a valid phone number", field="phone")
    e164: str = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return e164


def login_retry_after(
    recent_failures: Sequence[datetime], *, now: datetime, limit: int, window_seconds: int
) -> int | None:
    """Seconds until another sign-in may be tried, or None when the failures allow one now (R17).

    Sign-in is refused while `limit` or more failures lie in the last `window_seconds`;
    it is allowed again once the `limit`-th most recent of them leaves the window.
    """
    limit = max(limit, 1)
    window = timedelta(seconds=window_seconds)
    in_window = sorted((at for at in recent_failures if at > now - window), reverse=True)
    if len(in_window) < limit:
        return None
    frees_at = in_window[limit - 1] + window
    return max(1, math.ceil((frees_at - now).total_seconds()))


@dataclass(frozen=True, slots=True)
class SessionCutoffs:
    """A session is live while created after `created_after` and last seen after `seen_after`."""

    created_after: datetime
    seen_after: datetime


@dataclass(frozen=True, slots=True)
class SessionLifetime:
    """How long a session lives: `idle` unused, and `maximum` after sign-in at most (R17).

    `last_seen_at` is written at most once per `resolution`, so a session may have been
    used up to `resolution` after the time stored. The idle limit counts from the latest
    moment it may have been used: a session is never ended early, at worst up to
    `resolution` late.
    """

    idle: timedelta
    maximum: timedelta
    resolution: timedelta

    def expired(self, *, created_at: datetime, last_seen_at: datetime, now: datetime) -> bool:
        cutoffs = self.cutoffs(now)
        return created_at <= cutoffs.created_after or last_seen_at <= cutoffs.seen_after

    def cutoffs(self, now: datetime) -> SessionCutoffs:
        return SessionCutoffs(
            created_after=now - self.maximum, seen_after=now - self.idle - self.resolution
        )


TOTP_DRIFT_STEPS = 1


def totp_accepted_step(
    secret: str, code: str, *, now: datetime, last_used_step: int | None
) -> int | None:
    """The time step whose TOTP `code` is, or None when it is wrong, expired or already used.

    One 30-second step of clock drift is allowed either way. A code is good once (RFC
    6238 §5.2): a step at or before `last_used_step`, the last one accepted, is refused.
    """
    code = code.strip().replace(" ", "")
    if not (code.isascii() and code.isdigit()):
        return None
    totp = pyotp.TOTP(secret)
    current: int = totp.timecode(now)
    for step in range(current - TOTP_DRIFT_STEPS, current + TOTP_DRIFT_STEPS + 1):
        if last_used_step is not None and step <= last_used_step:
            continue
        if hmac.compare_digest(str(totp.generate_otp(step)), code):
            return step
    return None


# -- verification codes and sign-in names (F1) -------------------------------------------
CODE_DIGITS = 6
CODE_INPUT_MAX = 12


class CodeOutcome(StrEnum):
    ACCEPTED = "accepted"
    WRONG = "wrong"
    EXPIRED = "expired"
    # The attempts ran out: the code is dead even if the next guess were right.
    EXHAUSTED = "exhausted"


def new_verification_code() -> str:
    """Six random digits, from the operating system's CSPRNG."""
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def typed_code(raw: str) -> str | None:
    """A code as typed (spaces and dashes allowed between digits), or None when it is no code."""
    code = raw.replace(" ", "").replace("-", "")
    return code if len(code) == CODE_DIGITS and code.isascii() and code.isdigit() else None


def verification_outcome(
    *, matches: bool, attempts: int, max_attempts: int, expires_at: datetime, now: datetime
) -> CodeOutcome:
    """What one attempt at a pending code comes to. Each attempt counts, right or wrong.

    With `max_attempts` guesses of 10^6 codes, a guesser's chance per code is at most
    max_attempts / 10^6; a new code (resend) is throttled per person and per address.
    """
    if attempts >= max_attempts:
        return CodeOutcome.EXHAUSTED
    if now >= expires_at:
        return CodeOutcome.EXPIRED
    return CodeOutcome.ACCEPTED if matches else CodeOutcome.WRONG


@dataclass(frozen=True, slots=True)
class SignInName:
    """One way to read what a person typed as their sign-in name."""

    channel: Literal["username", "email", "phone"]
    value: str


def sign_in_names(raw: str, default_region: str) -> list[SignInName]:
    """The accounts a typed sign-in name may stand for, in the order they are tried.

    With `@` it is an email address. Otherwise a username first (usernames may be all
    digits), then a phone number when it reads as one. Whatever does not parse stands
    for no one and gets the same answer as an unknown username.
    """
    raw = raw.strip()
    if "@" in raw:
        try:
            return [SignInName("email", normalise_email(raw))]
        except Invalid:
            return []
    names = [SignInName("username", raw.lower())] if _USERNAME.fullmatch(raw.lower()) else []
    with contextlib.suppress(Invalid):
        names.append(SignInName("phone", normalise_phone(raw, default_region)))
    return names
