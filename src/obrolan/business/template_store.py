"""SQL for message templates."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from obrolan.business.models import business_templates as t
from obrolan.business.template_rules import TemplateRecord


@dataclass(frozen=True, slots=True)
class TemplateRow:
    id: str
    business_id: str
    name: str
    language: str
    category: str
    status: str
    components: list[dict[str, Any]]
    rejected_reason: str | None
    reviewed_by: str | None
    created_at: datetime
    updated_at: datetime

    def record(self) -> TemplateRecord:
        return TemplateRecord(self.id, self.name, self.language, self.category, self.components)


@dataclass(frozen=True, slots=True)
class TemplateFilter:
    """Exact name; any of the statuses, categories, languages (None: any at all)."""

    name: str | None = None
    statuses: tuple[str, ...] | None = None
    categories: tuple[str, ...] | None = None
    languages: tuple[str, ...] | None = None


def _row(row: Row[Any]) -> TemplateRow:
    values = dict(row._mapping)
    values["components"] = orjson.loads(values["components"])
    return TemplateRow(**values)


async def insert_template(conn: AsyncConnection, values: dict[str, Any]) -> None:
    values = {**values, "components": orjson.dumps(values["components"]).decode()}
    await conn.execute(insert(t).values(values))


async def by_id(conn: AsyncConnection, template_id: str) -> TemplateRow | None:
    row = (await conn.execute(select(t).where(t.c.id == template_id))).first()
    return _row(row) if row else None


async def by_name(
    conn: AsyncConnection, business_id: str, name: str, language: str
) -> TemplateRow | None:
    row = (
        await conn.execute(
            select(t).where(
                t.c.business_id == business_id, t.c.name == name, t.c.language == language
            )
        )
    ).first()
    return _row(row) if row else None


def _filtered(query: Any, where: TemplateFilter) -> Any:
    if where.name is not None:
        query = query.where(t.c.name == where.name)
    for column, values in (
        (t.c.status, where.statuses),
        (t.c.category, where.categories),
        (t.c.language, where.languages),
    ):
        if values is not None:
            query = query.where(column.in_(values))
    return query


async def count(conn: AsyncConnection, business_id: str, where: TemplateFilter) -> int:
    query = select(func.count()).select_from(t).where(t.c.business_id == business_id)
    return int((await conn.execute(_filtered(query, where))).scalar_one())


async def names_and_languages(conn: AsyncConnection, business_id: str) -> list[tuple[str, str]]:
    rows = await conn.execute(select(t.c.name, t.c.language).where(t.c.business_id == business_id))
    return [(name, language) for name, language in rows]


async def page(
    conn: AsyncConnection,
    business_id: str | None,
    where: TemplateFilter,
    *,
    after: str | None,
    limit: int,
) -> list[TemplateRow]:
    """Up to `limit` templates by id (oldest first) after the id `after`; all businesses'
    if `business_id` is None (the operator's queue)."""
    query = select(t).order_by(t.c.id).limit(limit)
    if business_id is not None:
        query = query.where(t.c.business_id == business_id)
    query = _filtered(query, where)
    if after is not None:
        query = query.where(t.c.id > after)
    return [_row(r) for r in await conn.execute(query)]


async def replace_content(
    conn: AsyncConnection,
    template_id: str,
    *,
    category: str,
    components: list[dict[str, Any]],
    status: str,
    rejected_reason: str | None,
    now: datetime,
) -> None:
    await conn.execute(
        update(t)
        .where(t.c.id == template_id)
        .values(
            category=category,
            components=orjson.dumps(components).decode(),
            status=status,
            rejected_reason=rejected_reason,
            reviewed_by=None,
            updated_at=now,
        )
    )


async def review(
    conn: AsyncConnection,
    template_id: str,
    *,
    status: str,
    rejected_reason: str | None,
    reviewed_by: str | None,
    now: datetime,
) -> bool:
    """Decide a PENDING template; False if it is not PENDING (any more): of two reviews at
    the same moment, only one changes the row."""
    result = await conn.execute(
        update(t)
        .where(t.c.id == template_id, t.c.status == "PENDING")
        .values(
            status=status, rejected_reason=rejected_reason, reviewed_by=reviewed_by, updated_at=now
        )
    )
    return result.rowcount == 1


async def delete_named(
    conn: AsyncConnection, business_id: str, name: str, template_id: str | None
) -> int:
    """Delete a business's templates named `name` (every language, or only `template_id`)."""
    query = delete(t).where(t.c.business_id == business_id, t.c.name == name)
    if template_id is not None:
        query = query.where(t.c.id == template_id)
    return (await conn.execute(query)).rowcount
