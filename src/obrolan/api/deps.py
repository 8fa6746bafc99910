"""FastAPI dependencies: the running services and the authenticated principal."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from obrolan.accounts.principal import Principal
from obrolan.errors import Unauthenticated
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


ServicesDep = Annotated[Services, Depends(get_services)]
PrincipalDep = Annotated[Principal, Depends(get_principal)]
