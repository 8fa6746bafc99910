"""The WhatsApp Cloud API surface, in Graph shape under any `/v{N}/` prefix.

Routes match on the path alone (never the Host header): a client library that sends
`Host: graph.facebook.com` to obrolan reaches the same routes. Every route here takes
the token of one business; errors come in Graph shape (`graph.GraphRoute`).
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from starlette.convertors import Convertor, register_url_convertor

from obrolan.api.deps import ServicesDep
from obrolan.business.graph import GraphRoute, invalid_token, parameter_value, unknown_object
from obrolan.business.service import BusinessPrincipal
from obrolan.business.store import PROFILE_FIELDS, BusinessRow


class GraphVersion(Convertor[str]):
    """`v25.0`, `v15`: only such a first segment routes to the Cloud API surface."""

    regex = r"v\d{1,3}(?:\.\d{1,3})?"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("graph_version", GraphVersion())
# Graph path prefix: `/{version}`; routes add `/{object id}/edge`.
V = "/{version:graph_version}"

_BEARER = re.compile(r"^\s*(?:Bearer|OAuth)\s+(\S+)\s*$", re.IGNORECASE)


async def business_principal(request: Request, services: ServicesDep) -> BusinessPrincipal:
    """The token's business: `Authorization: Bearer <token>` or `?access_token=`."""
    header = request.headers.get("authorization")
    token = None
    if header is not None:
        matched = _BEARER.match(header)
        token = matched.group(1) if matched else None
    token = token or request.query_params.get("access_token")
    if not token:
        raise invalid_token("An active access token must be used to query information.")
    return await services.business.authenticate_token(token)


BusinessDep = Annotated[BusinessPrincipal, Depends(business_principal)]

# The Cloud API surface is Meta's shape, described in docs/business-api.md, not in /openapi.json.
router = APIRouter(route_class=GraphRoute, include_in_schema=False)


def cloud_profile(row: BusinessRow) -> dict[str, Any]:
    """A business profile as the Cloud API's whatsapp_business_profile answers it."""
    profile: dict[str, Any] = {"messaging_product": "whatsapp"}
    for name in ("about", "address", "description", "email", "vertical"):
        if getattr(row, name) is not None:
            profile[name] = getattr(row, name)
    if row.websites:
        profile["websites"] = row.websites
    if row.photo_url:
        profile["profile_picture_url"] = row.photo_url
    return profile


@router.get(V + "/{number_id}/whatsapp_business_profile")
async def get_business_profile(
    number_id: str, principal: BusinessDep, services: ServicesDep
) -> dict[str, Any]:
    number = await services.business.number_of(principal, number_id)
    row = await services.business.get(number.business_id)
    return {"data": [cloud_profile(row)]}


# The Cloud API's names for the profile fields we keep under other names.
_PROFILE_ALIASES = {"profile_picture_handle": "photo_url"}
_PROFILE_LIMITS = {
    "about": 139,
    "address": 256,
    "description": 512,
    "email": 128,
    "vertical": 32,
    "photo_url": 512,
}


@router.post(V + "/{number_id}/whatsapp_business_profile")
async def update_business_profile(
    number_id: str, request: Request, principal: BusinessDep, services: ServicesDep
) -> dict[str, Any]:
    number = await services.business.number_of(principal, number_id)
    body = await json_object(request)
    values: dict[str, Any] = {}
    for name, value in body.items():
        name = _PROFILE_ALIASES.get(name, name)
        if name == "messaging_product":
            continue
        if name not in PROFILE_FIELDS or name == "name":
            raise parameter_value(f"{name} is not a business profile field")
        if name == "websites":
            if (
                not isinstance(value, list)
                or len(value) > 2
                or not all(isinstance(w, str) and 0 < len(w) <= 256 for w in value)
            ):
                raise parameter_value("websites is a list of at most 2 URLs")
        elif not isinstance(value, str) or len(value) > _PROFILE_LIMITS[name]:
            raise parameter_value(f"{name} is text of at most {_PROFILE_LIMITS[name]} characters")
        values[name] = value
    await services.business.update_profile(number.business_id, values)
    return {"success": True}


async def json_object(request: Request) -> dict[str, Any]:
    """The request's JSON object body (or form fields, which some clients send)."""
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()
        return {k: v for k, v in form.items() if isinstance(v, str)}
    try:
        body = await request.json()
    except ValueError as exc:
        raise parameter_value("the body is not JSON") from exc
    if not isinstance(body, dict):
        raise parameter_value("the body is a JSON object")
    return body


# -- objects by id: media, templates (objects.py) ------------------------------------------
# Registered last in the app, so that `/{id}/edge` routes above and elsewhere match first.
object_router = APIRouter(route_class=GraphRoute, include_in_schema=False)


@object_router.get(V + "/{object_id}")
async def get_object(
    object_id: str, request: Request, principal: BusinessDep, services: ServicesDep
) -> Any:
    found = await services.graph_objects.read(principal, object_id)
    if found is None:
        raise unknown_object(object_id)
    url = found.get("url")
    if isinstance(url, str) and url.startswith("/"):
        # An object's `url` given as a path on this server (a media's download) is
        # answered absolute, on the host clients reach this server at.
        base = services.settings.public_url or str(request.base_url)
        found = {**found, "url": base.rstrip("/") + url}
    return found


@object_router.post(V + "/{object_id}")
async def edit_object(
    object_id: str, request: Request, principal: BusinessDep, services: ServicesDep
) -> Any:
    done = await services.graph_objects.edit(principal, object_id, await json_object(request))
    if done is None:
        raise unknown_object(object_id)
    return done


@object_router.delete(V + "/{object_id}")
async def delete_object(object_id: str, principal: BusinessDep, services: ServicesDep) -> Any:
    if not await services.graph_objects.delete(principal, object_id):
        raise unknown_object(object_id)
    return {"success": True}
