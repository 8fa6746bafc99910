"""What every `obrolan` command shares: the Typer apps, settings, one-line errors."""

from __future__ import annotations

import socket
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, NoReturn, TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, ProgrammingError

from obrolan.config import Settings
from obrolan.crypto import KekError
from obrolan.errors import ObrolanError
from obrolan.privacy.dumps import BackupError

if TYPE_CHECKING:
    from obrolan.services import Services

T = TypeVar("T")

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
backup_app = typer.Typer(
    help="Make, list, restore and prune encrypted backups (R4, R5).",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(admin_app, name="admin")
app.add_typer(backup_app, name="backup")
app.add_typer(privacy_app, name="privacy")
app.add_typer(jobs_app, name="jobs")
audit_app = typer.Typer(
    help="Check the tamper-evident audit log.", no_args_is_help=True, rich_markup_mode=None
)
app.add_typer(audit_app, name="audit")
business_app = typer.Typer(
    help="Inspect business accounts' integrations.", no_args_is_help=True, rich_markup_mode=None
)
business_webhooks_app = typer.Typer(
    help="A business's webhook deliveries: the log, and sending events again.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
business_app.add_typer(business_webhooks_app, name="webhooks")
business_templates_app = typer.Typer(
    help="Review businesses' message templates.", no_args_is_help=True, rich_markup_mode=None
)
business_app.add_typer(business_templates_app, name="templates")
app.add_typer(business_app, name="business")

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
        fail(f"{exc.detail}{where}")
    except (KekError, BackupError) as exc:
        fail(str(exc))
    except (ConnectionError, TimeoutError, socket.gaierror) as exc:
        fail(f"cannot reach the database{at}: {exc}")
    except OSError as exc:
        fail(str(exc))
    except ProgrammingError as exc:
        fail(f"database error{at}: {exc.orig}; has `obrolan migrate` been run?")
    except DBAPIError as exc:
        fail(f"database error{at}: {exc.orig}")


def fail(message: str) -> NoReturn:
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
        fail(f"{name}: {first['msg'].removeprefix('Value error, ')}")


async def with_services(settings: Settings, call: Callable[[Services], Awaitable[T]]) -> T:
    """Run `call` with this installation's services, built for it and closed after."""
    from obrolan.services import build_services  # it imports most of obrolan

    services = build_services(settings)
    try:
        return await call(services)
    finally:
        await services.close()


def redact(url: str) -> str:
    """A database URL fit to print: any password is replaced by ***."""
    return make_url(url).render_as_string(hide_password=True)
