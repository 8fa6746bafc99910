"""FastAPI dependencies: the running services, the authenticated principal, URL checks."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from obrolan.accounts.principal import Principal
from obrolan.api.inputs import NUL, NUL_MESSAGE
from obrolan.errors import Invalid, Unauthenticated
from obrolan.services import Services

_bearer = HTTPBearer(auto_error=False, description="A token from POST /api/v1/sessions")


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


async def get_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthenticated("send 'Authorization: Bearer <token>'")
    principal = await get_services(request).accounts.authenticate(credentials.credentials)
    request.state.principal = principal
    return principal


def client_address(request: Request) -> str | None:
    """The client's IP address, or None when the server was not told (a Unix socket).

    Behind a proxy listed in OBROLAN_TRUSTED_PROXIES this is the address it forwarded:
    uvicorn rewrites the connection's address from X-Forwarded-For for those only
    (`obrolan.cli.uvicorn_options`), and ignores the header from anyone else.
    """
    return request.client.host if request.client and request.client.host else None


def refuse_nul_in_url(request: Request) -> None:
    """A NUL in a path or query parameter is a 422 naming it, before any route reads it.

    Request bodies get the same rule from `obrolan.api.inputs.RequestBody`.
    """
    for name, value in [*request.path_params.items(), *request.query_params.multi_items()]:
        if NUL in name:
            raise Invalid(f"a query parameter's name: {NUL_MESSAGE}")
        if NUL in value:
            raise Invalid(f"{name}: {NUL_MESSAGE}", field=name)


ServicesDep = Annotated[Services, Depends(get_services)]
PrincipalDep = Annotated[Principal, Depends(get_principal)]
