"""Request and response bodies of the privacy API (data requests, my data)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from obrolan.accounts.rules import USERNAME_MAX
from obrolan.api.inputs import RequestBody
from obrolan.privacy.requests import NOTE_MAX_CHARS, RESOLUTION_MAX_CHARS
from obrolan.privacy.rules import RequestKind, RequestStatus


class RequestOpen(RequestBody):
    kind: RequestKind
    note: str | None = Field(
        default=None,
        max_length=NOTE_MAX_CHARS,
        description="what is wrong (rectification: required), or why (objection)",
    )


class OperatorRequestOpen(RequestOpen):
    user_id: str = Field(max_length=26, description="the person the request is for")


class Resolution(RequestBody):
    resolution: str = Field(min_length=1, max_length=RESOLUTION_MAX_CHARS)


class Refusal(RequestBody):
    reason: str = Field(min_length=1, max_length=RESOLUTION_MAX_CHARS)


class CancelCode(RequestBody):
    code: str = Field(min_length=1, max_length=100, description="the code in the erasure mail")


class Rectification(RequestBody):
    username: str = Field(min_length=1, max_length=USERNAME_MAX)


class RectifiedOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    user_id: str
    fields: list[str] = Field(description="the fields that changed (the values are not told)")


class RequestOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    kind: RequestKind
    status: RequestStatus
    created_at: datetime
    deadline_at: datetime = Field(description="by when it must be answered (R13)")
    done_at: datetime | None = Field(description="when it was answered, cancelled or refused")
    due_at: datetime | None = Field(description="erasure: when it runs unless cancelled first")
    progress: int = Field(ge=0, le=100)
    opened_by_operator: bool
    resolution: str | None = Field(description="what was done, or why it was refused")
    overdue: bool = Field(description="open and past its deadline")
    seconds_left: int = Field(description="until the deadline; negative once past; 0 answered")
    note: str | None = Field(description="what the person wrote")


class QueueEntryOut(RequestOut):
    user_id: str


class RequestList(BaseModel):
    requests: list[RequestOut]


class QueueOut(BaseModel):
    requests: list[QueueEntryOut]


class CategoryOut(BaseModel):
    category: str = Field(description="a fideslang data category, e.g. user.contact.email")
    description: str
    purposes: list[str] = Field(description="why it is held (fideslang data uses, explained)")
    retention: list[str] = Field(description="how long it is kept")
    where: list[str] = Field(description="table.column")
    encrypted: bool = Field(description="every column of it is sealed under your key")
    held: bool | None = Field(description="whether obrolan holds a value of yours; null: not said")


class AuditEntryOut(BaseModel):
    seq: int
    at: datetime
    action: str
    actor_role: str
    by_me: bool
    detail: dict[str, Any]


class AccountStateOut(BaseModel):
    restricted: bool
    objected: bool


class PrivacyMeOut(BaseModel):
    account: AccountStateOut
    categories: list[CategoryOut]
    requests: list[RequestOut]
    audit: list[AuditEntryOut] = Field(description="what was done with your data, newest first")
    audit_next: int | None = Field(description="pass as `before` for older entries; null: none")
    erasure_grace_days: int = Field(
        description="days between an erasure request and the erasure, to cancel it in"
    )
    export_hours: int = Field(description="hours an export is kept after it was built")
