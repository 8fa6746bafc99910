"""`obrolan`: serve, migrate, administer and inspect an obrolan installation.

Every command reads the same settings as the server (OBROLAN_* variables, `.env`).
Errors that a person can fix (a taken username, a bad key, an unreachable database)
end the command with one red line and exit code 1, never a traceback.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import sys
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from typing import Annotated, Any, NoReturn, TypeVar

import structlog
import typer
import uvicorn
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, ProgrammingError

from obrolan import __version__
from obrolan.accounts.records import Account
from obrolan.admin import OPERATOR
from obrolan.admin.records import AccountSummary
from obrolan.app import create_app
from obrolan.config import Settings
from obrolan.crypto import KekError, fingerprint, load_or_create_kek
from obrolan.db import Database
from obrolan.db.migrate import upgrade_sync
from obrolan.db.schema import metadata
from obrolan.errors import ObrolanError
from obrolan.jobs import JobState
from obrolan.ops.logging import configure_logging
from obrolan.privacy.datamap import build_data_map, find_problems, to_json, to_table
from obrolan.services import Services, build_services

# Plain help: Rich markup would read "[default: …]" in a help text as a markup tag and
# drop it. Options that take a value name it with a metavar (typer's own is "<str>").
app = typer.Typer(
    name="obrolan",
    help="Self-hosted chat that keeps its privacy promises in code.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
)
admin_app = typer.Typer(help="Administer accounts.", no_args_is_help=True, rich_markup_mode=None)
privacy_app = typer.Typer(
    help="Inspect how personal data is kept.", no_args_is_help=True, rich_markup_mode=None
)
jobs_app = typer.Typer(
    help="Inspect, retry and cancel background jobs.", no_args_is_help=True, rich_markup_mode=None
)
app.add_typer(admin_app, name="admin")
app.add_typer(privacy_app, name="privacy")
app.add_typer(jobs_app, name="jobs")

_T = TypeVar("_T")

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)

# Heartbeat of the WebSocket protocol (docs/protocol.md): ping every 20 s, close a
# connection that does not answer within 20 s.
WS_PING_SECONDS = 20.0
# On shutdown, open connections get this long to finish before they are closed.
GRACEFUL_SHUTDOWN_SECONDS = 5


@contextmanager
def reported_errors(database_url: str | None = None) -> Iterator[None]:
    """Turn errors a person can act on into a red line and exit code 1.

    Database errors surface where the first connection is made (in alembic's upgrade,
    or the first query) and come raw from the driver when it cannot connect at all.
    """
    at = f" at {redact(database_url)}" if database_url else ""
    try:
        yield
    except ObrolanError as exc:
        where = f" ({exc.field})" if exc.field else ""
        _fail(f"{exc.detail}{where}")
    except KekError as exc:
        _fail(str(exc))
    except (ConnectionError, TimeoutError, socket.gaierror) as exc:
        _fail(f"cannot reach the database{at}: {exc}")
    except OSError as exc:
        _fail(str(exc))
    except ProgrammingError as exc:
        _fail(f"database error{at}: {exc.orig}; has `obrolan migrate` been run?")
    except DBAPIError as exc:
        _fail(f"database error{at}: {exc.orig}")


def _fail(message: str) -> NoReturn:
    # One line, whatever the driver's message holds (PostgreSQL adds DETAIL and HINT lines).
    line = " ".join(message.split())
    err_console.print(f"[red]error:[/red] {escape(line)}", soft_wrap=True)
    raise typer.Exit(1)


def load_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        name = "OBROLAN_" + "_".join(str(p) for p in first["loc"]).upper()
        _fail(f"{name}: {first['msg'].removeprefix('Value error, ')}")


def redact(url: str) -> str:
    """A database URL fit to print: any password is replaced by ***."""
    return make_url(url).render_as_string(hide_password=True)


# -- obrolan version -------------------------------------------------------------------


@app.command()
def version() -> None:
    """Print obrolan's version."""
    typer.echo(__version__)


# -- obrolan migrate -------------------------------------------------------------------


@app.command()
def migrate() -> None:
    """Bring the database up to the newest schema (alembic upgrade head)."""
    settings = load_settings()
    with reported_errors(settings.resolved_database_url):
        upgrade_sync(settings.resolved_database_url)
    console.print(
        f"migrated {escape(redact(settings.resolved_database_url))} to the newest schema",
        soft_wrap=True,
    )


