"""Message templates' routes: the Cloud API's `/{waba_id}/message_templates` (Graph
shape), and the operator's review queue under /api/v1/admin/business-templates."""

from __future__ import annotations

from dataclasses import asdict
from dataclasses import fields as fields_of
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from obrolan.api.deps import PrincipalDep, ServicesDep, refuse_nul_in_url
from obrolan.api.inputs import RequestBody
from obrolan.business.cloud_api import BusinessDep, V, json_object
from obrolan.business.graph import GraphRoute, unknown_object
from obrolan.business.service import BusinessPrincipal
from obrolan.business.template_store import TemplateFilter, TemplateRow
from obrolan.business.templates import (
    KNOWN_FIELDS,
    REASON_MAX,
    TemplateSummary,
    cloud_template,
    require_admin,
)

# Its query values reach SQL, where PostgreSQL refuses NUL characters. Out of the OpenAPI
# description, like the other Graph routes: their shape is Meta's (docs/business-api.md).
router = APIRouter(
    route_class=GraphRoute, dependencies=[Depends(refuse_nul_in_url)], include_in_schema=False
)

LIMIT_DEFAULT = 25
LIMIT_MAX = 100
SUMMARY_FIELDS = tuple(f.name for f in fields_of(TemplateSummary))


def _own(principal: BusinessPrincipal, waba_id: str) -> None:
    if waba_id != principal.business_id:
        raise unknown_object(waba_id)


def _fields(raw: str | None) -> tuple[str, ...] | None:
    """The fields asked for that templates here have. Others Meta has (quality_score,
    sub_category…) are left out, as Meta leaves out what a template lacks: client
    libraries ask for all of them."""
    if raw is None or not raw.strip():
        return None
    asked = {f.strip() for f in raw.split(",")}
    return tuple(f for f in KNOWN_FIELDS if f in asked)


def _any_of(raw: str | None) -> tuple[str, ...] | None:
    """`APPROVED,PENDING` (pywa joins a filter's values with commas)."""
    if raw is None:
        return None
    values = tuple(v.strip() for v in raw.split(",") if v.strip())
    return values or None


@router.post(V + "/{waba_id}/message_templates")
async def create_template(
    waba_id: str, request: Request, principal: BusinessDep, services: ServicesDep
) -> dict[str, Any]:
    _own(principal, waba_id)
    row = await services.templates.create(principal, await json_object(request))
    return {"id": row.id, "status": row.status, "category": row.category}


@router.get(V + "/{waba_id}/message_templates")
async def list_templates(
    waba_id: str,
    request: Request,
    principal: BusinessDep,
    services: ServicesDep,
    name: Annotated[str | None, Query(max_length=512)] = None,
    status: Annotated[str | None, Query(max_length=512)] = None,
    category: Annotated[str | None, Query(max_length=512)] = None,
    language: Annotated[str | None, Query(max_length=512)] = None,
    limit: Annotated[int, Query(ge=1)] = LIMIT_DEFAULT,
    after: Annotated[str | None, Query(max_length=26)] = None,
    fields: Annotated[str | None, Query(max_length=512)] = None,
    summary: Annotated[str | None, Query(max_length=512)] = None,
) -> dict[str, Any]:
    _own(principal, waba_id)
    wanted = _fields(fields)
    where = TemplateFilter(
        name=name,
        statuses=_any_of(status.upper() if status else None),
        categories=_any_of(category.upper() if category else None),
        languages=_any_of(language),
    )
    page = await services.templates.list_templates(
        principal, where, after=after or None, limit=min(limit, LIMIT_MAX)
    )
    answer: dict[str, Any] = {"data": [cloud_template(r, wanted) for r in page.templates]}
    if page.templates:
        last = page.templates[-1].id
        paging: dict[str, Any] = {"cursors": {"before": page.templates[0].id, "after": last}}
        if page.has_more:
            paging["next"] = str(request.url.include_query_params(after=last))
        answer["paging"] = paging
    asked = {f.strip() for f in (summary or "").split(",")} & set(SUMMARY_FIELDS)
    if asked:
        counts = asdict(await services.templates.summary(principal, where))
        answer["summary"] = {f: counts[f] for f in SUMMARY_FIELDS if f in asked}
    return answer


