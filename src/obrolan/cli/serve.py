"""`obrolan version`, `obrolan migrate` and `obrolan serve`."""

from __future__ import annotations

import asyncio
import logging
import sys
from typing import Annotated, Any

import structlog
import typer
import uvicorn
from fastapi import FastAPI
from rich.markup import escape

from obrolan import __version__
from obrolan.app import create_app
from obrolan.cli._common import (
    GRACEFUL_SHUTDOWN_SECONDS,
    WS_PING_SECONDS,
    app,
    console,
    fail,
    load_settings,
    redact,
    reported_errors,
)
from obrolan.config import Settings
from obrolan.crypto import fingerprint, load_or_create_kek
from obrolan.crypto.keystore import KeyStore
from obrolan.db import Database
from obrolan.db.migrate import upgrade_sync
from obrolan.ops.logging import configure_logging
from obrolan.services import keystore_location


@app.command()
def version() -> None:
    """Print obrolan's version."""
    typer.echo(__version__)


# -- obrolan migrate -------------------------------------------------------------------


@app.command()
def migrate() -> None:
    """Bring the database and its key store up to the newest schema (alembic upgrade head).

    Keys kept in the database by an older version are moved into the key store (R4).
    """
    settings = load_settings()
    with reported_errors(settings.resolved_database_url):
        upgrade_sync(settings.resolved_database_url, keystore_url=settings.keystore_url)
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
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            metavar="N",
            help="Processes serving the one port; above 1 needs PostgreSQL and"
            " OBROLAN_BROKER=redis [default: 1]",
        ),
    ] = 1,
) -> None:
    """Serve the HTTP API and the WebSocket on one port."""
    settings = load_settings()
    host = host or settings.host
    port = port or settings.port
    if workers > 1 and (settings.is_sqlite or settings.broker != "redis"):
        # Each process serves its own sockets: only Redis carries events between them,
        # and a SQLite file has one writer.
        fail("--workers above 1 needs PostgreSQL and OBROLAN_BROKER=redis")
    configure_logging(settings.log_level, json=settings.log_json)
    _route_stdlib_logging(settings.log_level, json=settings.log_json)
    log = structlog.get_logger("obrolan.serve")

    with reported_errors(settings.resolved_database_url):
        if run_migrations:
            upgrade_sync(settings.resolved_database_url, keystore_url=settings.keystore_url)
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
        application = create_app(settings) if workers == 1 else None
    log.info(
        "listening",
        url=f"http://{host}:{port}",
        version=__version__,
        database=redact(settings.resolved_database_url),
        workers=workers,
    )
    uvicorn.run(
        # Several workers are separate processes: each builds its own app from the
        # same settings (the environment), through the factory below.
        application or f"{__name__}:worker_app",
        factory=application is None,
        workers=workers if application is None else None,
        host=host,
        port=port,
        log_config=None,  # _route_stdlib_logging set it up
        log_level=settings.log_level.lower(),
        **uvicorn_options(settings),
    )


def worker_app() -> FastAPI:
    """The application of one `serve --workers N` process, logging as `serve` does."""
    settings = Settings()
    configure_logging(settings.log_level, json=settings.log_json)
    _route_stdlib_logging(settings.log_level, json=settings.log_json)
    return create_app(settings)


async def _check_database(settings: Settings) -> None:
    db = Database(settings.resolved_database_url, sqlite_synchronous=settings.sqlite_synchronous)
    keystore = KeyStore(keystore_location(settings))
    try:
        await db.ping()
        await keystore.db.ping()
    finally:
        await db.dispose()
        await keystore.dispose()


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
