"""`obrolan jobs`: list, retry and cancel background jobs."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import typer
from rich.markup import escape
from rich.table import Table

from obrolan.cli._common import (
    console,
    jobs_app,
    load_settings,
    reported_errors,
)
from obrolan.config import Settings
from obrolan.jobs import JobState
from obrolan.services import Services, build_services

_T = TypeVar("_T")


@jobs_app.command("list")
def jobs_list(
    state: Annotated[
        JobState | None, typer.Option("--state", help="Only jobs in this state.")
    ] = None,
    limit: Annotated[int, typer.Option(metavar="N", help="At most this many, newest first.")] = 100,
) -> None:
    """List background jobs, newest first: state, attempts, next run and last error."""
    settings = load_settings()
    with reported_errors(settings.resolved_database_url):
        jobs = asyncio.run(_jobs_call(settings, lambda s: s.jobs.list(state, limit)))
    table = Table("id", "kind", "state", "attempts", "run at", "last error", box=None)
    for job in jobs:
        table.add_row(
            job.id,
            escape(job.kind),
            str(job.state),
            f"{job.attempts}/{job.max_attempts}",
            f"{job.run_at:%Y-%m-%d %H:%M:%S}",
            escape(job.last_error or ""),
        )
    console.print(table)


@jobs_app.command("retry")
def jobs_retry(
    job_id: Annotated[str, typer.Argument(metavar="ID", help="A failed or dead job.")],
) -> None:
    """Put a failed or dead job back in the queue, due now, with its attempts reset."""
    settings = load_settings()
    with reported_errors(settings.resolved_database_url):
        job = asyncio.run(_jobs_call(settings, lambda s: s.jobs.retry(job_id)))
    console.print(f"queued {job.id} ({escape(job.kind)}) to run now", soft_wrap=True)


@jobs_app.command("cancel")
def jobs_cancel(
    job_id: Annotated[str, typer.Argument(metavar="ID", help="A queued or failed job.")],
) -> None:
    """Cancel a job that is waiting to run."""
    settings = load_settings()
    with reported_errors(settings.resolved_database_url):
        job = asyncio.run(_jobs_call(settings, lambda s: s.jobs.cancel(job_id)))
    console.print(f"cancelled {job.id} ({escape(job.kind)})", soft_wrap=True)


async def _jobs_call(settings: Settings, call: Callable[[Services], Awaitable[_T]]) -> _T:
    services = build_services(settings)
    try:
        return await call(services)
    finally:
        await services.close()
