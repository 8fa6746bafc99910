"""`obrolan privacy requests`: the operators' queue of data requests (R13)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import typer
from rich.markup import escape
from rich.table import Table

from obrolan.admin import OPERATOR
from obrolan.cli._common import console, load_settings, privacy_app, reported_errors
from obrolan.config import Settings
from obrolan.privacy.requests import PrivacyRequest, PrivacyRequests
from obrolan.privacy.rules import RequestStatus
from obrolan.services import build_services

requests_app = typer.Typer(
    help="Work the queue of data requests: list, show, complete, refuse.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
privacy_app.add_typer(requests_app, name="requests")

T = TypeVar("T")


def _run(settings: Settings, action: Callable[[PrivacyRequests], Awaitable[T]]) -> T:
    async def go() -> T:
        services = build_services(settings)
        try:
            return await action(services.privacy_requests)
        finally:
            await services.close()

    with reported_errors(settings.resolved_database_url):
        return asyncio.run(go())


def time_left(request: PrivacyRequest) -> str:
    """ "3d 4h left", "5h overdue", or "" once answered."""
    if request.status not in (RequestStatus.received, RequestStatus.in_progress):
        return ""
    seconds = abs(request.seconds_left)
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3600)
    text = f"{days}d {hours}h" if days else f"{hours}h {rest // 60}m"
    return f"{text} overdue" if request.overdue else f"{text} left"


@requests_app.command("list")
def list_requests(
    overdue: Annotated[
        bool, typer.Option("--overdue", help="Only open requests past their deadline.")
    ] = False,
    status: Annotated[
        RequestStatus | None,
        typer.Option(help="Requests in this status [default: the open ones]"),
    ] = None,
) -> None:
    """List requests by deadline, soonest first, with the time left or overdue."""
    settings = load_settings()
    found = _run(
        settings, lambda r: r.queue(OPERATOR, status=status, overdue=overdue or None, limit=500)
    )
    table = Table("id", "kind", "status", "person", "deadline", "time left", box=None)
    for request in found:
        table.add_row(
            request.id,
            str(request.kind),
            str(request.status),
            request.user_id,
            f"{request.deadline_at:%Y-%m-%d %H:%M}",
            f"[red]{time_left(request)}[/red]" if request.overdue else time_left(request),
        )
    console.print(table)


@requests_app.command("show")
def show_request(
    request_id: Annotated[str, typer.Argument(metavar="ID", help="The request's id.")],
) -> None:
    """One request, with what the person wrote (the read is recorded in the audit log)."""
    settings = load_settings()
    request = _run(settings, lambda r: r.get_any(OPERATOR, request_id))
    _print(request)


@requests_app.command("complete")
def complete_request(
    request_id: Annotated[str, typer.Argument(metavar="ID", help="The request's id.")],
    resolution: Annotated[
        str, typer.Option(metavar="TEXT", help="What was done (the person reads it).")
    ],
) -> None:
    """Answer a request: say what was done."""
    settings = load_settings()
    _print(_run(settings, lambda r: r.complete(OPERATOR, request_id, resolution)))


@requests_app.command("refuse")
def refuse_request(
    request_id: Annotated[str, typer.Argument(metavar="ID", help="The request's id.")],
    reason: Annotated[
        str, typer.Option(metavar="TEXT", help="Why it is refused (the person reads it).")
    ],
) -> None:
    """Refuse a request, with the reason."""
    settings = load_settings()
    _print(_run(settings, lambda r: r.refuse(OPERATOR, request_id, reason)))


def _print(request: PrivacyRequest) -> None:
    lines = [
        f"id          {request.id}",
        f"kind        {request.kind}",
        f"status      {request.status}",
        f"person      {request.user_id}",
        f"opened      {request.created_at:%Y-%m-%d %H:%M} UTC"
        + (" by an operator" if request.opened_by_operator else ""),
        f"deadline    {request.deadline_at:%Y-%m-%d %H:%M} UTC",
    ]
    if left := time_left(request):
        lines.append(f"time left   {'OVERDUE ' if request.overdue else ''}{left}")
    if request.due_at is not None:
        lines.append(f"runs at     {request.due_at:%Y-%m-%d %H:%M} UTC")
    if request.done_at is not None:
        lines.append(f"answered    {request.done_at:%Y-%m-%d %H:%M} UTC")
    lines.append(f"progress    {request.progress}%")
    if request.note is not None:
        lines.append(f"note        {request.note}")
    if request.resolution is not None:
        lines.append(f"resolution  {request.resolution}")
    console.print(escape("\n".join(lines)), soft_wrap=True)
