"""Request and response bodies of the lawful access routes and the own audit view (R7)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from obrolan.api.inputs import RequestBody
from obrolan.privacy.lawful_access_rules import (
    LEGAL_BASIS_MAX,
    MAX_ROOMS,
    REASON_MAX,
    LawfulAccessStatus,
)


class FileLawfulAccess(RequestBody):
    reason: str = Field(min_length=1, max_length=REASON_MAX, description="why, in words")
    legal_basis: str = Field(
        min_length=1, max_length=LEGAL_BASIS_MAX, description="the law, order or case number"
    )
    room_ids: list[str] = Field(min_length=1, max_length=MAX_ROOMS)
    starts_at: AwareDatetime = Field(description="reading is allowed from then")
    ends_at: AwareDatetime = Field(description="until then; at most 30 days after starts_at")
    hold_until: AwareDatetime | None = Field(
        default=None,
        description="a legal hold: the people read about see the reads only from then",
    )


class DecideLawfulAccess(RequestBody):
    note: str | None = Field(default=None, max_length=REASON_MAX)


class LawfulAccessOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    requested_by: str
    reason: str
    legal_basis: str
    room_ids: list[str]
    starts_at: datetime
    ends_at: datetime
    hold_until: datetime | None
    status: LawfulAccessStatus
    decided_by: str | None = Field(description="the second operator; null while pending")
    decided_at: datetime | None
    decision_note: str | None
    created_at: datetime


class LawfulAccessPage(BaseModel):
    requests: list[LawfulAccessOut]
    next: str | None = Field(description="pass as `before` for the next page; null on the last")


class LawfulMessageOut(BaseModel):
    """A message as a member's history shows it (without the sender's delivery status)."""

    id: str
    room_id: str
    sender_id: str
    client_msg_id: str
    position: int
    body: str | None = Field(description="null for a deleted message or an erased author")
    reply_to: str | None
    created_at: str
    edited_at: str | None
    deleted: bool
    reactions: dict[str, list[str]] = Field(description="emoji -> ids of who reacted")


class LawfulMessagePage(BaseModel):
    messages: list[LawfulMessageOut]
    has_more: bool


class AuditEntryOut(BaseModel):
    """An entry of the audit log about me: what was done, when, and by whom (a role)."""

    seq: int = Field(description="pass as `before` for older entries")
    at: datetime
    action: str
    actor_role: str = Field(description="person | operator | system")
    by_me: bool = Field(description="whether I did it myself")
    detail: dict[str, Any]


class AuditPage(BaseModel):
    entries: list[AuditEntryOut]
    next: int | None = Field(description="pass as `before` for the next page; null on the last")
