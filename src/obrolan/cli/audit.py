"""`obrolan audit`: verify the audit log's chain, print its head to keep (R7)."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from obrolan.cli._common import audit_app, console, fail, load_settings, reported_errors
from obrolan.config import Settings
from obrolan.privacy.audit import Checkpoint, Head, Verification
from obrolan.services import build_services


def _parse_checkpoints(values: list[str]) -> list[Checkpoint]:
    checkpoints = []
    for value in values:
        try:
            checkpoints.append(Checkpoint.parse(value))
        except ValueError as exc:
            fail(f"--checkpoint {exc}")
    return checkpoints


@audit_app.command("verify")
def audit_verify(
    checkpoint: Annotated[
        list[str] | None,
        typer.Option(
            "--checkpoint",
            metavar="SEQ:HEX",
            help="A head kept earlier (from the log's `audit checkpoint` events or"
            " `obrolan audit checkpoint`); may be given several times.",
        ),
    ] = None,
) -> None:
    """Walk the audit log's hash chain and check it against kept checkpoints.

    Exits 0 printing how many entries were checked and the head; exits 1 naming the
    first entry that was edited, removed or inserted, or the checkpoint the log no
    longer matches (entries cut off the end).
    """
    checkpoints = _parse_checkpoints(checkpoint or [])
    settings = load_settings()
    with reported_errors(settings.resolved_database_url):
        result = asyncio.run(_verify(settings, checkpoints))
    if result.broken is not None:
        where = f"entry {result.broken.seq}"
        if result.broken.entry_id:
            where += f" (id {result.broken.entry_id})"
        fail(
            f"the audit log is broken at {where}: {result.broken.problem};"
            f" {result.entries} entries before it hold"
        )
    head = (
        "empty"
        if result.head_seq is None or result.head_hash is None
        else f"{result.head_seq}:{result.head_hash.hex()}"
    )
    console.print(
        f"ok: {result.entries} entries checked, {len(checkpoints)} checkpoints; head {head}",
        soft_wrap=True,
    )


@audit_app.command("checkpoint")
def audit_checkpoint() -> None:
    """Print the audit log's head as SEQ:HEX, to keep outside the database.

    Give it back to `obrolan audit verify --checkpoint` later: a log cut short or
    rewritten since then no longer matches it.
    """
    settings = load_settings()
    with reported_errors(settings.resolved_database_url):
        head = asyncio.run(_head(settings))
    if head.seq is None or head.hash is None:
        fail("the audit log is empty: nothing to checkpoint yet")
    console.print(f"{head.seq}:{head.hash.hex()}", soft_wrap=True)


async def _verify(settings: Settings, checkpoints: list[Checkpoint]) -> Verification:
    services = build_services(settings)
    try:
        return await services.audit.verify(services.db, checkpoints)
    finally:
        await services.close()


async def _head(settings: Settings) -> Head:
    services = build_services(settings)
    try:
        return await services.audit.head(services.db)
    finally:
        await services.close()
