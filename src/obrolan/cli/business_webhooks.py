"""`obrolan business webhooks`: a business's delivery log, and replaying its events."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from obrolan.business.webhook_service import LOG_PAGE_MAX, Delivery
from obrolan.cli._common import (
    business_webhooks_app,
    console,
    fail,
    load_settings,
    reported_errors,
    with_services,
)
from obrolan.services import Services

BusinessArgument = Annotated[
    str, typer.Argument(metavar="BUSINESS_ID", help="The business (its WABA id).")
]


@business_webhooks_app.command("deliveries")
def deliveries(
    business_id: BusinessArgument,
    state: Annotated[
        str | None,
        typer.Option(metavar="STATE", help="Only pending, sending, delivered or dead events."),
    ] = None,
    since: Annotated[
        str | None, typer.Option(metavar="TIME", help="Made at or after (ISO 8601, with zone).")
    ] = None,
    until: Annotated[
        str | None, typer.Option(metavar="TIME", help="Made before (ISO 8601, with zone).")
    ] = None,
    limit: Annotated[int, typer.Option(metavar="N", help="At most this many, newest first.")] = 100,
) -> None:
    """List webhook events, newest first: state, attempts and the last attempt's outcome."""
    if state is not None and state not in ("pending", "sending", "delivered", "dead"):
        fail("--state is one of pending, sending, delivered, dead")
    settings = load_settings()
    window = (_moment(since, "--since"), _moment(until, "--until"))

    async def call(services: Services) -> list[Delivery]:
        await services.business.get(business_id)
        return await services.webhook_subscriptions.log(
            business_id,
            since=window[0],
            until=window[1],
            state=state,
            before=None,
            limit=min(max(limit, 1), LOG_PAGE_MAX),
        )

    with reported_errors(settings.resolved_database_url):
        found = asyncio.run(with_services(settings, call))
    table = Table("id", "key", "field", "state", "attempts", "made", "last outcome", box=None)
    for delivery in found:
        event = delivery.event
        last = delivery.attempts[-1] if delivery.attempts else None
        outcome = "" if last is None else (last.error or f"HTTP {last.status_code}")
        table.add_row(
            event.id,
            escape(event.ordering_key),
            escape(event.field),
            event.state,
            str(event.attempts),
            f"{event.created_at:%Y-%m-%d %H:%M:%S}",
            escape(outcome),
        )
    console.print(table)


@business_webhooks_app.command("replay")
def replay(
    business_id: BusinessArgument,
    since: Annotated[str, typer.Option(metavar="TIME", help="From (ISO 8601, with zone).")],
    until: Annotated[str, typer.Option(metavar="TIME", help="Until, excluded.")],
) -> None:
    """Send again every event made in [since, until), in order per conversation."""
    settings = load_settings()
    start = _moment(since, "--since") or fail("--since is required")
    end = _moment(until, "--until") or fail("--until is required")

    async def call(services: Services) -> int:
        await services.business.get(business_id)
        return await services.webhook_subscriptions.resend(business_id, start, end)

    with reported_errors(settings.resolved_database_url):
        queued = asyncio.run(with_services(settings, call))
    console.print(f"queued {queued} events to be sent again", soft_wrap=True)


def _moment(value: str | None, option: str) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        fail(f"{option} is an ISO 8601 time, such as 2026-05-01T00:00:00+07:00")
    if moment.tzinfo is None:
        fail(f"{option} needs a time zone (+07:00, Z)")
    return moment
