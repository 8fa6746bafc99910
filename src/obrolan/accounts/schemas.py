"""Request and response bodies of the accounts API; every input has a bound (principle 7)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Self

from pydantic import BaseModel, ConfigDict, EmailStr, Field, model_validator

from obrolan.accounts.records import KEEP, ContactSettingsChanges, ProfileChanges, PublicProfile
from obrolan.accounts.rules import (
    CODE_INPUT_MAX,
    DISPLAY_NAME_MAX,
    EMAIL_MAX,
    PASSWORD_MAX,
    PHONE_INPUT_MAX,
    USERNAME_MAX,
)
from obrolan.accounts.throttle import DEVICE_TOKEN_MAX_CHARS
from obrolan.api.inputs import RequestBody
from obrolan.profile.rules import BIO_MAX, GENDER_MAX, Language
from obrolan.profile.schemas import VisibilityOut, VisibilityUpdate

# Room for a few spaces a person may type between the digits; the rule checks the code.
TOTP_CODE_MAX = 10


class _Response(BaseModel):
    model_config = ConfigDict(from_attributes=True)


# -- requests ------------------------------------------------------------------------
class RegisterRequest(RequestBody):
    username: str = Field(max_length=USERNAME_MAX, examples=["sari.w"])
    password: str = Field(max_length=PASSWORD_MAX)
    display_name: str = Field(max_length=DISPLAY_NAME_MAX, examples=["Sari Wulandari"])
    email: EmailStr | None = None
    phone: str | None = Field(default=None, max_length=PHONE_INPUT_MAX, examples=["0812-3456-7890"])


class LoginRequest(RequestBody):
    username: str = Field(
        max_length=EMAIL_MAX,
        description="A username, or a verified email address or phone number",
        examples=["sari.w", "sari@contoh.id", "0812-3456-7890"],
    )
    password: str = Field(max_length=PASSWORD_MAX)
    device_name: str | None = Field(default=None, max_length=DISPLAY_NAME_MAX, examples=["Laptop"])
    totp_code: str | None = Field(default=None, max_length=TOTP_CODE_MAX)
    device_token: str | None = Field(
        default=None,
        max_length=DEVICE_TOKEN_MAX_CHARS,
        description="The device_token of this device's last sign-in: failures are then "
        "counted for this device alone",
    )


class PasswordChangeRequest(RequestBody):
    current_password: str = Field(max_length=PASSWORD_MAX)
    new_password: str = Field(max_length=PASSWORD_MAX)


class ProfileUpdateRequest(RequestBody):
    """Only the fields sent change; null removes any of them but `display_name`."""

    display_name: str | None = Field(default=None, max_length=DISPLAY_NAME_MAX)
    email: EmailStr | None = None
    phone: str | None = Field(default=None, max_length=PHONE_INPUT_MAX)
    gender: str | None = Field(
        default=None,
        max_length=GENDER_MAX,
        description="in the person's own words, one line",
        examples=["perempuan"],
    )
    date_of_birth: date | None = Field(
        default=None, description="ISO 8601, from 1900-01-01 up to today"
    )
    bio: str | None = Field(default=None, max_length=BIO_MAX)
    language: Language | None = Field(
        default=None, description="null returns to the server's default language"
    )
    visibility: VisibilityUpdate | None = None

    @model_validator(mode="after")
    def _display_name_not_removed(self) -> Self:
        if "display_name" in self.model_fields_set and self.display_name is None:
            raise ValueError("display_name cannot be removed, only changed")
        return self

    def changes(self) -> ProfileChanges:
        sent = self.model_fields_set
        return ProfileChanges(
            display_name=self.display_name
            if "display_name" in sent and self.display_name is not None
            else KEEP,
            email=self.email if "email" in sent else KEEP,
            phone=self.phone if "phone" in sent else KEEP,
            gender=self.gender if "gender" in sent else KEEP,
            date_of_birth=self.date_of_birth if "date_of_birth" in sent else KEEP,
            bio=self.bio if "bio" in sent else KEEP,
            language=self.language if "language" in sent else KEEP,
            visibility=self.visibility.changes() if self.visibility else {},
        )


class ContactSettingsUpdate(RequestBody):
    """Only the settings sent change (F14, R18)."""

    findable_by_username: bool | None = Field(
        default=None, description="others may find me with GET /users?username="
    )
    message_requests: bool | None = Field(
        default=None,
        description="direct chats from people I share no room with arrive as requests",
    )
    findable_by_email: bool | None = Field(
        default=None, description="others may find me with POST /users/lookup by my verified email"
    )
    findable_by_phone: bool | None = Field(
        default=None, description="others may find me with POST /users/lookup by my verified phone"
    )

    def changes(self) -> ContactSettingsChanges:
        return ContactSettingsChanges(
            findable_by_username=self.findable_by_username,
            message_requests=self.message_requests,
            findable_by_email=self.findable_by_email,
            findable_by_phone=self.findable_by_phone,
        )


class VerifyCodeRequest(RequestBody):
    code: str = Field(min_length=1, max_length=CODE_INPUT_MAX, examples=["123456"])


class LookupRequest(RequestBody):
    """Exactly one of `email` and `phone`."""

    email: EmailStr | None = None
    phone: str | None = Field(default=None, max_length=PHONE_INPUT_MAX)

    @model_validator(mode="after")
    def _exactly_one(self) -> Self:
        if (self.email is None) == (self.phone is None):
            raise ValueError("give exactly one of email and phone")
        return self


class TotpChangeRequest(RequestBody):
    """Turning two-step sign-in on or off takes a code and the password (R17)."""

    code: str = Field(min_length=6, max_length=TOTP_CODE_MAX, examples=["123456"])
    password: str = Field(max_length=PASSWORD_MAX)


# -- responses -----------------------------------------------------------------------
class AccountOut(_Response):
    id: str
    username: str
    display_name: str | None
    email: str | None
    phone: str | None = Field(description="E.164, e.g. +6281234567890")
    totp_enabled: bool
    is_admin: bool = Field(description="a site administrator (see /api/v1/admin)")
    created_at: datetime
    gender: str | None
    date_of_birth: date | None
    bio: str | None
    language: Language = Field(description="for emails and the web client; never shown to others")
    photo: bool = Field(description="whether I have a photo (GET /users/{my id}/photo)")
    visibility: VisibilityOut
    email_verified: bool = Field(description="confirmed with a code: signs in and can be found")
    phone_verified: bool = Field(description="confirmed with a code: signs in and can be found")


class PublicProfileOut(_Response):
    """A profile field hidden from this viewer, or not filled in, is absent."""

    id: str
    username: str
    display_name: str | None
    gender: str | None = None
    date_of_birth: date | None = None
    bio: str | None = None
    photo: bool | None = Field(
        default=None, description="true when GET /users/{id}/photo serves you one; else absent"
    )

    @classmethod
    def shown(cls, profile: PublicProfile) -> PublicProfileOut:
        """The profile with only the fields this viewer gets: hidden and empty ones unset."""
        values = {
            "gender": profile.gender,
            "date_of_birth": profile.date_of_birth,
            "bio": profile.bio,
            "photo": profile.photo or None,
        }
        present = {name: value for name, value in values.items() if value is not None}
        return cls(
            id=profile.id, username=profile.username, display_name=profile.display_name, **present
        )


class ContactSettingsOut(_Response):
    findable_by_username: bool
    message_requests: bool
    findable_by_email: bool = Field(description="POST /users/lookup finds me by my verified email")
    findable_by_phone: bool = Field(description="POST /users/lookup finds me by my verified phone")


class SessionOut(_Response):
    id: str
    device_name: str | None
    created_at: datetime
    last_seen_at: datetime
    current: bool = Field(description="true for the session this request was made with")


class SignInOut(BaseModel):
    token: str = Field(description="The bearer token; shown only now, never stored by obrolan")
    session: SessionOut
    user: AccountOut
    device_token: str = Field(
        description="Keep on this device and send with its next sign-ins: another person's "
        "failed guesses then do not lock it out"
    )


class TotpSetupOut(_Response):
    secret: str = Field(description="base32, for authenticator apps that take it typed in")
    otpauth_uri: str = Field(description="otpauth:// URI, usually shown as a QR code")
