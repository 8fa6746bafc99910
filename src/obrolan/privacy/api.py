"""Privacy routes under /api/v1: my data requests, my data, and the operators' queue.

Who may do what is decided by PrivacyRequests (obrolan.privacy.requests), not here.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query

from obrolan.accounts.principal import Principal
from obrolan.api.deps import PrincipalDep, ServicesDep
from obrolan.privacy.requests import PrivacyRequest
from obrolan.privacy.rules import RequestStatus
from obrolan.privacy.schemas import (
    AccountStateOut,
    AuditEntryOut,
    CancelCode,
    CategoryOut,
    OperatorRequestOpen,
    PrivacyMeOut,
    QueueEntryOut,
    QueueOut,
    Rectification,
    RectifiedOut,
    Refusal,
    RequestList,
    RequestOpen,
    RequestOut,
    Resolution,
)

router = APIRouter(tags=["privacy"])

_PROBLEM: dict[str, Any] = {"content": {"application/problem+json": {}}}
Id = Annotated[str, Path(max_length=26)]


def _problems(**described: str) -> dict[int | str, dict[str, Any]]:
    return {int(code[1:]): {"description": text, **_PROBLEM} for code, text in described.items()}


def _out(request: PrivacyRequest) -> RequestOut:
    return RequestOut.model_validate(request)


def _queued(request: PrivacyRequest) -> QueueEntryOut:
    return QueueEntryOut.model_validate(request)


# -- the person ------------------------------------------------------------------------
@router.post(
    "/privacy/requests",
    status_code=201,
    responses=_problems(
        s409="request-open: an open request of this kind exists (or the restriction or"
        " objection stands already)",
        s422="invalid field (rectification needs a note)",
    ),
)
async def open_request(
    body: RequestOpen, principal: PrincipalDep, services: ServicesDep
) -> RequestOut:
    """Open a request about my data (R1, R4, R8, R13)."""
    return _out(await services.privacy_requests.open(principal, body.kind, body.note))


@router.get("/privacy/requests")
async def my_requests(principal: PrincipalDep, services: ServicesDep) -> RequestList:
    """My requests, newest first."""
    mine = await services.privacy_requests.mine(principal)
    return RequestList(requests=[_out(r) for r in mine])


@router.get("/privacy/requests/{request_id}", responses=_problems(s404="no such request of yours"))
async def my_request(request_id: Id, principal: PrincipalDep, services: ServicesDep) -> RequestOut:
    return _out(await services.privacy_requests.get_mine(principal, request_id))


@router.post(
    "/privacy/requests/{request_id}/cancel",
    responses=_problems(
        s404="no such request of yours",
        s409="request-not-cancellable: answered, running, or no longer in force",
    ),
)
async def cancel_request(
    request_id: Id, principal: PrincipalDep, services: ServicesDep
) -> RequestOut:
    """Withdraw a request; for a restriction or an objection, lift it."""
    return _out(await services.privacy_requests.cancel(principal, request_id))


@router.post(
    "/privacy/erasure/cancel",
    responses=_problems(
        s404="no erasure waits for this code (a code is cleared once its erasure starts)",
    ),
)
async def cancel_erasure(body: CancelCode, services: ServicesDep) -> RequestOut:
    """Cancel an erasure with the code from its mail; no sign-in (the account is closed)."""
    return _out(await services.privacy_requests.cancel_erasure_with_code(body.code))


@router.get("/privacy/me")
async def privacy_me(
    principal: PrincipalDep,
    services: ServicesDep,
    before: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
) -> PrivacyMeOut:
    """What obrolan holds about me, why and how long; my requests; the audit about me."""
    mine = await services.my_data.about(principal, before=before, limit=limit)
    return PrivacyMeOut(
        account=AccountStateOut(restricted=mine.restricted, objected=mine.objected),
        categories=[CategoryOut(**asdict(c)) for c in mine.categories],
        requests=[_out(r) for r in mine.requests],
        audit=[AuditEntryOut(**asdict(e)) for e in mine.audit],
        audit_next=mine.audit_next,
        erasure_grace_days=services.settings.privacy_erasure_grace_days,
        export_hours=services.settings.privacy_export_hours,
    )


# -- operators -------------------------------------------------------------------------
_NOT_AN_ADMIN = "not-an-admin: the caller is not an operator"


async def _operator(principal: PrincipalDep, services: ServicesDep) -> Principal:
    """The service's operator check, run before the body is read: a non-operator learns
    nothing about what a body should hold, and gets 403 whatever they sent."""
    services.privacy_requests.require_operator(principal)
    return principal


OperatorDep = Annotated[Principal, Depends(_operator)]


@router.get("/admin/privacy/requests", responses=_problems(s403=_NOT_AN_ADMIN))
async def request_queue(
    principal: OperatorDep,
    services: ServicesDep,
    status: RequestStatus | None = None,
    overdue: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> QueueOut:
    """Requests by deadline, soonest first; without `status`, the open ones."""
    found = await services.privacy_requests.queue(
        principal, status=status, overdue=overdue, limit=limit
    )
    return QueueOut(requests=[_queued(r) for r in found])


@router.post(
    "/admin/privacy/requests",
    status_code=201,
    responses=_problems(
        s403=_NOT_AN_ADMIN,
        s404="no such person",
        s409="request-open",
        s422="invalid field",
    ),
)
async def open_request_for(
    body: OperatorRequestOpen, principal: OperatorDep, services: ServicesDep
) -> QueueEntryOut:
    """Open a request on a person's behalf."""
    opened = await services.privacy_requests.open_for(principal, body.user_id, body.kind, body.note)
    return _queued(opened)


