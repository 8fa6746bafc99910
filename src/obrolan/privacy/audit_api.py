"""GET /api/v1/privacy/audit: what the audit log records about me (R7)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from obrolan.api.deps import PrincipalDep, ServicesDep
from obrolan.api.inputs import POSITION_MAX
from obrolan.privacy.audit_schemas import AuditEntryOut, AuditPage

router = APIRouter(prefix="/privacy", tags=["privacy"])


@router.get(
    "/audit",
    responses={401: {"description": "not signed in", "content": {"application/problem+json": {}}}},
)
async def my_audit(
    principal: PrincipalDep,
    services: ServicesDep,
    before: Annotated[
        int | None, Query(ge=1, le=POSITION_MAX, description="older than this entry's seq")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
) -> AuditPage:
    """Entries about me, newest first: sign-ins, operators' reads and actions, lawful
    access to my messages (once any legal hold on it has ended)."""
    page = await services.audit.own_view(
        services.db, principal.user_id, before_seq=before, limit=limit
    )
    return AuditPage(
        entries=[
            AuditEntryOut(
                seq=e.seq,
                at=e.at,
                action=e.action,
                actor_role=e.actor_role,
                by_me=e.by_me,
                detail=e.detail,
            )
            for e in page.entries
        ],
        next=page.next,
    )