@router.delete(V + "/{waba_id}/message_templates")
async def delete_template(
    waba_id: str,
    principal: BusinessDep,
    services: ServicesDep,
    name: Annotated[str, Query(min_length=1, max_length=512)],
    hsm_id: Annotated[str | None, Query(max_length=26)] = None,
) -> dict[str, Any]:
    _own(principal, waba_id)
    await services.templates.delete(principal, name, hsm_id or None)
    return {"success": True}


# -- the operator's review queue ------------------------------------------------------------
def _operator(principal: PrincipalDep) -> None:
    require_admin(principal)


# The router-wide check comes first: someone who is not an operator is refused before a
# body is even read.
review_router = APIRouter(
    prefix="/admin/business-templates",
    tags=["administration"],
    dependencies=[Depends(_operator)],
)

_PROBLEM: dict[str, Any] = {"content": {"application/problem+json": {}}}
_NOT_AN_ADMIN = {"description": "not-an-admin: the caller is not a site administrator", **_PROBLEM}
_DECIDED: dict[int | str, dict[str, Any]] = {
    403: _NOT_AN_ADMIN,
    404: {"description": "no such template", **_PROBLEM},
    409: {"description": "the template is not PENDING (already reviewed)", **_PROBLEM},
}
Status = Literal["APPROVED", "PENDING", "REJECTED", "PAUSED", "DISABLED"]


class TemplateReviewOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    business_id: str
    name: str
    language: str
    category: str
    status: Status
    components: list[dict[str, Any]]
    rejected_reason: str | None
    reviewed_by: str | None
    created_at: datetime
    updated_at: datetime


class TemplateReviewPage(BaseModel):
    templates: list[TemplateReviewOut]
    next: str | None = Field(description="`after` for the next page; null on the last")


class RejectIn(RequestBody):
    reason: str = Field(min_length=1, max_length=REASON_MAX)


def _out(row: TemplateRow) -> TemplateReviewOut:
    return TemplateReviewOut.model_validate(row)


@review_router.get("", responses={403: _NOT_AN_ADMIN})
async def review_queue(
    principal: PrincipalDep,
    services: ServicesDep,
    status: Status = "PENDING",
    limit: Annotated[int, Query(ge=1, le=100)] = 100,
    after: Annotated[str | None, Query(max_length=26)] = None,
) -> TemplateReviewPage:
    """Every business's templates in `status` (PENDING by default), oldest first."""
    page = await services.templates.queue(principal, status, after=after, limit=limit)
    rows = page.templates
    return TemplateReviewPage(
        templates=[_out(r) for r in rows], next=rows[-1].id if page.has_more else None
    )


Id = Annotated[str, Path(max_length=26)]


@review_router.post("/{template_id}/approve", responses=_DECIDED)
async def approve_template(
    template_id: Id, principal: PrincipalDep, services: ServicesDep
) -> TemplateReviewOut:
    """Approve a PENDING template: it can be sent, and the business hears of it."""
    return _out(await services.templates.approve(principal, template_id))


@review_router.post("/{template_id}/reject", responses=_DECIDED)
async def reject_template(
    template_id: Id, body: RejectIn, principal: PrincipalDep, services: ServicesDep
) -> TemplateReviewOut:
    """Reject a PENDING template with a reason (Meta's are INVALID_FORMAT, PROMOTIONAL,
    INCORRECT_CATEGORY, ABUSIVE_CONTENT, SCAM, TAG_CONTENT_MISMATCH)."""
    return _out(await services.templates.reject(principal, template_id, body.reason))
