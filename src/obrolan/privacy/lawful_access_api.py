"""Lawful access routes under /api/v1/admin/lawful-access (R7): parse, call, shape.

Who may do what is decided by LawfulAccessService; the router-wide dependency asks it
first, so someone who is not an operator is refused before a body is even read.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query

from obrolan.api.deps import PrincipalDep, ServicesDep
from obrolan.api.inputs import POSITION_MAX
from obrolan.privacy.audit_schemas import (
    DecideLawfulAccess,
    FileLawfulAccess,
    LawfulAccessOut,
    LawfulAccessPage,
    LawfulMessageOut,
    LawfulMessagePage,
)
from obrolan.privacy.lawful_access_rules import LawfulAccessStatus

_PROBLEM: dict[str, Any] = {"content": {"application/problem+json": {}}}


def _problems(**described: str) -> dict[int | str, dict[str, Any]]:
    return {int(code[1:]): {"description": text, **_PROBLEM} for code, text in described.items()}


def _operator(principal: PrincipalDep, services: ServicesDep) -> None:
    services.lawful_access.require_operator(principal)


router = APIRouter(
    prefix="/admin/lawful-access",
    tags=["administration"],
    dependencies=[Depends(_operator)],
)
RequestId = Annotated[str, Path(max_length=26)]
_NOT_AN_ADMIN = "not-an-admin: the caller is not a site administrator"


@router.post(
    "",
    status_code=201,
    responses=_problems(
        s403=_NOT_AN_ADMIN,
        s404="not-found: a named room does not exist",
        s422="invalid: a field, the window or the hold is out of bounds",
    ),
)
async def file_request(
    body: FileLawfulAccess, principal: PrincipalDep, services: ServicesDep
) -> LawfulAccessOut:
    """File a request to read named rooms; a second operator decides it."""
    row = await services.lawful_access.file(
        principal,
        reason=body.reason,
        legal_basis=body.legal_basis,
        room_ids=body.room_ids,
        starts_at=body.starts_at,
        ends_at=body.ends_at,
        hold_until=body.hold_until,
    )
    return LawfulAccessOut.model_validate(row)


@router.get("", responses=_problems(s403=_NOT_AN_ADMIN))
async def list_requests(
    principal: PrincipalDep,
    services: ServicesDep,
    status: LawfulAccessStatus | None = None,
    before: Annotated[str | None, Query(max_length=26)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
) -> LawfulAccessPage:
    """Requests, newest first, optionally of one status."""
    rows, following = await services.lawful_access.list_requests(
        principal, status=status, before=before, limit=limit
    )
    return LawfulAccessPage(
        requests=[LawfulAccessOut.model_validate(r) for r in rows], next=following
    )


@router.get(
    "/{request_id}", responses=_problems(s403=_NOT_AN_ADMIN, s404="not-found: no such request")
)
async def get_request(
    request_id: RequestId, principal: PrincipalDep, services: ServicesDep
) -> LawfulAccessOut:
    return LawfulAccessOut.model_validate(await services.lawful_access.get(principal, request_id))


_DECISION_PROBLEMS = _problems(
    s403=f"{_NOT_AN_ADMIN}; own-request: the operator filed it and cannot decide it",
    s404="not-found: no such request",
    s409="not-pending: already decided, or its window has ended (then it expires)",
)


@router.post("/{request_id}/approve", responses=_DECISION_PROBLEMS)
async def approve_request(
    request_id: RequestId,
    principal: PrincipalDep,
    services: ServicesDep,
    body: DecideLawfulAccess | None = None,
) -> LawfulAccessOut:
    """Approve a pending request filed by another operator."""
    row = await services.lawful_access.approve(principal, request_id, body.note if body else None)
    return LawfulAccessOut.model_validate(row)


@router.post("/{request_id}/refuse", responses=_DECISION_PROBLEMS)
async def refuse_request(
    request_id: RequestId,
    principal: PrincipalDep,
    services: ServicesDep,
    body: DecideLawfulAccess | None = None,
) -> LawfulAccessOut:
    """Refuse a pending request filed by another operator."""
    row = await services.lawful_access.refuse(principal, request_id, body.note if body else None)
    return LawfulAccessOut.model_validate(row)


@router.get(
    "/{request_id}/rooms/{room_id}/messages",
    responses=_problems(
        s403=f"{_NOT_AN_ADMIN}; lawful-access-required: no approved, current request of"
        " the caller's names this room (the attempt is recorded)",
        s404="not-found: the room no longer exists",
    ),
)
async def read_messages(
    request_id: RequestId,
    room_id: Annotated[str, Path(max_length=26)],
    principal: PrincipalDep,
    services: ServicesDep,
    before: Annotated[
        int | None, Query(ge=0, le=POSITION_MAX, description="older than this position")
    ] = None,
    after: Annotated[
        int | None, Query(ge=0, le=POSITION_MAX, description="newer than this position")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
) -> LawfulMessagePage:
    """A page of a named room's messages, oldest first, as its history reads; recorded."""
    page = await services.lawful_access.read_messages(
        principal, request_id, room_id, before=before, after=after, limit=limit
    )
    return LawfulMessagePage(
        messages=[LawfulMessageOut.model_validate(m) for m in page.messages],
        has_more=page.has_more,
    )
