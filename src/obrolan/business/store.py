"""SQL for businesses, their members, sender numbers and tokens."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from obrolan.business.models import business_members, business_numbers, business_tokens, businesses
from obrolan.business.rules import BusinessRole


@dataclass(frozen=True, slots=True)
class BusinessRow:
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


@dataclass(frozen=True, slots=True)
class NumberRow:
    id: str
    business_id: str
    display_phone_number: str
    verified_name: str
    user_id: str
    relay_base_url: str | None
    relay_token_enc: bytes | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class TokenRow:
    id: str
    business_id: str
    name: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


PROFILE_FIELDS = (
    "name",
    "about",
    "description",
    "address",
    "email",
    "websites",
    "vertical",
    "photo_url",
)


def _business(row: Row[Any]) -> BusinessRow:
    values = dict(row._mapping)
    values.pop("created_by", None)
    values["websites"] = orjson.loads(values["websites"])
    return BusinessRow(**values)


def _number(row: Row[Any]) -> NumberRow:
    return NumberRow(**row._mapping)


def _token(row: Row[Any]) -> TokenRow:
    values = dict(row._mapping)
    values.pop("token_hash", None)
    values.pop("created_by", None)
    return TokenRow(**values)


async def insert_business(conn: AsyncConnection, values: dict[str, Any]) -> None:
    values = {**values, "websites": orjson.dumps(values.get("websites") or []).decode()}
    await conn.execute(insert(businesses).values(values))


async def business_by_id(conn: AsyncConnection, business_id: str) -> BusinessRow | None:
    row = (await conn.execute(select(businesses).where(businesses.c.id == business_id))).first()
    return _business(row) if row else None


async def update_business(conn: AsyncConnection, business_id: str, values: dict[str, Any]) -> None:
    if "websites" in values:
        values = {**values, "websites": orjson.dumps(values["websites"] or []).decode()}
    if values:
        await conn.execute(update(businesses).where(businesses.c.id == business_id).values(values))


async def businesses_of(
    conn: AsyncConnection, user_id: str
) -> list[tuple[BusinessRow, BusinessRole]]:
    rows = await conn.execute(
        select(businesses, business_members.c.role)
        .join(business_members, business_members.c.business_id == businesses.c.id)
        .where(business_members.c.user_id == user_id)
        .order_by(businesses.c.name, businesses.c.id)
    )
    found = []
    for row in rows:
        values = dict(row._mapping)
        role = BusinessRole(values.pop("role"))
        found.append((_business_from(values), role))
    return found


def _business_from(values: dict[str, Any]) -> BusinessRow:
    values.pop("created_by", None)
    values["websites"] = orjson.loads(values["websites"])
    return BusinessRow(**values)


async def all_businesses(conn: AsyncConnection) -> list[BusinessRow]:
    rows = await conn.execute(select(businesses).order_by(businesses.c.created_at))
    return [_business(r) for r in rows]


# -- members --------------------------------------------------------------------------------


async def role_of(conn: AsyncConnection, business_id: str, user_id: str) -> BusinessRole | None:
    role = (
        await conn.execute(
            select(business_members.c.role).where(
                business_members.c.business_id == business_id,
                business_members.c.user_id == user_id,
            )
        )
    ).scalar()
    return BusinessRole(role) if role else None


async def members(conn: AsyncConnection, business_id: str) -> list[tuple[str, BusinessRole]]:
    rows = await conn.execute(
        select(business_members.c.user_id, business_members.c.role)
        .where(business_members.c.business_id == business_id)
        .order_by(business_members.c.created_at, business_members.c.user_id)
    )
    return [(r.user_id, BusinessRole(r.role)) for r in rows]


async def put_member(
    conn: AsyncConnection, business_id: str, user_id: str, role: BusinessRole, at: datetime
) -> None:
    changed = await conn.execute(
        update(business_members)
        .where(business_members.c.business_id == business_id, business_members.c.user_id == user_id)
        .values(role=role.value)
    )
    if not changed.rowcount:
        await conn.execute(
            insert(business_members).values(
                business_id=business_id, user_id=user_id, role=role.value, created_at=at
            )
        )


async def delete_member(conn: AsyncConnection, business_id: str, user_id: str) -> None:
    await conn.execute(
        delete(business_members).where(
            business_members.c.business_id == business_id, business_members.c.user_id == user_id
        )
    )


# -- sender numbers -------------------------------------------------------------------------


async def insert_number(conn: AsyncConnection, values: dict[str, Any]) -> None:
    await conn.execute(insert(business_numbers).values(values))


async def number_by_id(conn: AsyncConnection, number_id: str) -> NumberRow | None:
    row = (
        await conn.execute(select(business_numbers).where(business_numbers.c.id == number_id))
    ).first()
    return _number(row) if row else None


async def number_by_user(conn: AsyncConnection, user_id: str) -> NumberRow | None:
    row = (
        await conn.execute(select(business_numbers).where(business_numbers.c.user_id == user_id))
    ).first()
    return _number(row) if row else None


async def number_by_digits(conn: AsyncConnection, digits: str) -> NumberRow | None:
    row = (
        await conn.execute(
            select(business_numbers).where(business_numbers.c.display_phone_number == digits)
        )
    ).first()
    return _number(row) if row else None


async def numbers_by_ids(conn: AsyncConnection, number_ids: Iterable[str]) -> dict[str, NumberRow]:
    rows = await conn.execute(
        select(business_numbers).where(business_numbers.c.id.in_(set(number_ids)))
    )
    return {r.id: _number(r) for r in rows}


async def numbers_of(conn: AsyncConnection, business_id: str) -> list[NumberRow]:
    rows = await conn.execute(
        select(business_numbers)
        .where(business_numbers.c.business_id == business_id)
        .order_by(business_numbers.c.created_at)
    )
    return [_number(r) for r in rows]


async def number_taken(conn: AsyncConnection, display_phone_number: str) -> bool:
    found = await conn.execute(
        select(business_numbers.c.id).where(
            business_numbers.c.display_phone_number == display_phone_number
        )
    )
    return found.first() is not None


async def set_relay(
    conn: AsyncConnection, number_id: str, base_url: str | None, token_enc: bytes | None
) -> None:
    await conn.execute(
        update(business_numbers)
        .where(business_numbers.c.id == number_id)
        .values(relay_base_url=base_url, relay_token_enc=token_enc)
    )


# -- tokens ---------------------------------------------------------------------------------


async def insert_token(conn: AsyncConnection, values: dict[str, Any]) -> None:
    await conn.execute(insert(business_tokens).values(values))


async def live_token(conn: AsyncConnection, token_hash: bytes) -> TokenRow | None:
    row = (
        await conn.execute(
            select(business_tokens).where(
                business_tokens.c.token_hash == token_hash, business_tokens.c.revoked_at.is_(None)
            )
        )
    ).first()
    return _token(row) if row else None


async def tokens_of(conn: AsyncConnection, business_id: str) -> list[TokenRow]:
    rows = await conn.execute(
        select(business_tokens)
        .where(business_tokens.c.business_id == business_id)
        .order_by(business_tokens.c.created_at, business_tokens.c.id)
    )
    return [_token(r) for r in rows]


async def revoke_token(
    conn: AsyncConnection, business_id: str, token_id: str, at: datetime
) -> bool:
    changed = await conn.execute(
        update(business_tokens)
        .where(
            business_tokens.c.id == token_id,
            business_tokens.c.business_id == business_id,
            business_tokens.c.revoked_at.is_(None),
        )
        .values(revoked_at=at)
    )
    return bool(changed.rowcount)


async def touch_tokens(conn: AsyncConnection, token_ids: Sequence[str], at: datetime) -> None:
    await conn.execute(
        update(business_tokens).where(business_tokens.c.id.in_(token_ids)).values(last_used_at=at)
    )
