"""Cloud API routes for messages and opt-ins, and people's own view of their opt-ins."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel, Field

from obrolan.api.deps import PrincipalDep, ServicesDep
from obrolan.api.inputs import RequestBody
from obrolan.business.cloud_api import BusinessDep, V, json_object
from obrolan.business.graph import GraphRoute, missing_parameter, parameter_value, unknown_object
from obrolan.business.schemas import BusinessOut

router = APIRouter(route_class=GraphRoute, include_in_schema=False)

OPT_IN_SOURCES = ("web_form", "in_store", "sms", "inbound_message", "phone_call", "other")


@router.post(V + "/{number_id}/messages")
async def send_message(
    number_id: str, request: Request, principal: BusinessDep, services: ServicesDep
) -> dict[str, Any]:
    """Send a message (or mark one read) from a sender number, as the Cloud API does."""
    body = await json_object(request)
    return await services.business_messaging.send(principal, number_id, body)


@router.post(V + "/{waba_id}/opt_ins")
async def record_opt_in(
    waba_id: str, request: Request, principal: BusinessDep, services: ServicesDep
) -> dict[str, Any]:
    """obrolan's extension (R16): record a person's opt-in with its proof."""
    if waba_id != principal.business_id:
        raise unknown_object(waba_id)
    body = await json_object(request)
    source = body.get("source")
    shown_text = body.get("shown_text")
    reference = body.get("reference")
    if source not in OPT_IN_SOURCES:
        raise parameter_value(f"source: one of {', '.join(OPT_IN_SOURCES)}")
    if not isinstance(shown_text, str) or not 1 <= len(shown_text) <= 2000:
        raise missing_parameter("shown_text: the exact text the person was shown (1-2000 chars)")
    if reference is not None and (not isinstance(reference, str) or len(reference) > 128):
        raise parameter_value("reference: text of at most 128 characters")
    opt_in_id, to = await services.business_messaging.record_opt_in(
        waba_id,
        body.get("phone", body.get("wa_id")),
        source=source,
        shown_text=shown_text,
        reference=reference,
        recorded_by=None,
    )
    return {"id": opt_in_id, "wa_id": to.wa_id, "user_id": to.user_id}


@router.get(V + "/{waba_id}/opt_ins")
async def get_opt_in(
    waba_id: str,
    principal: BusinessDep,
    services: ServicesDep,
    phone: Annotated[str, Query(max_length=32)],
) -> dict[str, Any]:
    """The opt-in recorded for one number, with its proof; empty `data` if none."""
    if waba_id != principal.business_id:
        raise unknown_object(waba_id)
    found = await services.business_messaging.opt_in_for(waba_id, phone)
    return {"data": [_cloud_opt_in(found)] if found else []}


def _cloud_opt_in(view: dict[str, Any]) -> dict[str, Any]:
    shown = {k: v for k, v in view.items() if k != "business_id"}
    for name in ("opted_in_at", "marketing_stopped_at", "withdrawn_at"):
        if shown[name] is not None:
            shown[name] = str(int(shown[name].timestamp()))
    return shown


# -- obrolan's own API: a person's opt-ins, a business's conversations ----------------------

me_router = APIRouter(tags=["businesses"])


class OptInOut(BaseModel):
    id: str
    business_id: str
    business_name: str
    wa_id: str
    source: str
    shown_text: str | None = Field(description="the exact text the person was shown")
    reference: str | None
    opted_in_at: datetime
    marketing_stopped_at: datetime | None
    withdrawn_at: datetime | None


class OptInsOut(BaseModel):
    opt_ins: list[OptInOut]


@me_router.get("/me/business-opt-ins")
async def my_opt_ins(principal: PrincipalDep, services: ServicesDep) -> OptInsOut:
    """Every business that holds an opt-in for my verified number, with its proof (R16)."""
    views = await services.business_messaging.my_opt_ins(principal.user_id)
    return OptInsOut(opt_ins=[OptInOut(**v) for v in views])


@me_router.delete("/me/business-opt-ins/{opt_in_id}", status_code=204)
async def withdraw_opt_in(
    opt_in_id: Annotated[str, Path(max_length=26)], principal: PrincipalDep, services: ServicesDep
) -> Response:
    """Withdraw an opt-in: the business may no longer message me first."""
    await services.business_messaging.withdraw_opt_in(principal.user_id, opt_in_id)
    return Response(status_code=204)


class OpenBusinessChat(RequestBody):
    number: str = Field(min_length=3, max_length=32, description="the business's number")


class BusinessChatOut(BaseModel):
    room_id: str


@me_router.post("/business-chats")
async def open_business_chat(
    body: OpenBusinessChat, principal: PrincipalDep, services: ServicesDep
) -> BusinessChatOut:
    """My chat with a business's number (as a wa.me link opens it); writing there lets the
    business answer for 24 hours."""
    room_id = await services.business_messaging.open_chat(principal.user_id, body.number)
    return BusinessChatOut(room_id=room_id)


class BusinessChatProfileOut(BaseModel):
    room_id: str
    business: BusinessOut
    number_id: str
    display_phone_number: str
    verified_name: str
    opt_in_id: str | None = Field(description="my opt-in, if the business holds one")
    marketing_stopped: bool = Field(description="I answered STOP / BERHENTI")


@me_router.get("/business-chats/{room_id}")
async def business_chat_profile(
    room_id: Annotated[str, Path(max_length=26)], principal: PrincipalDep, services: ServicesDep
) -> BusinessChatProfileOut:
    """The business behind one of my business chats (rooms of kind `business`)."""
    found = await services.business_messaging.chat_profile(principal.user_id, room_id)
    return BusinessChatProfileOut(**{**found, "business": BusinessOut.of(found["business"])})


class ChoicesOut(BaseModel):
    message_id: str = Field(description="the chat message that offers them")
    choices: list[str] = Field(description="the titles to answer with, in order")


class BusinessChatChoicesOut(BaseModel):
    messages: list[ChoicesOut]


@me_router.get("/business-chats/{room_id}/choices")
async def business_chat_choices(
    room_id: Annotated[str, Path(max_length=26)], principal: PrincipalDep, services: ServicesDep
) -> BusinessChatChoicesOut:
    """The buttons and list rows of the business's newest 50 such messages in my chat,
    newest first. Answering one is a reply to that message whose text is the title."""
    found = await services.business_messaging.chat_choices(principal.user_id, room_id)
    return BusinessChatChoicesOut(messages=[ChoicesOut(**c) for c in found])


class RecordOptIn(RequestBody):
    phone: str = Field(min_length=3, max_length=32)
    source: str = Field(pattern="^(" + "|".join(OPT_IN_SOURCES) + ")$")
    shown_text: str = Field(min_length=1, max_length=2000)
    reference: str | None = Field(default=None, max_length=128)


class RecordedOptIn(BaseModel):
    id: str
    wa_id: str


@me_router.post("/businesses/{business_id}/opt-ins", status_code=201)
async def record_opt_in_as_member(
    business_id: Annotated[str, Path(max_length=26)],
    body: RecordOptIn,
    principal: PrincipalDep,
    services: ServicesDep,
) -> RecordedOptIn:
    """A member of the business records an opt-in they took (in a shop, on the phone)."""
    await services.business.role(principal, business_id)
    opt_in_id, to = await services.business_messaging.record_opt_in(
        business_id,
        body.phone,
        source=body.source,
        shown_text=body.shown_text,
        reference=body.reference,
        recorded_by=principal.user_id,
    )
    return RecordedOptIn(id=opt_in_id, wa_id=to.wa_id)


class ConversationOut(BaseModel):
    id: str
    number_id: str
    customer_id: str
    last_inbound_at: datetime | None
    window_open: bool = Field(description="free-form messages are allowed now")
    window_closes_at: datetime | None


class ConversationsOut(BaseModel):
    conversations: list[ConversationOut]


@me_router.get("/businesses/{business_id}/conversations")
async def conversations(
    business_id: Annotated[str, Path(max_length=26)],
    principal: PrincipalDep,
    services: ServicesDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> ConversationsOut:
    """The business's conversations, newest inbound first, with each one's window."""
    await services.business.role(principal, business_id)
    found = await services.business_messaging.conversations(business_id, limit)
    return ConversationsOut(conversations=[ConversationOut(**c) for c in found])
