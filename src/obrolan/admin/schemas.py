"""Response bodies of the administration API."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class AdminAccountOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    username: str
    display_name: str | None = Field(description="null once the person was erased")
    is_admin: bool
    created_at: datetime
    closed_at: datetime | None = Field(description="when the account was closed; null if open")


class AdminAccountPage(BaseModel):
    users: list[AdminAccountOut]
    next: str | None = Field(description="pass as `after` for the next page; null on the last")
