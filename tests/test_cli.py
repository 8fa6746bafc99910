"""The `obrolan` command: version, migrate, admin create-user, and a real `serve`."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
from typer.testing import CliRunner, Result

from obrolan import __version__
from obrolan.cli import app, redact
from obrolan.config import Settings
from obrolan.crypto import fingerprint
from obrolan.crypto.kek import decode_kek
from tests.support.factories import login
from tests.support.server import RunningServer, free_port

KEK = base64.b64encode(b"k" * 32).decode()


def _env(data_dir: Path, **extra: str) -> dict[str, str | None]:
    """Settings for one CLI run: a fresh data dir, and nothing from the caller's OBROLAN_*."""
    env: dict[str, str | None] = {k: None for k in os.environ if k.startswith("OBROLAN_")}
    env.update({"OBROLAN_DATA_DIR": str(data_dir), "OBROLAN_KEK": KEK, **extra})
    return env


def _invoke(args: list[str], env: dict[str, str | None], stdin: str | None = None) -> Result:
    return CliRunner().invoke(app, args, env=env, input=stdin)


def _assert_one_line_error(result: Result) -> None:
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert result.stderr.startswith("error: ")
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_version_prints_package_version() -> None:
    result = _invoke(["version"], env={})

    assert result.exit_code == 0
    assert result.stdout.strip() == __version__


def test_migrate_creates_tables_in_data_dir(tmp_path: Path) -> None:
    result = _invoke(["migrate"], _env(tmp_path))

    assert result.exit_code == 0, result.output
    assert str(tmp_path / "obrolan.db") in result.stdout
    with sqlite3.connect(tmp_path / "obrolan.db") as db:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"alembic_version", "users", "rooms", "messages", "events"} <= tables
    # The wrapped data keys are in the key store beside it, not in the database (R4).
    assert "user_keys" not in tables
    with sqlite3.connect(tmp_path / "keys.db") as keys:
        tables = {
            row[0] for row in keys.execute("SELECT name FROM sqlite_master WHERE type='table'")
        }
    assert tables == {"data_keys"}


def test_migrate_is_repeatable(tmp_path: Path) -> None:
    assert _invoke(["migrate"], _env(tmp_path)).exit_code == 0
    assert _invoke(["migrate"], _env(tmp_path)).exit_code == 0


def test_printed_database_url_hides_password() -> None:
    shown = redact("postgresql+asyncpg://obrolan:s3cret@db.internal:5432/obrolan")

    assert "s3cret" not in shown
    assert shown == "postgresql+asyncpg://obrolan:***@db.internal:5432/obrolan"


async def test_admin_create_user_can_then_log_in(tmp_path: Path) -> None:
    env = _env(tmp_path)
    assert (await asyncio.to_thread(_invoke, ["migrate"], env)).exit_code == 0

    result = await asyncio.to_thread(
        _invoke,
        [
            "admin",
            "create-user",
            "ratna",
            "--display-name",
            "Ratna Sari",
            "--email",
            "ratna@example.com",
            "--admin",
            "--password-stdin",
        ],
        env,
        "kata sandi yang panjang sekali\n",
    )

    assert result.exit_code == 0, result.output
    assert "ratna" in result.stdout
    assert "kata sandi" not in result.output
    settings = Settings(
        data_dir=tmp_path,
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'obrolan.db'}",
        kek=KEK,
        log_level="warning",
    )
    server = RunningServer(settings=settings, clock=None)
    await server.start()
    try:
        token = await login(server, "ratna", "kata sandi yang panjang sekali")
        async with server.http(token) as http:
            me = await http.get("/api/v1/me")
        assert me.status_code == 200, me.text
        assert me.json()["username"] == "ratna"
    finally:
        await server.stop()


async def test_admin_create_user_taken_username_is_one_red_line(tmp_path: Path) -> None:
    env = _env(tmp_path)
    assert (await asyncio.to_thread(_invoke, ["migrate"], env)).exit_code == 0
    args = ["admin", "create-user", "budi", "--password-stdin"]
    first = await asyncio.to_thread(_invoke, args, env, "kata sandi yang panjang sekali\n")
    assert first.exit_code == 0, first.output

    again = await asyncio.to_thread(_invoke, args, env, "kata sandi yang panjang sekali\n")

    _assert_one_line_error(again)


async def test_admin_create_user_asks_for_the_password_twice(tmp_path: Path) -> None:
    env = _env(tmp_path)
    assert (await asyncio.to_thread(_invoke, ["migrate"], env)).exit_code == 0
    password = "kata sandi yang panjang sekali"

    result = await asyncio.to_thread(
        _invoke, ["admin", "create-user", "wulan"], env, f"{password}\n{password}\n"
    )

    assert result.exit_code == 0, result.output
    assert "created user wulan" in result.stdout
    assert password not in result.output


