"""What the accounts service hands back: plain dataclasses, shaped into JSON by the api layer."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import Enum
from typing import Final

from obrolan.profile.rules import FieldVisibility, Language, ProfileField, Visibility


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
    # The profile (F1): the owner sees all of it.
    gender: str | None
    date_of_birth: date | None
    bio: str | None
    language: Language
    photo: bool
    visibility: FieldVisibility
    email_verified: bool = False
    phone_verified: bool = False


@dataclass(frozen=True, slots=True)
class PublicProfile:
    """What a signed-in person may see of another: None for a field hidden from them or empty."""

    id: str
    username: str
    display_name: str | None
    gender: str | None = None
    date_of_birth: date | None = None
    bio: str | None = None
    photo: bool = False


@dataclass(frozen=True, slots=True)
class ContactSettings:
    """Who may find a person and how strangers' direct chats reach them (F14, R18).

    Findable by username, because a username is what people tell each other to be
    found; strangers' direct chats arrive as requests, because people choose who they
    talk to (R18). Email and phone look-ups are off until their owner turns them on;
    those two take effect with the look-up by address, which waits for verification.
    """

    findable_by_username: bool = True
    message_requests: bool = True
    findable_by_email: bool = False
    findable_by_phone: bool = False


@dataclass(frozen=True, slots=True)
class ContactSettingsChanges:
    """What a settings update changes; None leaves a setting as it is."""

    findable_by_username: bool | None = None
    message_requests: bool | None = None
    findable_by_email: bool | None = None
    findable_by_phone: bool | None = None


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
    # The profile (F1); None removes a field, or returns the language to the default.
    gender: str | Keep | None = KEEP
    date_of_birth: date | Keep | None = KEEP
    bio: str | Keep | None = KEEP
    language: Language | Keep | None = KEEP
    visibility: dict[ProfileField, Visibility] = field(default_factory=dict)
