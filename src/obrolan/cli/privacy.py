"""`obrolan privacy`: the data map, and the retention sweep run once."""

from __future__ import annotations

import asyncio
from enum import StrEnum
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from obrolan.cli._common import (
    console,
    err_console,
    load_settings,
    privacy_app,
    reported_errors,
)
from obrolan.config import Settings
from obrolan.db.schema import MAPPED
from obrolan.privacy.datamap import build_data_map, find_problems, to_json, to_table
from obrolan.privacy.retention import retention_rules
from obrolan.privacy.sweep import SweepReport
from obrolan.services import build_services


class MapFormat(StrEnum):
    table = "table"
    json = "json"


@privacy_app.command("map")
def privacy_map(
    output_format: Annotated[
        MapFormat, typer.Option("--format", help="How to print the map.")
    ] = MapFormat.table,
    include_system: Annotated[
        bool, typer.Option("--all", help="Include columns that hold no personal data.")
    ] = False,
) -> None:
    """Print the data map: every column's data category, use and retention rule.

    Exits with code 1 when a column is undeclared or names an unknown category, use or
    retention rule.
    """
    # Worded with this deployment's periods (OBROLAN_PRIVACY_*), as the sweep enforces them.
    rules = retention_rules(load_settings())
    entries = [e for e in build_data_map(MAPPED, rules) if include_system or e.personal]
    problems = find_problems(MAPPED, rules)
    if output_format is MapFormat.json:
        typer.echo(to_json(entries, problems))
    else:
        console.print(to_table(entries, rules))
        for problem in problems:
            err_console.print(f"[red]problem:[/red] {escape(str(problem))}", soft_wrap=True)
    if problems:
        raise typer.Exit(1)


@privacy_app.command("sweep")
def privacy_sweep(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Count what would be deleted; delete nothing.")
    ] = False,
) -> None:
    """Run the retention sweep once against the configured database, now.

    The same sweep the server runs every OBROLAN_RETENTION_SWEEP_SECONDS, in batches of
    OBROLAN_RETENTION_BATCH_ROWS rows, safe to run while the server serves. It records
    the run in the audit log (`retention.run`); a dry run records nothing.
    """
    settings = load_settings()
    with reported_errors(settings.resolved_database_url):
        report = asyncio.run(_sweep_once(settings, dry_run=dry_run))
    table = Table(
        "rule",
        "table",
        "would delete" if dry_run else "deleted",
        "oldest kept",
        box=None,
        title=f"retention sweep at {report.at:%Y-%m-%d %H:%M:%S} UTC"
        + (" (dry run: nothing deleted)" if dry_run else ""),
        title_justify="left",
    )
    for rule, found in sorted(report.rules.items()):
        for name in sorted(found.removed.keys() | found.oldest_seconds.keys()):
            table.add_row(
                rule,
                name,
                str(found.removed.get(name, 0)),
                _age(found.oldest_seconds.get(name)),
            )
    console.print(table)


async def _sweep_once(settings: Settings, *, dry_run: bool) -> SweepReport:
    services = build_services(settings)
    try:
        return await services.retention_sweep.run_once(services.clock.now(), dry_run=dry_run)
    finally:
        await services.close()


def _age(seconds: int | None) -> str:
    if seconds is None:
        return "-"
    days, rest = divmod(seconds, 86_400)
    return f"{days}d {rest // 3600}h" if days else f"{rest // 3600}h {rest % 3600 // 60}m"
