"""Media routes: the Cloud API's upload and download for a business's token, and the
download for the people the media was sent to (under /api/v1, with their session)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from starlette.datastructures import UploadFile

from obrolan.api.deps import PrincipalDep, ServicesDep
from obrolan.business.cloud_api import BusinessDep, V
from obrolan.business.graph import GraphRoute, invalid_parameter, missing_parameter
from obrolan.business.media import DOWNLOAD_PATH, MediaDownload

# The upload path's pattern, for its own request bound (obrolan.api.limits).
UPLOAD_PATH_PATTERN = r"/v\d{1,3}(?:\.\d{1,3})?/[^/]+/media"

# Cloud API shapes: described in docs/business-api.md, not in /openapi.json.
router = APIRouter(route_class=GraphRoute, include_in_schema=False)
person_router = APIRouter(tags=["business"])

_BINARY: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}
    }
}


@router.post(V + "/{number_id}/media")
async def upload_media(
    number_id: str, request: Request, principal: BusinessDep, services: ServicesDep
) -> dict[str, Any]:
    """Upload a file (multipart: `file`, `type`, `messaging_product=whatsapp`) → its id."""
    async with request.form(max_files=1, max_fields=8) as form:
        product = form.get("messaging_product")
        if product is None:
            raise missing_parameter("messaging_product is required")
        if product != "whatsapp":
            raise invalid_parameter("messaging_product must be whatsapp")
        file = form.get("file")
        if not isinstance(file, UploadFile):
            raise missing_parameter("file is required")
        declared = form.get("type")
        declared = declared if isinstance(declared, str) and declared else file.content_type
        if not declared:
            raise missing_parameter("type is required")
        media = await services.business_media.upload(
            principal, number_id, file.file, declared, file.filename or None
        )
    return {"id": media.id}


@router.get(DOWNLOAD_PATH, responses=_BINARY)
async def download_media(
    media_id: str, principal: BusinessDep, services: ServicesDep
) -> StreamingResponse:
    """The bytes of a media of the token's business (the `url` of GET /v{N}/{media_id})."""
    return _streamed(await services.business_media.download_for_business(principal, media_id))


@person_router.get("/business-media/{media_id}", responses=_BINARY)
async def download_sent_media(
    media_id: str, principal: PrincipalDep, services: ServicesDep
) -> StreamingResponse:
    """A media a business sent into one of my rooms (404 if none of them)."""
    download = await services.business_media.download_for_person(principal.user_id, media_id)
    return _streamed(download)


def _streamed(download: MediaDownload) -> StreamingResponse:
    media = download.media
    headers = {
        "Content-Length": str(media.file_size),
        "Cache-Control": "private, no-store",
        "X-Content-Type-Options": "nosniff",
        # Served from obrolan's own origin: a file never runs as a page of it.
        "Content-Security-Policy": "sandbox",
    }
    if media.kind == "document":
        headers["Content-Disposition"] = _attachment(media.filename or media.id)
    return StreamingResponse(download.chunks, media_type=media.mime_type, headers=headers)


def _attachment(filename: str) -> str:
    """`attachment` with the name as ASCII (quotes and controls dropped) and as UTF-8."""
    plain = "".join(c if 32 <= ord(c) < 127 and c not in '"\\' else "_" for c in filename)
    return f"attachment; filename=\"{plain}\"; filename*=UTF-8''{quote(filename, safe='')}"
