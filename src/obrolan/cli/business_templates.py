"""`obrolan business templates`: the operator's review of message templates."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from obrolan.admin import OPERATOR
from obrolan.business.template_store import TemplateRow
from obrolan.cli._common import (
    business_templates_app,
    console,
    load_settings,
    reported_errors,
    with_services,
)
from obrolan.config import Settings
from obrolan.services import Services


@business_templates_app.command("list")
def templates_list(
    status: Annotated[
        str, typer.Option(metavar="STATUS", help="PENDING, APPROVED, REJECTED or all.")
    ] = "PENDING",
) -> None:
    """List message templates waiting for review (or in another status), oldest first."""
    settings = load_settings()
    wanted = None if status.lower() == "all" else status.upper()
    with reported_errors(settings.resolved_database_url):
        rows = asyncio.run(_all(settings, wanted))
    table = Table("id", "business", "name", "language", "category", "status", "body", box=None)
    for row in rows:
        table.add_row(
            row.id,
            row.business_id,
            escape(row.name),
            row.language,
            row.category,
            row.status,
            escape(_body(row)),
        )
    console.print(table)


@business_templates_app.command("approve")
def templates_approve(
    template_id: Annotated[str, typer.Argument(metavar="ID", help="A PENDING template.")],
) -> None:
    """Approve a PENDING template: the business can send it and hears of it."""
    settings = load_settings()
    with reported_errors(settings.resolved_database_url):
        row = asyncio.run(
            with_services(settings, lambda s: s.templates.approve(OPERATOR, template_id))
        )
    console.print(f"approved {row.id} ({escape(row.name)}, {row.language})", soft_wrap=True)


@business_templates_app.command("reject")
def templates_reject(
    template_id: Annotated[str, typer.Argument(metavar="ID", help="A PENDING template.")],
    reason: Annotated[
        str, typer.Option(metavar="REASON", help="Why, e.g. INVALID_FORMAT or PROMOTIONAL.")
    ],
) -> None:
    """Reject a PENDING template with a reason the business is told."""
    settings = load_settings()
    with reported_errors(settings.resolved_database_url):
        row = asyncio.run(
            with_services(settings, lambda s: s.templates.reject(OPERATOR, template_id, reason))
        )
    console.print(f"rejected {row.id} ({escape(row.name)}, {row.language})", soft_wrap=True)


def _body(row: TemplateRow) -> str:
    body = next((c.get("text", "") for c in row.components if c["type"] == "BODY"), "")
    return body if len(body) <= 60 else body[:59] + "…"


async def _all(settings: Settings, status: str | None) -> list[TemplateRow]:
    async def every_page(services: Services) -> list[TemplateRow]:
        rows: list[TemplateRow] = []
        after = None
        while True:
            page = await services.templates.queue(OPERATOR, status, after=after)
            rows.extend(page.templates)
            if not page.has_more:
                return rows
            after = page.templates[-1].id

    return await with_services(settings, every_page)