# -- obrolan serve ---------------------------------------------------------------------


@app.command()
def serve(
    host: Annotated[
        str | None,
        typer.Option(
            metavar="ADDRESS", help="Address to listen on [default: OBROLAN_HOST or 127.0.0.1]"
        ),
    ] = None,
    port: Annotated[
        int | None,
        typer.Option(metavar="PORT", help="Port to listen on [default: OBROLAN_PORT or 8000]"),
    ] = None,
    run_migrations: Annotated[
        bool,
        typer.Option("--migrate/--no-migrate", help="Apply database migrations before serving."),
    ] = True,
) -> None:
    """Serve the HTTP API and the WebSocket on one port."""
    settings = load_settings()
    host = host or settings.host
    port = port or settings.port
    configure_logging(settings.log_level, json=settings.log_json)
    _route_stdlib_logging(settings.log_level, json=settings.log_json)
    log = structlog.get_logger("obrolan.serve")

    with reported_errors(settings.resolved_database_url):
        if run_migrations:
            upgrade_sync(settings.resolved_database_url)
            log.info("migrated", database=redact(settings.resolved_database_url))
        else:
            # Fail here, in one line, rather than on the first request.
            asyncio.run(_check_database(settings))
        kek_file = settings.resolved_kek_file
        generated = not settings.kek and not kek_file.exists()
        kek = load_or_create_kek(settings.kek, kek_file)
        # R6: the key itself is never printed or logged, only its fingerprint.
        log.info(
            "key-encryption key",
            fingerprint=fingerprint(kek),
            source="OBROLAN_KEK" if settings.kek else str(kek_file),
        )
        if generated:
            log.warning(
                "generated a new key-encryption key: back it up apart from the database,"
                " without it every encrypted value is lost",
                path=str(kek_file),
            )
        application = create_app(settings)
    log.info(
        "listening",
        url=f"http://{host}:{port}",
        version=__version__,
        database=redact(settings.resolved_database_url),
    )
    uvicorn.run(
        application,
        host=host,
        port=port,
        log_config=None,  # _route_stdlib_logging set it up
        log_level=settings.log_level.lower(),
        **uvicorn_options(settings),
    )


async def _check_database(settings: Settings) -> None:
    db = Database(settings.resolved_database_url, sqlite_synchronous=settings.sqlite_synchronous)
    try:
        await db.ping()
    finally:
        await db.dispose()


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """How obrolan runs under uvicorn; the test server uses the same."""
    return {
        "loop": "uvloop",
        "http": "httptools",
        # The websockets library's sans-I/O implementation: uvicorn deprecates its
        # older "websockets" one, which it will point here in a future release.
        "ws": "websockets-sansio",
        # Frames over our own limit get an error frame and the socket lives on (see the
        # gateway); only far larger ones are refused by uvicorn, which closes the socket.
        "ws_max_size": 16 * settings.max_ws_frame_bytes,
        "ws_ping_interval": WS_PING_SECONDS,
        "ws_ping_timeout": WS_PING_SECONDS,
        "access_log": False,  # RequestIdMiddleware logs each request, with its request id
        "timeout_graceful_shutdown": GRACEFUL_SHUTDOWN_SECONDS,
        **_proxy_options(settings.trusted_proxies),
    }


def _proxy_options(trusted_proxies: str) -> dict[str, Any]:
    """Believe X-Forwarded-For only from OBROLAN_TRUSTED_PROXIES (R17: throttles key on it).

    Uvicorn's own default trusts 127.0.0.1 (or $FORWARDED_ALLOW_IPS): any local process,
    or a proxy that passes the header on unchecked, could then pick the address each
    request is throttled under. With no trusted proxy the header is not read at all.
    """
    proxies = ",".join(p.strip() for p in trusted_proxies.split(",") if p.strip())
    if not proxies:
        return {"proxy_headers": False}
    return {"proxy_headers": True, "forwarded_allow_ips": proxies}


def _route_stdlib_logging(level: str, *, json: bool) -> None:
    """Uvicorn's own lines (start-up, errors, shutdown) as ours: one format, on stdout."""
    renderer: Any = structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer()
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[
            structlog.contextvars.merge_contextvars,
            structlog.stdlib.add_logger_name,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
        ],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            renderer,
        ],
    )
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())


# -- obrolan admin ---------------------------------------------------------------------


