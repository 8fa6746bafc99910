"""Request bodies of the chat API, with their limits."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from obrolan.chat.rules import Kind, Role

UserId = Annotated[str, Field(min_length=1, max_length=26)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CreateRoom(_Body):
    kind: Kind = Kind.GROUP
    name: str | None = Field(default=None, min_length=1, max_length=100)
    topic: str | None = Field(default=None, max_length=500)
    members: list[UserId] = Field(default_factory=list, max_length=500)


class OpenDirect(_Body):
    user_id: UserId


class UpdateRoom(_Body):
    name: str | None = Field(default=None, min_length=1, max_length=100)
    topic: str | None = Field(default=None, max_length=500)


class PersonRef(_Body):
    user_id: UserId


class SetRole(_Body):
    role: Role


class SendMessage(_Body):
    client_msg_id: str = Field(min_length=1, max_length=64)
    # The service enforces the configured limit; this bound stops absurd bodies early.
    body: str = Field(min_length=1, max_length=100_000)
    reply_to: str | None = Field(default=None, max_length=26)


class EditMessage(_Body):
    body: str = Field(min_length=1, max_length=100_000)


class Receipts(_Body):
    delivered_up_to: int | None = Field(default=None, ge=0)
    read_up_to: int | None = Field(default=None, ge=0)
