"""Finding a person and their key for an action, or the error the action answers with."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from obrolan.accounts import store
from obrolan.accounts.keys import DataKeys, aad, open_text
from obrolan.accounts.store import UserRow
from obrolan.errors import NotFound


async def require_user(conn: AsyncConnection, user_id: str) -> UserRow:
    user = await store.user_by_id(conn, user_id)
    if user is None:
        raise NotFound("no such person", field="user_id")
    return user


async def require_key(data_keys: DataKeys, user_id: str) -> bytes:
    key = await data_keys.get(user_id)
    if key is None:
        raise NotFound("this account was erased")
    return key


async def totp_secret(data_keys: DataKeys, user: UserRow) -> str | None:
    """The person's TOTP secret, pending or on; None when there is none."""
    if user.totp_secret_enc is None:
        return None
    key = await data_keys.get(user.id)
    return open_text(key, user.totp_secret_enc, aad("users", "totp_secret_enc", user.id))
