"""The data map: every column, what it holds, why, and how long it is kept.

Read from the declarations every column carries (`info=data(...)` / `info=system()`, see
`obrolan.db.base`), so the map cannot drift from the schema. `find_problems` is the
check behind the rule that personal data never enters the schema unclassified: a column
without a declaration, or naming a category, use or retention rule nobody knows, is a
problem, and the test suite fails on any.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from rich import box
from rich.console import Group
from rich.table import Table
from sqlalchemy import Column, MetaData

from obrolan.db.base import DataDeclaration
from obrolan.privacy.retention import RULES, RetentionRule

# Data categories and data uses we allow: names from the fideslang default taxonomy
# (ethyca/fideslang, src/fideslang/default_taxonomy/), copied here because the fideslang
# package pins an old pydantic. Only the names obrolan uses and their parents; add a
# name from that taxonomy (never invent one) when a new column needs it. Fideslang 3.2
# deprecates user.account.settings, user.location.imprecise, user.biometric and
# user.sensor in favour of user.settings, user.location.coarse, user.biometrics and
# user.device.sensor; the older names are still in its default taxonomy.
DATA_CATEGORIES: frozenset[str] = frozenset(
    {
        "system",
        "system.operations",
        "system.authentication",
        "user",
        "user.unique_id",
        "user.account",
        "user.account.username",
        "user.account.settings",
        "user.name",
        "user.contact",
        "user.contact.email",
        "user.contact.phone_number",
        "user.content",
        "user.content.private",
        "user.content.public",
        "user.content.self_image",
        "user.authorization",
        "user.authorization.credentials",
        "user.device",
        "user.device.ip_address",
        "user.device.device_id",
        "user.location",
        "user.location.precise",
        "user.location.imprecise",
        "user.demographic",
        "user.demographic.date_of_birth",
        "user.demographic.gender",
        "user.behavior",
        "user.financial",
        "user.government_id",
        "user.biometric",
        "user.sensor",
    }
)

DATA_USES: frozenset[str] = frozenset(
    {
        "essential",
        "essential.service",
        "essential.service.authentication",
        "essential.service.security",
        "essential.service.operations",
        "essential.legal_obligation",
        "marketing",
        "marketing.communications",
        "analytics",
        "personalize",
        "third_party_sharing",
        "functional",
        "functional.storage",
    }
)


@dataclass(frozen=True, slots=True)
class DataMapEntry:
    """One column of the data map."""

    table: str
    column: str
    category: str
    use: str
    retention: str
    retention_summary: str
    promise: str | None
    encrypted: bool
    personal: bool


@dataclass(frozen=True, slots=True)
class DataMapProblem:
    """A column whose declaration is missing or names something unknown."""

    table: str
    column: str
    problem: str

    def __str__(self) -> str:
        return f"{self.table}.{self.column}: {self.problem}"


Schemas = MetaData | Iterable[MetaData]


def _columns(metadata: Schemas) -> Iterable[tuple[str, Column[Any]]]:
    """Every column of the tables of one MetaData, or of several (database, key store)."""
    schemas = [metadata] if isinstance(metadata, MetaData) else list(metadata)
    tables = [t for schema in schemas for t in schema.tables.values()]
    for table in sorted(tables, key=lambda t: t.name):
        for column in table.columns:
            yield table.name, column


def _declaration(column: Column[Any]) -> DataDeclaration | None:
    declared = column.info.get("data")
    return declared if isinstance(declared, DataDeclaration) else None


def build_data_map(
    metadata: Schemas, rules: dict[str, RetentionRule] = RULES
) -> list[DataMapEntry]:
    """An entry for every declared column, ordered by table then column position.

    Columns without a declaration are left out here; `find_problems` reports them.
    """
    entries = []
    for table_name, column in _columns(metadata):
        declared = _declaration(column)
        if declared is None:
            continue
        rule = rules.get(declared.retention)
        entries.append(
            DataMapEntry(
                table=table_name,
                column=column.name,
                category=declared.category,
                use=declared.use,
                retention=declared.retention,
                retention_summary=rule.summary if rule else "unknown rule",
                promise=rule.promise if rule else None,
                encrypted=declared.encrypted,
                personal=declared.personal,
            )
        )
    return entries


def find_problems(
    metadata: Schemas,
    rules: dict[str, RetentionRule] = RULES,
    categories: frozenset[str] = DATA_CATEGORIES,
    uses: frozenset[str] = DATA_USES,
) -> list[DataMapProblem]:
    """Columns without a declaration, and declarations naming unknown names."""
    problems = []
    for table_name, column in _columns(metadata):
        declared = _declaration(column)
        if declared is None:
            problems.append(
                DataMapProblem(
                    table_name, column.name, "no data declaration (info=data(...) or system())"
                )
            )
            continue
        if declared.retention not in rules:
            problems.append(
                DataMapProblem(
                    table_name, column.name, f"unknown retention rule {declared.retention!r}"
                )
            )
        if declared.category not in categories:
            problems.append(
                DataMapProblem(
                    table_name, column.name, f"unknown data category {declared.category!r}"
                )
            )
        if declared.use not in uses:
            problems.append(
                DataMapProblem(table_name, column.name, f"unknown data use {declared.use!r}")
            )
    return problems


def to_json(entries: Iterable[DataMapEntry], problems: Iterable[DataMapProblem] = ()) -> str:
    """The data map as JSON: `{"taxonomy", "columns": [...], "problems": [...]}`."""
    document = {
        "taxonomy": "fideslang default taxonomy",
        "columns": [asdict(entry) for entry in entries],
        "problems": [asdict(problem) for problem in problems],
    }
    return json.dumps(document, indent=2)


def to_table(
    entries: Iterable[DataMapEntry], rules: dict[str, RetentionRule] | None = None
) -> Group:
    """The data map as Rich tables: one row per column, then the retention rules they name.

    With `rules`, every rule in it is listed, also those no column names (backups).
    """
    entries = list(entries)
    columns = Table(
        title="obrolan data map",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        collapse_padding=True,
    )
    columns.add_column("table.column", no_wrap=True)
    columns.add_column("category", overflow="fold")
    columns.add_column("use", overflow="fold")
    columns.add_column("retention")
    columns.add_column("encrypted", justify="center")
    for entry in entries:
        columns.add_row(
            f"{entry.table}.{entry.column}",
            entry.category,
            entry.use,
            entry.retention,
            "yes" if entry.encrypted else "",
            style=None if entry.personal else "dim",
        )
    table = Table(
        title="retention rules",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        collapse_padding=True,
    )
    table.add_column("rule", no_wrap=True)
    table.add_column("kept")
    table.add_column("promise", justify="center")
    seen: dict[str, DataMapEntry] = {}
    for entry in entries:
        seen.setdefault(entry.retention, entry)
    for name, entry in sorted(seen.items()):
        rule = (rules or {}).get(name)
        summary = rule.summary if rule else entry.retention_summary
        table.add_row(name, summary, entry.promise or "")
    for name, rule in sorted((rules or {}).items()):
        if name not in seen:
            table.add_row(name, rule.summary, rule.promise or "")
    return Group(columns, table)
