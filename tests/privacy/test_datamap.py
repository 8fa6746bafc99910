"""The data map: every column is declared, with names from the taxonomy and known rules."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table
from typer.testing import CliRunner

from obrolan.cli import app
from obrolan.db import data, system
from obrolan.db.schema import MAPPED
from obrolan.privacy.datamap import (
    DATA_CATEGORIES,
    DATA_USES,
    build_data_map,
    find_problems,
)
from obrolan.privacy.retention import RULES


def _throwaway(*columns: Column[object]) -> MetaData:
    scratch = MetaData()
    Table("people", scratch, Column("id", Integer, primary_key=True, info=system()), *columns)
    return scratch


def test_real_schema_has_no_undeclared_or_unknown_column() -> None:
    problems = find_problems(MAPPED)
    assert problems == [], "\n".join(str(p) for p in problems)


def test_undeclared_column_is_reported() -> None:
    scratch = _throwaway(Column("nickname", String(40)))

    problems = find_problems(scratch)

    assert [(p.table, p.column) for p in problems] == [("people", "nickname")]
    assert "no data declaration" in problems[0].problem


def test_unknown_retention_rule_is_reported() -> None:
    scratch = _throwaway(
        Column("email_enc", String, info=data("user.contact.email", "essential.service", "forever"))
    )

    problems = find_problems(scratch)

    assert [str(p) for p in problems] == ["people.email_enc: unknown retention rule 'forever'"]


def test_unknown_category_and_use_are_reported() -> None:
    scratch = _throwaway(
        Column("mood", String, info=data("user.mood", "essential.service", "account")),
        Column("clicks", Integer, info=data("user.behavior", "selling", "account")),
    )

    problems = find_problems(scratch)

    assert [str(p) for p in problems] == [
        "people.mood: unknown data category 'user.mood'",
        "people.clicks: unknown data use 'selling'",
    ]


def test_taxonomy_lists_every_parent() -> None:
    # A child without its parent would mean a name was copied wrongly from fideslang.
    for names in (DATA_CATEGORIES, DATA_USES):
        for name in names:
            parent, _, _ = name.rpartition(".")
            assert not parent or parent in names, name


def test_map_carries_retention_rule_and_promise() -> None:
    entries = {(e.table, e.column): e for e in build_data_map(MAPPED)}

    email = entries[("users", "email_enc")]
    assert email.personal and email.encrypted
    assert email.retention == "account"
    assert email.retention_summary == RULES["account"].summary
    assert email.promise == "R3"
    assert not entries[("users", "created_at")].personal
    # Every column of every table is in the map, the key store's included (R4).
    assert len(entries) == sum(len(t.columns) for m in MAPPED for t in m.tables.values())
    wrapped = entries[("data_keys", "wrapped_key")]
    assert (wrapped.category, wrapped.retention) == ("system.operations", "account")


def test_cli_privacy_map_json_shows_encrypted_email() -> None:
    result = CliRunner().invoke(app, ["privacy", "map", "--format", "json"])

    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    columns = {(c["table"], c["column"]): c for c in document["columns"]}
    email = columns[("users", "email_enc")]
    assert email["category"] == "user.contact.email"
    assert email["encrypted"] is True
    assert email["retention"] == "account"
    assert document["problems"] == []
    # By default only personal columns; --all adds the system ones.
    assert all(c["personal"] for c in document["columns"])
    assert ("users", "created_at") not in columns


@pytest.mark.parametrize("extra", [[], ["--all"]])
def test_cli_privacy_map_table(extra: list[str]) -> None:
    result = CliRunner().invoke(app, ["privacy", "map", *extra])

    assert result.exit_code == 0, result.output
    assert "users.email_enc" in result.stdout
    assert ("users.created_at" in result.stdout) == bool(extra)
