"""Plain copies of the main database, to be encrypted by obrolan.privacy.backups.

SQLite: the online backup API copies a consistent snapshot while the server runs (a
plain file copy can miss the WAL). PostgreSQL: `pg_dump --format=custom`, one snapshot,
without the key store's schema, and `pg_restore --clean --if-exists` in one transaction.
The key store is never part of these copies (R4).
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy.engine import URL, make_url

from obrolan.crypto.keystore import POSTGRES_SCHEMA


class BackupError(Exception):
    """A backup could not be made, read or restored."""


def sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up")
    return Path(database)


def dump_sqlite(url: str, target: Path) -> None:
    """A consistent copy of the SQLite database at `url`, as one file (no WAL) at `target`."""
    source = sqlite3.connect(sqlite_path(url))
    copy = sqlite3.connect(target)
    try:
        source.backup(copy)
        copy.execute("PRAGMA journal_mode=DELETE")
    finally:
        copy.close()
        source.close()


def check_sqlite_copy(path: Path) -> None:
    """Refuse a decrypted copy that is not a whole obrolan database."""
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        (integrity,) = db.execute("PRAGMA quick_check").fetchone()
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master")}
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"the backup does not hold a SQLite database: {exc}") from exc
    finally:
        db.close()
    if integrity != "ok" or "alembic_version" not in tables:
        raise BackupError("the backup does not hold a whole obrolan database")


def restore_sqlite(copy: Path, url: str) -> None:
    """Put the checked `copy` in place of the database at `url` (the server is stopped).

    The old database's WAL and shared-memory files go first: left beside the new file,
    SQLite would replay the old WAL into it.
    """
    database = sqlite_path(url)
    for suffix in ("-wal", "-shm"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    os.replace(copy, database)


def dump_postgres(url: str, target: Path) -> None:
    _run(
        "pg_dump",
        url,
        "--format=custom",
        f"--exclude-schema={POSTGRES_SCHEMA}",
        "--no-owner",
        f"--file={target}",
    )


def restore_postgres(copy: Path, url: str) -> None:
    # One transaction: if any statement fails, the database is left as it was.
    _run(
        "pg_restore", url, "--clean", "--if-exists", "--single-transaction", "--no-owner", str(copy)
    )


def _run(program: str, url: str, *arguments: str) -> None:
    """Run a PostgreSQL client on the database at `url`; its password by environment.

    The password goes in PGPASSWORD, never the command line (which `ps` shows).
    """
    parsed = make_url(url)
    conninfo = URL.create(
        "postgresql",
        username=parsed.username,
        host=parsed.host,
        port=parsed.port,
        database=parsed.database,
    ).render_as_string(hide_password=False)
    env = dict(os.environ)
    if parsed.password:
        env["PGPASSWORD"] = str(parsed.password)
    ssl = parsed.query.get("ssl")
    if isinstance(ssl, str):  # asyncpg's ssl= takes libpq's sslmode names
        env["PGSSLMODE"] = ssl
    try:
        # The program is pg_dump or pg_restore; the arguments come from settings.
        done = subprocess.run(  # noqa: S603
            [program, f"--dbname={conninfo}", *arguments],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
    except FileNotFoundError as exc:
        raise BackupError(
            f"{program} not found: install the PostgreSQL client of the server's major version"
        ) from exc
    if done.returncode != 0:
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        raise BackupError(f"{program} failed: {lines[0] if lines else done.returncode}")
