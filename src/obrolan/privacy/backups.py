"""Encrypted backups, kept apart from the key store, and their retention (R4, R5).

This lives with the privacy engine rather than in ops because what makes it more than a
copy is a privacy promise: a data backup never holds the key store, so erasing a
person's key makes them unreadable in every backup (R4); data backups are kept 90 days
(R5); and the key store's own copies, which an operator needs to survive a disk loss,
are kept no longer than the erasure deadline less its grace period and two sweep periods
(30 - 7 days - 2 hours by default), so that none outlives a key the erasure job destroys
when the grace ends.
The retention sweep calls `prune_backups`; `obrolan backup` (obrolan.cli.backup) calls
the rest.

Every file is AES-256-GCM encrypted in chunks (obrolan.crypto.files) under a backup key
derived from the KEK. Backups are named by the time they were made, which is also what
retention counts from, so listing and pruning need neither the KEK nor file times.
"""

from __future__ import annotations

import base64
import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import BinaryIO

from obrolan.config import Settings
from obrolan.crypto import DecryptionError
from obrolan.crypto.files import decrypt_file, encrypt_file, read_kind
from obrolan.crypto.kek import decode_kek
from obrolan.crypto.keyring import derive_key
from obrolan.crypto.keystore import KeyStore
from obrolan.privacy import dumps
from obrolan.privacy.dumps import BackupError

SUFFIX = ".obrbak"
KEYS_SUBDIR = "keys"
_STAMP = "%Y%m%dT%H%M%S%fZ"
# The kinds a file's header names (obrolan.crypto.files).
_SQLITE, _POSTGRES, _KEYS = 1, 2, 3


class BackupKind(StrEnum):
    data = "data"
    keys = "keys"


@dataclass(frozen=True, slots=True)
class Backup:
    """One backup file: what it holds, when it was made, when retention lets it go."""

    path: Path
    kind: BackupKind
    created_at: datetime
    size: int
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class PruneResult:
    deleted: list[Backup]
    kept: list[Backup]


@dataclass(frozen=True, slots=True)
class Created:
    data: Backup
    keys: Backup
    pruned: list[Backup]


# -- retention (pure) --------------------------------------------------------------------


def retention(settings: Settings, kind: BackupKind) -> timedelta:
    """How long a backup of `kind` is kept: 90 days for data (R5); for key-store copies,
    the erasure deadline less its grace and two sweeps (R4), so that none outlives an
    erasure: the erasure runs up to one sweep after the grace ends, and an expired copy
    is deleted by the sweep after it expires."""
    if kind is BackupKind.data:
        kept = timedelta(days=settings.privacy_backup_days)
    else:
        kept = timedelta(
            days=settings.privacy_erasure_deadline_days - settings.privacy_erasure_grace_days
        ) - 2 * timedelta(seconds=settings.retention_sweep_seconds)
    if kept < timedelta(days=1):
        raise BackupError(
            f"the retention of {kind} backups is {kept}: check OBROLAN_PRIVACY_BACKUP_DAYS,"
            " OBROLAN_PRIVACY_ERASURE_DEADLINE_DAYS, OBROLAN_PRIVACY_ERASURE_GRACE_DAYS and"
            " OBROLAN_RETENTION_SWEEP_SECONDS"
        )
    return kept


def due(backups: list[Backup], now: datetime) -> PruneResult:
    deleted = [b for b in backups if b.expires_at <= now]
    return PruneResult(deleted, [b for b in backups if b.expires_at > now])


# -- the service -------------------------------------------------------------------------


def backup_key(settings: Settings) -> bytes:
    """The backup key, derived from the KEK; never makes a new KEK (nothing to back up)."""
    if settings.kek:
        kek = decode_kek(settings.kek)
    elif settings.resolved_kek_file.exists():
        kek = decode_kek(settings.resolved_kek_file.read_text())
    else:
        raise BackupError(
            f"no key-encryption key: OBROLAN_KEK is empty and {settings.resolved_kek_file}"
            " does not exist"
        )
    return derive_key(kek, b"obrolan backups v1")


