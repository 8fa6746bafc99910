"""What the accounts service hands back: plain dataclasses, shaped into JSON by the api layer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Final


@dataclass(frozen=True, slots=True)
class Account:
    """A person's own view of their account (personal fields opened with their key)."""

    id: str
    username: str
    # None only when the person's data key was destroyed (erasure, R4).
    display_name: str | None
    email: str | None
    phone: str | None
    totp_enabled: bool
    is_admin: bool
    created_at: datetime
    email_verified: bool = False
    phone_verified: bool = False
    findable_by_email: bool = False
    findable_by_phone: bool = False


@dataclass(frozen=True, slots=True)
class PublicProfile:
    """What anyone signed in may see of a person."""

    id: str
    username: str
    display_name: str | None


@dataclass(frozen=True, slots=True)
class SessionInfo:
    """One signed-in device, as its owner sees it."""

    id: str
    device_name: str | None
    created_at: datetime
    last_seen_at: datetime
    current: bool


@dataclass(frozen=True, slots=True)
class SignIn:
    """A new session: the bearer token is shown this once and never stored."""

    token: str
    session: SessionInfo
    account: Account
    # Proves at later sign-ins that this device signed in before (see throttle.py).
    device_token: str


@dataclass(frozen=True, slots=True)
class NewAccount:
    """Checked and normalised fields of an account to create."""

    username: str
    password: str
    display_name: str
    email: str | None
    phone: str | None


@dataclass(frozen=True, slots=True)
class TotpSetup:
    """A pending TOTP secret, to be confirmed with a code before it is required."""

    secret: str
    otpauth_uri: str


class Keep(Enum):
    """Marks a field that a change leaves as it is (None there means: remove it)."""

    KEEP = "keep"


KEEP: Final = Keep.KEEP


@dataclass(frozen=True, slots=True)
class ProfileChanges:
    """What a profile update changes; fields left at KEEP stay as they are."""

    display_name: str | Keep = KEEP
    email: str | Keep | None = KEEP
    phone: str | Keep | None = KEEP
    findable_by_email: bool | Keep = KEEP
    findable_by_phone: bool | Keep = KEEP
