"""Request bodies and typed answers of obrolan's own business API (/api/v1/businesses)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field, HttpUrl

from obrolan.api.inputs import RequestBody
from obrolan.business.rules import BusinessRole
from obrolan.business.store import BusinessRow, NumberRow, TokenRow

Website = Annotated[str, Field(min_length=1, max_length=256)]


class ProfileFields(RequestBody):
    about: str | None = Field(default=None, max_length=139)
    description: str | None = Field(default=None, max_length=512)
    address: str | None = Field(default=None, max_length=256)
    email: str | None = Field(default=None, max_length=128)
    websites: list[Website] | None = Field(default=None, max_length=2)
    vertical: str | None = Field(default=None, max_length=32)
    photo_url: str | None = Field(default=None, max_length=512)


class CreateBusiness(ProfileFields):
    name: str = Field(min_length=1, max_length=100)


class UpdateBusiness(ProfileFields):
    name: str | None = Field(default=None, min_length=1, max_length=100)


class BusinessOut(BaseModel):
    id: str
    name: str
    about: str | None
    description: str | None
    address: str | None
    email: str | None
    websites: list[str]
    vertical: str | None
    photo_url: str | None
    created_at: datetime
    role: BusinessRole | None = None

    @classmethod
    def of(cls, row: BusinessRow, role: BusinessRole | None = None) -> BusinessOut:
        return cls(
            id=row.id,
            name=row.name,
            about=row.about,
            description=row.description,
            address=row.address,
            email=row.email,
            websites=row.websites,
            vertical=row.vertical,
            photo_url=row.photo_url,
            created_at=row.created_at,
            role=role,
        )


class BusinessesOut(BaseModel):
    businesses: list[BusinessOut]


class PutMember(RequestBody):
    role: BusinessRole


class MemberOut(BaseModel):
    user_id: str
    role: BusinessRole


class MembersOut(BaseModel):
    members: list[MemberOut]


class AddNumber(RequestBody):
    phone: str = Field(min_length=3, max_length=32)
    verified_name: str | None = Field(default=None, min_length=1, max_length=100)


class SetRelay(RequestBody):
    base_url: HttpUrl | None = None
    token: str | None = Field(default=None, min_length=1, max_length=1024)


class NumberOut(BaseModel):
    # The Cloud API's phone_number_id.
    id: str
    display_phone_number: str
    verified_name: str
    # The account that speaks for the number in people's chats.
    user_id: str
    relay_base_url: str | None
    created_at: datetime

    @classmethod
    def of(cls, row: NumberRow) -> NumberOut:
        return cls(
            id=row.id,
            display_phone_number=row.display_phone_number,
            verified_name=row.verified_name,
            user_id=row.user_id,
            relay_base_url=row.relay_base_url,
            created_at=row.created_at,
        )


class NumbersOut(BaseModel):
    numbers: list[NumberOut]


class CreateToken(RequestBody):
    name: str = Field(min_length=1, max_length=64)


class TokenOut(BaseModel):
    id: str
    name: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    @classmethod
    def of(cls, row: TokenRow) -> TokenOut:
        return cls(
            id=row.id,
            name=row.name,
            created_at=row.created_at,
            last_used_at=row.last_used_at,
            revoked_at=row.revoked_at,
        )


class NewTokenOut(TokenOut):
    # Shown once: only its hash is kept.
    token: str


class TokensOut(BaseModel):
    tokens: list[TokenOut]
