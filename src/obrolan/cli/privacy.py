"""`obrolan privacy`: the data map."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer
from rich.markup import escape

from obrolan.cli._common import (
    console,
    err_console,
    privacy_app,
)
from obrolan.db.schema import MAPPED
from obrolan.privacy.datamap import build_data_map, find_problems, to_json, to_table


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
    entries = [e for e in build_data_map(MAPPED) if include_system or e.personal]
    problems = find_problems(MAPPED)
    if output_format is MapFormat.json:
        typer.echo(to_json(entries, problems))
    else:
        console.print(to_table(entries))
        for problem in problems:
            err_console.print(f"[red]problem:[/red] {escape(str(problem))}", soft_wrap=True)
    if problems:
        raise typer.Exit(1)
