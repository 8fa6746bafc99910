"""SQL for throttling: failed sign-ins and counted actions (sign-ups, address changes,
codes, look-ups), kept as keyed hashes. No rules here: see throttle.py and rules.py."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Select, Table, delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from obrolan.accounts.models import login_failures, throttled_actions

FailureScope = Literal["account", "ip", "device"]
ActionScope = Literal[
    "register-ip", "address-account", "address-ip", "code-address", "lookup-account"
]


def _recent(table: Table, scope: str, key_hash: bytes, since: datetime, limit: int) -> Select[Any]:
    """The times of the `limit` most recent rows of `scope` and `key_hash` after `since`."""
    return (
        select(table.c.at)
        .where(table.c.scope == scope, table.c.key_hash == key_hash, table.c.at > since)
        .order_by(table.c.at.desc())
        .limit(max(limit, 1))
    )


# -- failed sign-ins -----------------------------------------------------------------
async def recent_failures(
    conn: AsyncConnection, scope: FailureScope, key_hash: bytes, since: datetime, limit: int
) -> list[datetime]:
    """The times of the `limit` most recent failures after `since`, newest first."""
    rows = await conn.execute(_recent(login_failures, scope, key_hash, since, limit))
    return [r[0] for r in rows]


async def insert_failures(conn: AsyncConnection, values: Sequence[dict[str, Any]]) -> None:
    await conn.execute(insert(login_failures), list(values))


async def delete_failures_by_ids(conn: AsyncConnection, ids: Sequence[str]) -> None:
    if ids:
        await conn.execute(delete(login_failures).where(login_failures.c.id.in_(ids)))


async def delete_failures_of(conn: AsyncConnection, scope: FailureScope, key_hash: bytes) -> None:
    await conn.execute(
        delete(login_failures).where(
            login_failures.c.scope == scope, login_failures.c.key_hash == key_hash
        )
    )


async def delete_failures_before(conn: AsyncConnection, cutoff: datetime) -> None:
    await conn.execute(delete(login_failures).where(login_failures.c.at <= cutoff))


# -- throttled actions (sign-ups, address changes) -------------------------------------
async def recent_actions(
    conn: AsyncConnection, scope: ActionScope, key_hash: bytes, since: datetime, limit: int
) -> list[datetime]:
    """The times of the `limit` most recent actions after `since`, newest first."""
    rows = await conn.execute(_recent(throttled_actions, scope, key_hash, since, limit))
    return [r[0] for r in rows]


async def insert_actions(conn: AsyncConnection, values: Sequence[dict[str, Any]]) -> None:
    await conn.execute(insert(throttled_actions), list(values))


async def delete_actions_before(
    conn: AsyncConnection, scope: ActionScope, cutoff: datetime
) -> None:
    await conn.execute(
        delete(throttled_actions).where(
            throttled_actions.c.scope == scope, throttled_actions.c.at <= cutoff
        )
    )


# -- retention sweep (R17): at most `limit` rows per call ---------------------------
async def delete_old_failures(conn: AsyncConnection, cutoff: datetime, limit: int) -> int:
    old = select(login_failures.c.id).where(login_failures.c.at <= cutoff).limit(limit)
    result = await conn.execute(
        delete(login_failures).where(login_failures.c.id.in_(old.scalar_subquery()))
    )
    return int(result.rowcount)


async def delete_old_actions(
    conn: AsyncConnection, limit: int, *, scope: ActionScope, cutoff: datetime
) -> int:
    old = (
        select(throttled_actions.c.id)
        .where(throttled_actions.c.scope == scope, throttled_actions.c.at <= cutoff)
        .limit(limit)
    )
    result = await conn.execute(
        delete(throttled_actions).where(throttled_actions.c.id.in_(old.scalar_subquery()))
    )
    return int(result.rowcount)


# -- the retention sweep's dry run and evidence --------------------------------------
async def count_old_failures(conn: AsyncConnection, cutoff: datetime) -> int:
    found = select(func.count()).where(login_failures.c.at <= cutoff)
    return int((await conn.execute(found)).scalar_one())


async def count_old_actions(conn: AsyncConnection, *, scope: ActionScope, cutoff: datetime) -> int:
    found = select(func.count()).where(
        throttled_actions.c.scope == scope, throttled_actions.c.at <= cutoff
    )
    return int((await conn.execute(found)).scalar_one())


async def oldest_failure(conn: AsyncConnection) -> datetime | None:
    value: datetime | None = (
        await conn.execute(select(func.min(login_failures.c.at)))
    ).scalar_one()
    return value


async def oldest_action(conn: AsyncConnection) -> datetime | None:
    value: datetime | None = (
        await conn.execute(select(func.min(throttled_actions.c.at)))
    ).scalar_one()
    return value
