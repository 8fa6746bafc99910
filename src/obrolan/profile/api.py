"""Profile photo routes under /api/v1: the image is the raw request and response body (F1)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response

from obrolan.api.deps import PrincipalDep, ServicesDep
from obrolan.profile.photos import ACCEPTED_TYPES, STORED_TYPE

router = APIRouter(tags=["profile"])

PHOTO_PATH = "/me/photo"
_PROBLEM: dict[str, Any] = {"content": {"application/problem+json": {}}}
_IMAGE_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            media_type: {"schema": {"type": "string", "format": "binary"}}
            for media_type in ACCEPTED_TYPES
        },
    }
}


@router.put(
    PHOTO_PATH,
    status_code=204,
    openapi_extra=_IMAGE_BODY,
    responses={
        413: {"description": "too-large (OBROLAN_MAX_PHOTO_BYTES) or too-many-pixels", **_PROBLEM},
        415: {"description": "unsupported-media-type: not image/jpeg, png or webp", **_PROBLEM},
        422: {"description": "not-an-image: the body cannot be read as one", **_PROBLEM},
    },
)
async def set_photo(request: Request, principal: PrincipalDep, services: ServicesDep) -> None:
    """Set my photo. Stored re-encoded as WebP of at most 1024 px, without EXIF, GPS or
    any other metadata, sealed under my key (F1, R6)."""
    await services.profile.set_photo(
        principal, await request.body(), request.headers.get("content-type")
    )


@router.delete(PHOTO_PATH, status_code=204)
async def remove_photo(principal: PrincipalDep, services: ServicesDep) -> None:
    """Remove my photo."""
    await services.profile.remove_photo(principal)


@router.get(
    "/users/{user_id}/photo",
    response_class=Response,
    responses={
        200: {"content": {STORED_TYPE: {"schema": {"type": "string", "format": "binary"}}}},
        404: {"description": "no such person, no photo, or not shown to you", **_PROBLEM},
    },
)
async def photo(
    user_id: Annotated[str, Path(max_length=26)], principal: PrincipalDep, services: ServicesDep
) -> Response:
    """Someone's photo, if its owner's photo visibility lets me see it."""
    image = await services.profile.photo(principal, user_id)
    # Only for this viewer: a shared cache must not hand it to someone else.
    return Response(image, media_type=STORED_TYPE, headers={"Cache-Control": "private"})
