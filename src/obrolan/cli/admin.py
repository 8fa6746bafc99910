"""`obrolan admin`: create, list and close accounts."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from obrolan.accounts.records import Account
from obrolan.admin import OPERATOR
from obrolan.admin.records import AccountSummary
from obrolan.cli._common import (
    admin_app,
    console,
    fail,
    load_settings,
    reported_errors,
)
from obrolan.config import Settings
from obrolan.services import build_services


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
            fail("no password on standard input")
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