def test_bad_setting_is_one_red_line(tmp_path: Path) -> None:
    result = _invoke(["migrate"], _env(tmp_path, OBROLAN_PORT="delapan ribu"))

    _assert_one_line_error(result)
    assert "OBROLAN_PORT" in result.stderr


def test_admin_create_user_with_unusable_key_is_one_red_line(tmp_path: Path) -> None:
    env = _env(tmp_path, OBROLAN_KEK="not a key")

    result = _invoke(["admin", "create-user", "sari", "--password-stdin"], env, "secret\n")

    _assert_one_line_error(result)
    assert "key-encryption key" in result.stderr


def test_admin_create_user_needs_a_password_on_stdin(tmp_path: Path) -> None:
    result = _invoke(["admin", "create-user", "sari", "--password-stdin"], _env(tmp_path), "")

    _assert_one_line_error(result)


def test_r6_serve_migrates_generates_key_and_logs_json_without_it(tmp_path: Path) -> None:
    """A fresh `obrolan serve` just works: it migrates, makes a key file, serves, stops."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("OBROLAN_")}
    env.update(OBROLAN_DATA_DIR=str(tmp_path / "var"), OBROLAN_LOG_LEVEL="info")
    stdout_path, stderr_path = tmp_path / "stdout.log", tmp_path / "stderr.log"
    command = [str(Path(sys.executable).parent / "obrolan"), "serve", "--port", str(port)]
    with stdout_path.open("wb") as out, stderr_path.open("wb") as err:
        process = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=out, stderr=err)  # noqa: S603
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=2) as http:
                _wait_until_ok(http, "/healthz", process, stderr_path)
                assert http.get("/readyz").status_code == 200
                answer = http.get("/healthz", headers={"X-Request-Id": "cli-test-1"})
                assert answer.headers["x-request-id"] == "cli-test-1"
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    # uvicorn re-raises the signal it stopped on, once it has shut down cleanly.
    assert process.returncode in (0, -signal.SIGTERM), stderr_path.read_text()

    kek_file = tmp_path / "var" / "kek.key"
    assert kek_file.stat().st_mode & 0o777 == 0o600
    key_text = kek_file.read_text().strip()
    stdout, stderr = stdout_path.read_text(), stderr_path.read_text()
    assert key_text not in stdout and key_text not in stderr

    lines = [json.loads(line) for line in stdout.splitlines() if line.strip()]
    requests = [line for line in lines if line.get("event") == "request"]
    assert {"/healthz", "/readyz"} <= {line["path"] for line in requests}
    assert all(line["request_id"] for line in requests)
    assert any(line["request_id"] == "cli-test-1" for line in requests)
    fingerprints = [line["fingerprint"] for line in lines if "fingerprint" in line]
    assert fingerprints == [fingerprint(decode_kek(key_text))]
    assert "Application shutdown complete." in {line["event"] for line in lines}
    assert (tmp_path / "var" / "obrolan.db").exists()


def _wait_until_ok(
    http: httpx.Client, path: str, process: subprocess.Popen[bytes], stderr_path: Path
) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert process.poll() is None, f"obrolan serve exited: {stderr_path.read_text()}"
        try:
            if http.get(path).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"{path} did not answer 200 within 30 s")


UNREACHABLE_POSTGRES = "postgresql+asyncpg://postgres@127.0.0.1:1/x"


def test_unreachable_database_is_one_red_line_for_migrate(tmp_path: Path) -> None:
    result = _invoke(["migrate"], _env(tmp_path, OBROLAN_DATABASE_URL=UNREACHABLE_POSTGRES))

    _assert_one_line_error(result)
    assert "cannot reach the database at postgresql+asyncpg://postgres@127.0.0.1:1/x" in (
        result.stderr
    )


def test_missing_postgres_database_is_one_red_line(tmp_path: Path) -> None:
    url = "postgresql+asyncpg://postgres@127.0.0.1:5432/obrolan_no_such_database"
    result = _invoke(["migrate"], _env(tmp_path, OBROLAN_DATABASE_URL=url))

    _assert_one_line_error(result)


def _run_obrolan(args: list[str], env: dict[str, str | None]) -> subprocess.CompletedProcess[str]:
    """The installed `obrolan` command in its own process, as an operator runs it."""
    real_env = {k: v for k, v in os.environ.items() if not k.startswith("OBROLAN_")}
    real_env.update({k: v for k, v in env.items() if v is not None})
    command = [str(Path(sys.executable).parent / "obrolan"), *args]
    return subprocess.run(  # noqa: S603
        command, env=real_env, capture_output=True, text=True, timeout=60, check=False
    )


def test_serve_with_unreachable_database_is_one_red_line(tmp_path: Path) -> None:
    env = _env(tmp_path, OBROLAN_DATABASE_URL=UNREACHABLE_POSTGRES)
    for args in (["serve"], ["serve", "--no-migrate"]):
        done = _run_obrolan(args, env)

        assert done.returncode == 1, done.stderr
        assert done.stderr.startswith("error: cannot reach the database"), done.stderr
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr
        assert "Traceback" not in done.stdout + done.stderr


def test_unknown_database_driver_is_one_red_line(tmp_path: Path) -> None:
    result = _invoke(["migrate"], _env(tmp_path, OBROLAN_DATABASE_URL="mysql://db/obrolan"))

    _assert_one_line_error(result)
    assert "OBROLAN_DATABASE_URL" in result.stderr


def test_bogus_log_level_is_one_red_line(tmp_path: Path) -> None:
    result = _invoke(["serve"], _env(tmp_path, OBROLAN_LOG_LEVEL="bogus"))

    _assert_one_line_error(result)
    assert "OBROLAN_LOG_LEVEL" in result.stderr


def test_sqlite_synchronous_takes_only_sqlites_words(tmp_path: Path) -> None:
    refused = _invoke(["migrate"], _env(tmp_path, OBROLAN_SQLITE_SYNCHRONOUS="FULL; DROP"))
    _assert_one_line_error(refused)
    assert "OBROLAN_SQLITE_SYNCHRONOUS" in refused.stderr

    for value in ("off", "Normal", "FULL", "extra"):
        assert Settings(sqlite_synchronous=value).sqlite_synchronous == value.upper()


def test_serve_help_is_readable_and_shows_defaults() -> None:
    result = _invoke(["serve", "--help"], env={})

    assert result.exit_code == 0, result.output
    text = " ".join(result.stdout.split())  # as wide as the terminal: unwrap
    assert "[default: OBROLAN_HOST or 127.0.0.1]" in text
    assert "[default: migrate]" in text
    for typer_metavar in ("<bool>", "<str>", "<int>"):
        assert typer_metavar not in result.stdout


def test_make_run_migrates_once() -> None:
    """`obrolan serve` migrates by itself, so `make run` must not migrate first."""
    root = Path(__file__).resolve().parent.parent
    done = subprocess.run(
        ["make", "-n", "run"],  # noqa: S607
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    )
    commands = [line for line in done.stdout.splitlines() if "bin/obrolan" in line]
    migrations = [
        c for c in commands if " migrate" in c or (" serve" in c and "--no-migrate" not in c)
    ]
    assert len(migrations) == 1, commands


async def test_admin_list_users_and_close_user(tmp_path: Path) -> None:
    env = _env(tmp_path)
    assert (await asyncio.to_thread(_invoke, ["migrate"], env)).exit_code == 0
    password = "kata sandi yang panjang sekali\n"
    for args in (["ratna", "--admin"], ["budi"]):
        made = await asyncio.to_thread(
            _invoke, ["admin", "create-user", *args, "--password-stdin"], env, password
        )
        assert made.exit_code == 0, made.output

    listed = await asyncio.to_thread(_invoke, ["admin", "list-users"], env)
    closed = await asyncio.to_thread(_invoke, ["admin", "close-user", "BUDI"], env)
    after = await asyncio.to_thread(_invoke, ["admin", "list-users"], env)
    nobody = await asyncio.to_thread(_invoke, ["admin", "close-user", "siapa"], env)

    assert listed.exit_code == 0, listed.output
    rows = {line.split()[0]: line.split() for line in listed.stdout.splitlines()[1:]}
    assert rows["ratna"][2] == "administrator" and rows["budi"][2] == "user"
    assert len(rows["budi"]) == 5  # not closed: no closing time
    assert closed.exit_code == 0, closed.output
    assert "closed budi" in closed.stdout
    closed_rows = {line.split()[0]: line.split() for line in after.stdout.splitlines()[1:]}
    assert len(closed_rows["budi"]) == 7 and len(closed_rows["ratna"]) == 5
    _assert_one_line_error(nobody)


def test_serve_with_several_workers_needs_postgresql_and_redis(tmp_path: Path) -> None:
    """Each worker serves its own sockets: without Redis between them, events would stop
    at the process that committed them; a SQLite file has one writer."""
    on_sqlite = _invoke(["serve", "--workers", "2"], _env(tmp_path))
    _assert_one_line_error(on_sqlite)
    assert "--workers" in on_sqlite.stderr
    no_broker = _invoke(
        ["serve", "--workers", "2"],
        _env(tmp_path, OBROLAN_DATABASE_URL="postgresql+asyncpg://postgres@127.0.0.1:5432/x"),
    )
    _assert_one_line_error(no_broker)
    assert "OBROLAN_BROKER=redis" in no_broker.stderr