@admin_app.command("create-user")
def create_user(
    username: Annotated[
        str, typer.Argument(metavar="USERNAME", help="The new account's username.")
    ],
    display_name: Annotated[
        str | None,
        typer.Option(metavar="NAME", help="Name shown to others [default: the username]"),
    ] = None,
    email: Annotated[
        str | None, typer.Option(metavar="EMAIL", help="Email address (optional).")
    ] = None,
    phone: Annotated[
        str | None, typer.Option(metavar="PHONE", help="Phone number (optional).")
    ] = None,
    is_admin: Annotated[
        bool, typer.Option("--admin/--no-admin", help="Make the account an administrator.")
    ] = False,
    password_stdin: Annotated[
        bool,
        typer.Option(
            "--password-stdin", help="Read the password from the first line of standard input."
        ),
    ] = False,
) -> None:
    """Create an account; the password is asked for (hidden) unless --password-stdin."""
    settings = load_settings()
    if password_stdin:
        password = typer.get_text_stream("stdin").readline().rstrip("\r\n")
        if not password:
            _fail("no password on standard input")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    with reported_errors(settings.resolved_database_url):
        account = asyncio.run(
            _register(
                settings,
                username=username,
                password=password,
                display_name=display_name or username,
                email=email,
                phone=phone,
                is_admin=is_admin,
            )
        )
    role = "administrator" if account.is_admin else "user"
    console.print(
        f"created {role} [bold]{escape(account.username)}[/bold] (id {account.id})", soft_wrap=True
    )


async def _register(
    settings: Settings,
    *,
    username: str,
    password: str,
    display_name: str,
    email: str | None,
    phone: str | None,
    is_admin: bool,
) -> Account:
    """Register one account through the accounts service, as sign-up over HTTP does."""
    services = build_services(settings)
    try:
        return await services.accounts.register(
            username=username,
            password=password,
            display_name=display_name,
            email=email,
            phone=phone,
            is_admin=is_admin,
        )
    finally:
        await services.close()


@admin_app.command("list-users")
def list_users() -> None:
    """List every account, open and closed, by username."""
    settings = load_settings()
    with reported_errors(settings.resolved_database_url):
        accounts = asyncio.run(_all_accounts(settings))
    table = Table("username", "id", "role", "created", "closed", box=None)
    for account in accounts:
        table.add_row(
            escape(account.username),
            account.id,
            "administrator" if account.is_admin else "user",
            f"{account.created_at:%Y-%m-%d %H:%M}",
            f"{account.closed_at:%Y-%m-%d %H:%M}" if account.closed_at else "",
        )
    console.print(table)


async def _all_accounts(settings: Settings) -> list[AccountSummary]:
    services = build_services(settings)
    try:
        accounts: list[AccountSummary] = []
        after = None
        while True:
            page = await services.admin.list_accounts(OPERATOR, after=after, limit=100)
            accounts.extend(page.accounts)
            if page.next is None:
                return accounts
            after = page.next
    finally:
        await services.close()


@admin_app.command("close-user")
def close_user(
    username: Annotated[str, typer.Argument(metavar="USERNAME", help="The account to close.")],
) -> None:
    """Close an account: it can no longer sign in, and its sessions end.

    Sockets that a running server holds open for it close when it is closed over the
    API; from here, its next request is refused.
    """
    settings = load_settings()
    with reported_errors(settings.resolved_database_url):
        account = asyncio.run(_close_account(settings, username))
    console.print(
        f"closed [bold]{escape(account.username)}[/bold] (id {account.id})", soft_wrap=True
    )


async def _close_account(settings: Settings, username: str) -> AccountSummary:
    services = build_services(settings)
    try:
        found = await services.admin.find_account(OPERATOR, username)
        return await services.admin.close_account(OPERATOR, found.id)
    finally:
        await services.close()


# -- obrolan privacy -------------------------------------------------------------------


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
    entries = [e for e in build_data_map(metadata) if include_system or e.personal]
    problems = find_problems(metadata)
    if output_format is MapFormat.json:
        typer.echo(to_json(entries, problems))
    else:
        console.print(to_table(entries))
        for problem in problems:
            err_console.print(f"[red]problem:[/red] {escape(str(problem))}", soft_wrap=True)
    if problems:
        raise typer.Exit(1)


# -- obrolan jobs ----------------------------------------------------------------------


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
