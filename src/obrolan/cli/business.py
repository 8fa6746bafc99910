"""`obrolan business create|list|add-number|create-token|tokens|revoke-token`: business
accounts, their sender numbers and system tokens, for operators (F10)."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from obrolan.accounts import store as accounts_store
from obrolan.accounts.principal import Principal
from obrolan.admin import OPERATOR
from obrolan.business import store as business_store
from obrolan.cli._common import (
    business_app,
    console,
    load_settings,
    reported_errors,
    with_services,
)
from obrolan.errors import NotFound
from obrolan.services import Services

BusinessId = Annotated[str, typer.Argument(metavar="BUSINESS_ID", help="The business (WABA) id.")]


@business_app.command("create")
def business_create(
    name: Annotated[str, typer.Argument(help="The business's name.")],
    owner: Annotated[str, typer.Option(metavar="USERNAME", help="Who owns it.")],
) -> None:
    """Create a business account owned by a person; prints its id (the WABA id)."""
    settings = load_settings()

    async def create(services: Services) -> str:
        async with services.db.read() as conn:
            person = await accounts_store.user_by_username(conn, owner.lower())
        if person is None:
            raise NotFound(f"no account is called {owner!r}", field="owner")
        made = await services.business.create(Principal(person.id, ""), {"name": name})
        return made.id

    with reported_errors(settings.resolved_database_url):
        business_id = asyncio.run(with_services(settings, create))
    console.print(business_id, soft_wrap=True)


@business_app.command("list")
def business_list() -> None:
    """Every business account, oldest first, with its sender numbers."""
    settings = load_settings()

    async def every(services: Services) -> list[tuple[str, str, list[str]]]:
        async with services.db.read() as conn:
            found = []
            for row in await business_store.all_businesses(conn):
                numbers = await business_store.numbers_of(conn, row.id)
                found.append((row.id, row.name, [n.display_phone_number for n in numbers]))
        return found

    with reported_errors(settings.resolved_database_url):
        rows = asyncio.run(with_services(settings, every))
    table = Table("id", "name", "numbers", box=None)
    for business_id, name, numbers in rows:
        table.add_row(business_id, escape(name), ", ".join(numbers))
    console.print(table)


@business_app.command("add-number")
def business_add_number(
    business_id: BusinessId,
    phone: Annotated[str, typer.Argument(help="The sender number, with its country code.")],
    verified_name: Annotated[
        str | None,
        typer.Option("--name", help="The name shown in chats (default: the business's)."),
    ] = None,
) -> None:
    """Add a sender number; prints its phone_number_id."""
    settings = load_settings()
    with reported_errors(settings.resolved_database_url):
        number = asyncio.run(
            with_services(
                settings,
                lambda s: s.business.add_number(OPERATOR, business_id, phone, verified_name),
            )
        )
    console.print(f"{number.id} ({number.display_phone_number})", soft_wrap=True)


@business_app.command("create-token")
def business_create_token(
    business_id: BusinessId,
    name: Annotated[str, typer.Argument(help="What the token is for, e.g. 'kasir'.")],
) -> None:
    """Make a system access token for the Cloud API; it is printed once, never again."""
    settings = load_settings()
    with reported_errors(settings.resolved_database_url):
        made = asyncio.run(
            with_services(settings, lambda s: s.business.create_token(OPERATOR, business_id, name))
        )
    console.print(made.secret, soft_wrap=True)


@business_app.command("tokens")
def business_tokens(business_id: BusinessId) -> None:
    """The business's tokens (never their secrets), revoked ones too."""
    settings = load_settings()
    with reported_errors(settings.resolved_database_url):
        rows = asyncio.run(
            with_services(settings, lambda s: s.business.tokens(OPERATOR, business_id))
        )
    table = Table("id", "name", "created", "last used", "revoked", box=None)
    for row in rows:
        table.add_row(
            row.id,
            escape(row.name),
            f"{row.created_at:%Y-%m-%d %H:%M}",
            f"{row.last_used_at:%Y-%m-%d %H:%M}" if row.last_used_at else "",
            f"{row.revoked_at:%Y-%m-%d %H:%M}" if row.revoked_at else "",
        )
    console.print(table)


@business_app.command("revoke-token")
def business_revoke_token(
    business_id: BusinessId,
    token_id: Annotated[str, typer.Argument(metavar="TOKEN_ID")],
) -> None:
    """Revoke a token: it answers 190 from now on."""
    settings = load_settings()
    with reported_errors(settings.resolved_database_url):
        asyncio.run(
            with_services(
                settings, lambda s: s.business.revoke_token(OPERATOR, business_id, token_id)
            )
        )
    console.print(f"revoked {token_id}", soft_wrap=True)