async def create_backup(settings: Settings, keystore: KeyStore, now: datetime) -> Created:
    """A data backup (without the key store) and a key-store copy, both encrypted.

    Key copies past their retention are deleted at once: they are the copies that could
    bring an erased person's key back (R4).
    """
    key = backup_key(settings)
    backup_dir = settings.resolved_backup_dir
    stamp = now.astimezone(UTC).strftime(_STAMP)
    data_path = backup_dir / f"data-{stamp}{SUFFIX}"
    keys_path = backup_dir / KEYS_SUBDIR / f"keys-{stamp}{SUFFIX}"
    kind = _SQLITE if settings.is_sqlite else _POSTGRES
    with _scratch(backup_dir) as plain:
        if settings.is_sqlite:
            dumps.dump_sqlite(settings.resolved_database_url, plain)
        else:
            dumps.dump_postgres(settings.resolved_database_url, plain)
        with plain.open("rb") as source:
            _write_encrypted(key, kind, source, data_path)
    with _scratch(backup_dir) as plain:
        plain.write_bytes(_export_keys(await keystore.all()))
        with plain.open("rb") as source:
            _write_encrypted(key, _KEYS, source, keys_path)
    pruned = prune_backups(settings, now, only=BackupKind.keys).deleted
    return Created(_describe(settings, data_path), _describe(settings, keys_path), pruned)


def list_backups(settings: Settings) -> list[Backup]:
    """Every backup in the backup dir, oldest first."""
    backup_dir = settings.resolved_backup_dir
    found = [
        *sorted(backup_dir.glob(f"data-*{SUFFIX}")),
        *sorted((backup_dir / KEYS_SUBDIR).glob(f"keys-*{SUFFIX}")),
    ]
    backups = []
    for path in found:
        try:
            backups.append(_describe(settings, path))
        except ValueError:
            continue  # not named as obrolan names its backups: not one of ours
    return sorted(backups, key=lambda b: (b.created_at, b.kind))


def prune_backups(
    settings: Settings, now: datetime, *, dry_run: bool = False, only: BackupKind | None = None
) -> PruneResult:
    """Delete the backups past their retention at `now` (R5 for data, R4 for key copies).

    For the retention sweep as much as for `obrolan backup prune`.
    """
    backups = [b for b in list_backups(settings) if only is None or b.kind is only]
    result = due(backups, now)
    if not dry_run:
        for backup in result.deleted:
            backup.path.unlink(missing_ok=True)
    return result


def restore_data(settings: Settings, path: Path) -> None:
    """Put a data backup in place of the database; the key store is left as it is (R4).

    The server must be stopped. The whole file is decrypted and checked before the
    database is touched: a damaged backup changes nothing.
    """
    key = backup_key(settings)
    kind = _SQLITE if settings.is_sqlite else _POSTGRES
    _check_kind(path, kind)
    if settings.is_sqlite:
        database = dumps.sqlite_path(settings.resolved_database_url)
        database.parent.mkdir(parents=True, exist_ok=True)
        with _scratch(database.parent) as plain:
            _read_encrypted(key, kind, path, plain)
            dumps.check_sqlite_copy(plain)
            dumps.restore_sqlite(plain, settings.resolved_database_url)
    else:
        with _scratch(path.parent) as plain:
            _read_encrypted(key, kind, path, plain)
            dumps.restore_postgres(plain, settings.resolved_database_url)


