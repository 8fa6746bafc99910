"""Export routes under /api/v1: list my exports, download one (R1)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from obrolan.api.deps import PrincipalDep, ServicesDep

router = APIRouter(tags=["privacy"])

_PROBLEM: dict[str, Any] = {"content": {"application/problem+json": {}}}


class ExportOut(BaseModel):
    id: str
    request_id: str = Field(description="the access request this export answers")
    size: int = Field(description="the ZIP's size in bytes")
    created_at: datetime
    expires_at: datetime = Field(description="downloadable until then; deleted after")
    downloaded_at: datetime | None = Field(description="the last download, if any")
    expired: bool


class ExportsOut(BaseModel):
    exports: list[ExportOut]


@router.get("/privacy/exports", response_model=ExportsOut)
async def list_exports(principal: PrincipalDep, services: ServicesDep) -> ExportsOut:
    """My data exports, newest first."""
    infos = await services.exports.list_exports(principal)
    return ExportsOut(
        exports=[
            ExportOut(
                id=i.id,
                request_id=i.request_id,
                size=i.size,
                created_at=i.created_at,
                expires_at=i.expires_at,
                downloaded_at=i.downloaded_at,
                expired=i.expired,
            )
            for i in infos
        ]
    )


@router.get(
    "/privacy/exports/{export_id}",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "the ZIP: export.json, index.html, and photo.webp if I have a photo",
            "content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}},
        },
        404: {"description": "not-found: no such export of mine", **_PROBLEM},
        410: {"description": "export-expired: past expires_at, and deleted", **_PROBLEM},
    },
)
async def download_export(
    export_id: Annotated[str, Path(max_length=26)],
    principal: PrincipalDep,
    services: ServicesDep,
) -> StreamingResponse:
    """Download one of my exports, until its `expires_at`."""
    download = await services.exports.download(principal, export_id)
    return StreamingResponse(
        download.chunks,
        media_type="application/zip",
        headers={
            "Content-Disposition": f'attachment; filename="{download.filename}"',
            "Content-Length": str(download.size),
            # Only for this person: no shared cache may keep a copy.
            "Cache-Control": "private, no-store",
        },
    )
