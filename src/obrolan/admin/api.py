"""Administration routes under /api/v1/admin: parse, call AdminService, shape the answer.

Whether the caller is a site administrator is decided by the service, not here.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from obrolan.accounts.rules import USERNAME_MAX
from obrolan.admin.schemas import AdminAccountOut, AdminAccountPage
from obrolan.api.deps import PrincipalDep, ServicesDep

router = APIRouter(prefix="/admin", tags=["administration"])

_PROBLEM: dict[str, Any] = {"content": {"application/problem+json": {}}}
_NOT_AN_ADMIN = {"description": "not-an-admin: the caller is not a site administrator", **_PROBLEM}
Id = Annotated[str, Path(max_length=26)]


@router.get("/users", responses={403: _NOT_AN_ADMIN})
async def list_accounts(
    principal: PrincipalDep,
    services: ServicesDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    after: Annotated[str | None, Query(max_length=USERNAME_MAX)] = None,
) -> AdminAccountPage:
    """Every account, open and closed, by username."""
    page = await services.admin.list_accounts(principal, after=after, limit=limit)
    return AdminAccountPage(
        users=[AdminAccountOut.model_validate(a) for a in page.accounts], next=page.next
    )


@router.post(
    "/users/{user_id}/close",
    responses={
        403: {"description": "not-an-admin, or own-account", **_PROBLEM},
        404: {"description": "no such person", **_PROBLEM},
    },
)
async def close_account(
    user_id: Id, principal: PrincipalDep, services: ServicesDep
) -> AdminAccountOut:
    """Close an account: its sessions end and it can no longer sign in."""
    account = await services.admin.close_account(principal, user_id)
    return AdminAccountOut.model_validate(account)


@router.delete(
    "/rooms/{room_id}",
    status_code=204,
    responses={403: _NOT_AN_ADMIN, 404: {"description": "no public room has this id", **_PROBLEM}},
)
async def remove_room(room_id: Id, principal: PrincipalDep, services: ServicesDep) -> None:
    """Remove a public room and its messages for everyone."""
    await services.admin.remove_room(principal, room_id)
