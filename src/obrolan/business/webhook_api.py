"""Webhook routes: obrolan's own (/api/v1/businesses/{id}/webhook...) and the Cloud
API's `/{waba_id}/subscribed_apps` in Graph shape."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import AwareDatetime

from obrolan.api.deps import PrincipalDep, ServicesDep
from obrolan.business.cloud_api import BusinessDep, V, json_object
from obrolan.business.graph import (
    GraphError,
    GraphRoute,
    missing_parameter,
    parameter_value,
    unknown_object,
)
from obrolan.business.service import BusinessPrincipal
from obrolan.business.webhook_schemas import (
    DeliveriesOut,
    DeliveryOut,
    DeliveryState,
    PutWebhook,
    Replay,
    ReplayOut,
    WebhookOut,
)
from obrolan.business.webhook_service import LOG_PAGE_MAX, VerificationFailed
from obrolan.errors import NotFound

router = APIRouter(prefix="/businesses", tags=["businesses"])
BusinessId = Annotated[str, Path(max_length=26)]


@router.put("/{business_id}/webhook")
async def put_webhook(
    business_id: BusinessId, body: PutWebhook, principal: PrincipalDep, services: ServicesDep
) -> WebhookOut:
    """Subscribe (or change the subscription) after the callback passes the Cloud API's
    hub.challenge check; 422 `webhook-verification-failed` says what it answered."""
    row = await services.webhook_subscriptions.put(
        principal, business_id, str(body.callback_url), body.verify_token, body.app_secret
    )
    return WebhookOut.of(row)


@router.get("/{business_id}/webhook")
async def get_webhook(
    business_id: BusinessId, principal: PrincipalDep, services: ServicesDep
) -> WebhookOut:
    row = await services.webhook_subscriptions.get(principal, business_id)
    if row is None:
        raise NotFound("this business has no webhook subscription", field="business_id")
    return WebhookOut.of(row)


@router.delete("/{business_id}/webhook", status_code=204)
async def delete_webhook(
    business_id: BusinessId, principal: PrincipalDep, services: ServicesDep
) -> Response:
    """No more POSTs; pending events wait for the next subscription."""
    await services.webhook_subscriptions.remove(principal, business_id)
    return Response(status_code=204)


@router.get("/{business_id}/webhook/deliveries")
async def deliveries(
    business_id: BusinessId,
    principal: PrincipalDep,
    services: ServicesDep,
    since: AwareDatetime | None = None,
    until: AwareDatetime | None = None,
    state: DeliveryState | None = None,
    before: Annotated[str | None, Query(max_length=26)] = None,
    limit: Annotated[int, Query(ge=1, le=LOG_PAGE_MAX)] = 100,
) -> DeliveriesOut:
    """The delivery log, newest first: each event's state and attempts (never its body)."""
    found = await services.webhook_subscriptions.deliveries(
        principal, business_id, since=since, until=until, state=state, before=before, limit=limit
    )
    return DeliveriesOut(
        deliveries=[DeliveryOut.of(d) for d in found],
        next_before=found[-1].event.id if len(found) == limit else None,
    )


@router.post("/{business_id}/webhook/replay")
async def replay(
    business_id: BusinessId, body: Replay, principal: PrincipalDep, services: ServicesDep
) -> ReplayOut:
    """Send again every event made in [since, until), in order per conversation."""
    queued = await services.webhook_subscriptions.replay(
        principal, business_id, body.since, body.until
    )
    return ReplayOut(queued=queued)


# -- the Cloud API's way -------------------------------------------------------------------
# Cloud API shapes: described in docs/business-api.md, not in /openapi.json.
graph_router = APIRouter(route_class=GraphRoute, include_in_schema=False)


def _own_waba(principal: BusinessPrincipal, waba_id: str) -> None:
    if principal.business_id != waba_id:
        raise unknown_object(waba_id)


@graph_router.post(V + "/{waba_id}/subscribed_apps")
async def subscribe_app(
    waba_id: str, request: Request, principal: BusinessDep, services: ServicesDep
) -> dict[str, Any]:
    """`override_callback_uri` + `verify_token` set the callback (verified first); the app
    secret is the one set through obrolan's API. Without them, the subscription stays."""
    _own_waba(principal, waba_id)
    body = await json_object(request) if await request.body() else {}
    url, token = body.get("override_callback_uri"), body.get("verify_token")
    if url is None and token is None:
        if await services.webhook_subscriptions.current(waba_id) is None:
            raise missing_parameter("override_callback_uri and verify_token are required")
        return {"success": True}
    if not isinstance(url, str) or not url.startswith(("http://", "https://")) or len(url) > 1024:
        raise parameter_value("override_callback_uri is an http(s) URL")
    if not isinstance(token, str) or not 0 < len(token) <= 256:
        raise missing_parameter("verify_token is required with override_callback_uri")
    try:
        await services.webhook_subscriptions.subscribe(waba_id, url, token, None)
    except VerificationFailed as failed:
        answer = failed.answer
        raise GraphError(
            2200,
            "Callback verification failed with the following errors: "
            + (
                f"HTTP Status Code = {answer.status_code}"
                if answer.status_code is not None
                else f"{answer.error}"
            ),
        ) from failed
    return {"success": True}


@graph_router.get(V + "/{waba_id}/subscribed_apps")
async def subscribed_apps(
    waba_id: str, principal: BusinessDep, services: ServicesDep
) -> dict[str, Any]:
    _own_waba(principal, waba_id)
    row = await services.webhook_subscriptions.current(waba_id)
    if row is None:
        return {"data": []}
    app = {"id": waba_id, "name": "obrolan", "link": ""}
    return {
        "data": [{"whatsapp_business_api_data": app, "override_callback_uri": row.callback_url}]
    }


@graph_router.delete(V + "/{waba_id}/subscribed_apps")
async def unsubscribe_app(
    waba_id: str, principal: BusinessDep, services: ServicesDep
) -> dict[str, Any]:
    """The subscription goes (app secret too); pending events wait for the next one."""
    _own_waba(principal, waba_id)
    await services.webhook_subscriptions.unsubscribe(waba_id)
    return {"success": True}
