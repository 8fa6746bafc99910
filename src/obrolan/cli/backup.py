"""`obrolan backup`: create, list, restore and prune encrypted backups (R4, R5).

The work is done by obrolan.privacy.backups; this only reads settings and prints.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import typer
from rich.markup import escape
from rich.table import Table

from obrolan.cli._common import (
    backup_app,
    console,
    err_console,
    fail,
    load_settings,
    reported_errors,
)
from obrolan.clock import Clock
from obrolan.config import Settings
from obrolan.crypto.keystore import KeyStore
from obrolan.db.migrate import upgrade
from obrolan.privacy import backups
from obrolan.services import build_services, keystore_location

_T = TypeVar("_T")


@backup_app.command("create")
def backup_create() -> None:
    """Write an encrypted data backup, and an encrypted copy of the key store in keys/.

    The data backup never holds the key store (R4). Safe while the server runs.
    """
    settings = load_settings()
    with reported_errors(settings.resolved_database_url):
        created = asyncio.run(
            _with_keystore(settings, lambda ks: backups.create_backup(settings, ks, Clock().now()))
        )
    for backup in (created.data, created.keys):
        console.print(f"wrote {backup.kind} backup {escape(str(backup.path))}", soft_wrap=True)
    for backup in created.pruned:
        console.print(f"deleted expired {escape(backup.path.name)}", soft_wrap=True)


@backup_app.command("list")
def backup_list() -> None:
    """List backups: when each was made, its size, kind, and when prune deletes it."""
    settings = load_settings()
    with reported_errors(settings.resolved_database_url):
        found = backups.list_backups(settings)
    table = Table("made (UTC)", "kind", "size", "pruned from", box=None)
    table.add_column("file", overflow="fold")
    for backup in found:
        table.add_row(
            f"{backup.created_at:%Y-%m-%d %H:%M:%S}",
            str(backup.kind),
            _size(backup.size),
            f"{backup.expires_at:%Y-%m-%d %H:%M:%S}",
            escape(backup.path.name),
        )
    console.print(table)


@backup_app.command("restore")
def backup_restore(
    name: Annotated[
        str,
        typer.Argument(metavar="FILE", help="A backup: its path, or its name in the backup dir."),
    ],
    keys: Annotated[
        bool,
        typer.Option(
            "--keys",
            help="FILE is a key-store copy: add its keys back to the key store (disaster"
            " recovery; brings back the keys of people erased since it was made).",
        ),
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
) -> None:
    """Restore a data backup in place of the database, keeping the current key store.

    Stop the server first (every node). People erased since the backup was made stay
    unreadable: their keys are not in the key store (R4); they are erased again at once.
    With --keys, restore a key-store copy instead.
    """
    settings = load_settings()
    with reported_errors(settings.resolved_database_url):
        path = backups.find(settings, name)
        if keys:
            err_console.print(
                "[yellow]warning:[/yellow] keys of people erased after this copy was made come"
                " back with it; restore it only after losing the key store (R4)",
                soft_wrap=True,
            )
        what = "add the keys of" if keys else "replace the database with"
        if not yes and not typer.confirm(f"{what} {path.name}?"):
            fail("nothing restored")
        if keys:
            added = asyncio.run(
                _with_keystore(settings, lambda ks: backups.restore_keys(settings, ks, path))
            )
            console.print(f"restored {added} keys from {escape(path.name)}", soft_wrap=True)
        else:
            backups.restore_data(settings, path)
            erased = asyncio.run(_erase_again(settings))
            console.print(
                f"restored {escape(path.name)}; erased again {len(erased)} people erased"
                " since it was made; start the server",
                soft_wrap=True,
            )


@backup_app.command("prune")
def backup_prune(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only print what would be deleted.")
    ] = False,
) -> None:
    """Delete backups past their retention: data after 90 days (R5), key-store copies
    after the erasure deadline less its grace and two sweeps, 22 days 22 hours (R4)."""
    settings = load_settings()
    with reported_errors(settings.resolved_database_url):
        result = backups.prune_backups(settings, Clock().now(), dry_run=dry_run)
    verb = "would delete" if dry_run else "deleted"
    for backup in result.deleted:
        console.print(f"{verb} {backup.kind} backup {escape(backup.path.name)}", soft_wrap=True)
    console.print(f"{len(result.deleted)} {verb}, {len(result.kept)} kept", soft_wrap=True)


async def _erase_again(settings: Settings) -> list[str]:
    """Bring the restored database to the newest schema, then erase again the people
    erased since the backup was made (their keys are gone): R4 holds after a restore."""
    await upgrade(settings.resolved_database_url, keystore_url=settings.keystore_url)
    services = build_services(settings)
    try:
        return await services.erasure.erase_keyless()
    finally:
        await services.close()


async def _with_keystore(settings: Settings, call: Callable[[KeyStore], Awaitable[_T]]) -> _T:
    keystore = KeyStore(keystore_location(settings))
    try:
        return await call(keystore)
    finally:
        await keystore.dispose()


def _size(size: int) -> str:
    scaled = float(size)
    for unit in ("B", "KiB", "MiB"):
        if scaled < 1024:
            return f"{size} B" if unit == "B" else f"{scaled:.1f} {unit}"
        scaled /= 1024
    return f"{scaled:.1f} GiB"
