"""Request bodies of the chat API, with their limits, and the typed answers."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field

from obrolan.api.inputs import POSITION_MAX, RequestBody
from obrolan.chat.rules import Kind, Role

UserId = Annotated[str, Field(min_length=1, max_length=26)]
Position = Annotated[int, Field(ge=0, le=POSITION_MAX)]


class CreateRoom(RequestBody):
    kind: Kind = Kind.GROUP
    name: str | None = Field(default=None, min_length=1, max_length=100)
    topic: str | None = Field(default=None, max_length=500)
    members: list[UserId] = Field(default_factory=list, max_length=500)


class OpenDirect(RequestBody):
    user_id: UserId


class UpdateRoom(RequestBody):
    name: str | None = Field(default=None, min_length=1, max_length=100)
    topic: str | None = Field(default=None, max_length=500)
    # Disappearing messages: removed this many days after they were sent; 0 turns it off.
    # The same periods as obrolan.privacy.retention.DISAPPEARING_DAYS.
    disappearing_days: Literal[0, 1, 7, 90] | None = None


class PersonRef(RequestBody):
    user_id: UserId


class SetRole(RequestBody):
    role: Role


class SendMessage(RequestBody):
    client_msg_id: str = Field(min_length=1, max_length=64)
    # The service enforces the configured limit; this bound stops absurd bodies early.
    body: str = Field(min_length=1, max_length=100_000)
    reply_to: str | None = Field(default=None, max_length=26)


class EditMessage(RequestBody):
    body: str = Field(min_length=1, max_length=100_000)


class Receipts(RequestBody):
    delivered_up_to: Position | None = None
    read_up_to: Position | None = None


# -- responses -----------------------------------------------------------------------
class RoomOut(BaseModel):
    id: str
    kind: Kind
    name: str | None
    topic: str | None
    created_by: str | None
    created_at: str = Field(description="ISO 8601, UTC")
    disappearing_days: int = Field(
        default=0, description="messages are removed this many days after sending; 0: off"
    )


class MessageOut(BaseModel):
    """A message as in docs/protocol.md: `body` null and `deleted` true for a tombstone."""

    id: str
    room_id: str
    sender_id: str | None
    client_msg_id: str | None
    position: int | None
    body: str | None
    reply_to: str | None
    created_at: str | None = Field(description="ISO 8601, UTC")
    edited_at: str | None
    deleted: bool


class JoinedRoomOut(RoomOut):
    role: Role
    unread: int = Field(description="messages from others after my read marker")
    read_up_to: int
    last_message: MessageOut | None = Field(
        default=None, description="the room's newest message, a tombstone too; null: none yet"
    )


class RequestSender(BaseModel):
    id: str
    username: str
    display_name: str | None


class RequestRoomOut(RoomOut):
    sender: RequestSender
    messages: int = Field(description="how many messages wait")


class MyRoomsOut(BaseModel):
    rooms: list[JoinedRoomOut]
    invites: list[RoomOut]
    requests: list[RequestRoomOut]


class BanOut(BaseModel):
    user_id: str


class BansOut(BaseModel):
    """`GET /rooms/{id}/bans`: who is banned from the room (its admins and owner only)."""

    bans: list[BanOut]