async def restore_keys(settings: Settings, keystore: KeyStore, path: Path) -> int:
    """Put a key-store copy's keys back into the key store (disaster recovery only).

    Keys already in the store are kept; keys missing from it are added, including any
    destroyed since the copy was made: restoring a copy older than an erasure undoes
    that erasure (R4). The number of keys added.
    """
    key = backup_key(settings)
    _check_kind(path, _KEYS)
    with _scratch(path.parent) as plain:
        _read_encrypted(key, _KEYS, path, plain)
        rows = _import_keys(plain.read_bytes())
    before = {uid for uid, _, _ in await keystore.all()}
    await keystore.insert_missing(rows)
    return len({uid for uid, _, _ in rows} - before)


def find(settings: Settings, name: str) -> Path:
    """A backup by path, or by file name in the backup dir (or its keys/)."""
    for candidate in (
        Path(name),
        settings.resolved_backup_dir / name,
        settings.resolved_backup_dir / KEYS_SUBDIR / name,
    ):
        if candidate.is_file():
            return candidate
    raise BackupError(f"no backup {name}")


# -- files ---------------------------------------------------------------------------------


def _describe(settings: Settings, path: Path) -> Backup:
    """The backup at `path`, from its name; ValueError if it is not named as ours."""
    kind_name, _, stamp = path.name.removesuffix(SUFFIX).partition("-")
    kind = BackupKind(kind_name)
    created_at = datetime.strptime(stamp, _STAMP).replace(tzinfo=UTC)
    return Backup(
        path, kind, created_at, path.stat().st_size, created_at + retention(settings, kind)
    )


@contextmanager
def _scratch(directory: Path) -> Iterator[Path]:
    """A private (0600) temporary file in `directory`, removed afterwards.

    Plain copies exist only here, for the time it takes to encrypt or restore them.
    """
    directory.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=directory, prefix=".obrolan-", suffix=".tmp")
    os.close(fd)
    try:
        yield Path(name)
    finally:
        Path(name).unlink(missing_ok=True)


def _write_encrypted(key: bytes, kind: int, source: BinaryIO, target: Path) -> None:
    """Encrypt into a temporary file, then link it into place: never a partial backup."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with _scratch(target.parent) as partial:
        with partial.open("wb") as out:
            encrypt_file(key, kind, source, out)
            out.flush()
            os.fsync(out.fileno())
        os.link(partial, target)  # fails if a backup of that name exists


def _read_encrypted(key: bytes, kind: int, path: Path, target: Path) -> None:
    try:
        with path.open("rb") as source, target.open("wb") as out:
            decrypt_file(key, kind, source, out)
    except DecryptionError as exc:
        raise BackupError(f"{path.name} cannot be restored: {exc}; nothing was changed") from exc


def _check_kind(path: Path, kind: int) -> None:
    names = {
        _SQLITE: "a SQLite data backup",
        _POSTGRES: "a PostgreSQL data backup",
        _KEYS: "a key-store copy",
    }
    try:
        with path.open("rb") as source:
            found = read_kind(source)
    except DecryptionError as exc:
        raise BackupError(f"{path.name} cannot be restored: {exc}; nothing was changed") from exc
    if found != kind:
        raise BackupError(
            f"{path.name} is {names.get(found, 'of an unknown kind')}, not {names[kind]}"
            " (use --keys for a key-store copy); nothing was changed"
        )


def _export_keys(rows: list[tuple[str, bytes, datetime]]) -> bytes:
    """The key store as JSON: each key still wrapped by the KEK, then the file encrypted."""
    return json.dumps(
        {
            "version": 1,
            "keys": [
                {
                    "user_id": uid,
                    "wrapped_key": base64.b64encode(wrapped).decode(),
                    "created_at": created_at.isoformat(),
                }
                for uid, wrapped, created_at in rows
            ],
        }
    ).encode()


def _import_keys(document: bytes) -> list[tuple[str, bytes, datetime]]:
    parsed = json.loads(document)
    if parsed.get("version") != 1:
        raise BackupError("unknown key-store copy version")
    return [
        (k["user_id"], base64.b64decode(k["wrapped_key"]), datetime.fromisoformat(k["created_at"]))
        for k in parsed["keys"]
    ]