@router.get(
    "/admin/privacy/requests/{request_id}",
    responses=_problems(s403=_NOT_AN_ADMIN, s404="no such request"),
)
async def queued_request(
    request_id: Id, principal: OperatorDep, services: ServicesDep
) -> QueueEntryOut:
    """One request with the person's note (reading it is recorded in the audit log)."""
    return _queued(await services.privacy_requests.get_any(principal, request_id))


@router.post(
    "/admin/privacy/requests/{request_id}/complete",
    responses=_problems(
        s403=_NOT_AN_ADMIN,
        s404="no such request",
        s409="request-closed, or erasure-runs-itself",
        s422="invalid field",
    ),
)
async def complete_request(
    request_id: Id, body: Resolution, principal: OperatorDep, services: ServicesDep
) -> QueueEntryOut:
    return _queued(await services.privacy_requests.complete(principal, request_id, body.resolution))


@router.post(
    "/admin/privacy/requests/{request_id}/refuse",
    responses=_problems(
        s403=_NOT_AN_ADMIN,
        s404="no such request",
        s409="request-closed, or erasure-running",
        s422="the reason is required",
    ),
)
async def refuse_request(
    request_id: Id, body: Refusal, principal: OperatorDep, services: ServicesDep
) -> QueueEntryOut:
    return _queued(await services.privacy_requests.refuse(principal, request_id, body.reason))


@router.post(
    "/admin/privacy/requests/{request_id}/cancel",
    responses=_problems(s403=_NOT_AN_ADMIN, s404="no such request", s409="request-not-cancellable"),
)
async def cancel_request_for(
    request_id: Id, principal: OperatorDep, services: ServicesDep
) -> QueueEntryOut:
    """Withdraw a request on the person's behalf; lifts a restriction or an objection."""
    return _queued(await services.privacy_requests.cancel_for(principal, request_id))


@router.patch(
    "/admin/users/{user_id}",
    responses=_problems(
        s403=_NOT_AN_ADMIN,
        s404="no such person",
        s409="username taken",
        s422="invalid field",
    ),
)
async def rectify_account(
    user_id: Id, body: Rectification, principal: OperatorDep, services: ServicesDep
) -> RectifiedOut:
    """Correct what a person cannot edit themselves (R8): the username."""
    done = await services.privacy_requests.rectify(principal, user_id, username=body.username)
    return RectifiedOut.model_validate(done)
