"""Chat routes under /api/v1: parse, call the service, shape the answer. No rules here."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response, status

from obrolan.api.deps import PrincipalDep, ServicesDep
from obrolan.api.inputs import POSITION_MAX
from obrolan.chat.schemas import (
    BanOut,
    BansOut,
    CreateRoom,
    EditMessage,
    MyRoomsOut,
    OpenDirect,
    PersonRef,
    Receipts,
    RoomOut,
    SendMessage,
    SetRole,
    UpdateRoom,
)

router = APIRouter(tags=["chat"])

RoomId = Annotated[str, Path(max_length=26)]
MessageId = Annotated[str, Path(max_length=26)]
UserId = Annotated[str, Path(max_length=26)]


@router.post("/rooms", status_code=status.HTTP_201_CREATED)
async def create_room(body: CreateRoom, me: PrincipalDep, services: ServicesDep) -> dict[str, Any]:
    return await services.chat.create_room(
        me.user_id, body.kind, body.name, body.topic, body.members
    )


@router.post("/rooms/direct", status_code=status.HTTP_201_CREATED)
async def open_direct(
    body: OpenDirect, response: Response, me: PrincipalDep, services: ServicesDep
) -> dict[str, Any]:
    """The direct chat with a person: 201 when created now, 200 when it already existed."""
    room, created = await services.chat.open_direct(me.user_id, body.user_id)
    if not created:
        response.status_code = status.HTTP_200_OK
    return room


@router.get("/rooms")
async def my_rooms(me: PrincipalDep, services: ServicesDep) -> MyRoomsOut:
    """Rooms I joined (newest message, unread count), invites, message requests."""
    return MyRoomsOut.model_validate(await services.chat.my_rooms(me.user_id))


@router.get("/rooms/public")
async def public_rooms(
    me: PrincipalDep,
    services: ServicesDep,
    q: Annotated[str, Query(max_length=100)] = "",
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    after: Annotated[str | None, Query(max_length=200)] = None,
) -> dict[str, Any]:
    return await services.chat.search_public(q, limit, after)


@router.get("/rooms/{room_id}")
async def get_room(room_id: RoomId, me: PrincipalDep, services: ServicesDep) -> dict[str, Any]:
    return await services.chat.get_room(me.user_id, room_id)


@router.patch("/rooms/{room_id}")
async def update_room(
    room_id: RoomId, body: UpdateRoom, me: PrincipalDep, services: ServicesDep
) -> dict[str, Any]:
    return await services.chat.update_room(
        me.user_id, room_id, body.name, body.topic, body.disappearing_days
    )


@router.get("/rooms/{room_id}/members")
async def members(room_id: RoomId, me: PrincipalDep, services: ServicesDep) -> dict[str, Any]:
    return {"members": await services.chat.members(me.user_id, room_id)}


@router.get("/rooms/{room_id}/bans")
async def bans(room_id: RoomId, me: PrincipalDep, services: ServicesDep) -> BansOut:
    return BansOut(bans=[BanOut(user_id=u) for u in await services.chat.bans(me.user_id, room_id)])


@router.post("/rooms/{room_id}/join")
async def join(room_id: RoomId, me: PrincipalDep, services: ServicesDep) -> dict[str, Any]:
    return await services.chat.join(me.user_id, room_id)


@router.post("/rooms/{room_id}/accept")
async def accept_request(room_id: RoomId, me: PrincipalDep, services: ServicesDep) -> RoomOut:
    """Accept a message request: I join the direct chat, its history and new messages (R18)."""
    return RoomOut.model_validate(await services.chat.requests.accept(me.user_id, room_id))


@router.post("/rooms/{room_id}/decline", status_code=status.HTTP_204_NO_CONTENT)
async def decline_request(room_id: RoomId, me: PrincipalDep, services: ServicesDep) -> None:
    """Decline a message request: nothing of it reaches me; the sender is not told (R18)."""
    await services.chat.requests.decline(me.user_id, room_id)


@router.post("/rooms/{room_id}/leave", status_code=status.HTTP_204_NO_CONTENT)
async def leave(room_id: RoomId, me: PrincipalDep, services: ServicesDep) -> None:
    await services.chat.leave(me.user_id, room_id)


@router.post("/rooms/{room_id}/invites", status_code=status.HTTP_204_NO_CONTENT)
async def invite(room_id: RoomId, body: PersonRef, me: PrincipalDep, services: ServicesDep) -> None:
    await services.chat.invite(me.user_id, room_id, body.user_id)


@router.post("/rooms/{room_id}/kicks", status_code=status.HTTP_204_NO_CONTENT)
async def kick(room_id: RoomId, body: PersonRef, me: PrincipalDep, services: ServicesDep) -> None:
    await services.chat.remove(me.user_id, room_id, body.user_id, ban=False)


@router.post("/rooms/{room_id}/bans", status_code=status.HTTP_204_NO_CONTENT)
async def ban(room_id: RoomId, body: PersonRef, me: PrincipalDep, services: ServicesDep) -> None:
    await services.chat.remove(me.user_id, room_id, body.user_id, ban=True)


@router.delete("/rooms/{room_id}/bans/{user_id}", status_code=status.HTTP_204_NO_CONTENT)
async def unban(room_id: RoomId, user_id: UserId, me: PrincipalDep, services: ServicesDep) -> None:
    await services.chat.unban(me.user_id, room_id, user_id)


@router.put("/rooms/{room_id}/members/{user_id}/role", status_code=status.HTTP_204_NO_CONTENT)
async def set_role(
    room_id: RoomId, user_id: UserId, body: SetRole, me: PrincipalDep, services: ServicesDep
) -> None:
    await services.chat.set_role(me.user_id, room_id, user_id, body.role)


@router.post("/rooms/{room_id}/messages", status_code=status.HTTP_201_CREATED)
async def send_message(
    room_id: RoomId, body: SendMessage, response: Response, me: PrincipalDep, services: ServicesDep
) -> dict[str, Any]:
    """Send; acknowledged after commit. A retried client_msg_id answers 200 with the original."""
    result = await services.chat.send(
        me.user_id, room_id, body.client_msg_id, body.body, body.reply_to
    )
    if result.duplicate:
        response.status_code = status.HTTP_200_OK
    return result.message


@router.get("/rooms/{room_id}/messages")
async def history(
    room_id: RoomId,
    me: PrincipalDep,
    services: ServicesDep,
    before: Annotated[
        int | None, Query(ge=0, le=POSITION_MAX, description="older than this position")
    ] = None,
    after: Annotated[
        int | None, Query(ge=0, le=POSITION_MAX, description="newer than this position")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
) -> dict[str, Any]:
    """A page of messages, oldest first. Without cursors: the newest page."""
    page = await services.chat.history(me.user_id, room_id, before=before, after=after, limit=limit)
    return {"messages": page.messages, "has_more": page.has_more}


@router.patch("/messages/{message_id}")
async def edit_message(
    message_id: MessageId, body: EditMessage, me: PrincipalDep, services: ServicesDep
) -> dict[str, Any]:
    return await services.chat.edit(me.user_id, message_id, body.body)


@router.delete("/messages/{message_id}")
async def delete_message(
    message_id: MessageId, me: PrincipalDep, services: ServicesDep
) -> dict[str, Any]:
    return await services.chat.delete(me.user_id, message_id)


@router.put("/messages/{message_id}/reactions/{emoji}", status_code=status.HTTP_204_NO_CONTENT)
async def add_reaction(
    message_id: MessageId,
    emoji: Annotated[str, Path(max_length=32)],
    me: PrincipalDep,
    services: ServicesDep,
) -> None:
    await services.chat.react(me.user_id, message_id, emoji, add=True)


@router.delete("/messages/{message_id}/reactions/{emoji}", status_code=status.HTTP_204_NO_CONTENT)
async def remove_reaction(
    message_id: MessageId,
    emoji: Annotated[str, Path(max_length=32)],
    me: PrincipalDep,
    services: ServicesDep,
) -> None:
    await services.chat.react(me.user_id, message_id, emoji, add=False)


@router.post("/rooms/{room_id}/receipts")
async def receipts(
    room_id: RoomId, body: Receipts, me: PrincipalDep, services: ServicesDep
) -> dict[str, int]:
    return await services.chat.mark(me.user_id, room_id, body.delivered_up_to, body.read_up_to)


@router.get("/blocks")
async def list_blocks(me: PrincipalDep, services: ServicesDep) -> dict[str, Any]:
    return {"blocks": await services.chat.blocked(me.user_id)}


@router.post("/blocks", status_code=status.HTTP_204_NO_CONTENT)
async def block(body: PersonRef, me: PrincipalDep, services: ServicesDep) -> None:
    await services.chat.block(me.user_id, body.user_id)


@router.delete("/blocks/{user_id}", status_code=status.HTTP_204_NO_CONTENT)
async def unblock(user_id: UserId, me: PrincipalDep, services: ServicesDep) -> None:
    await services.chat.unblock(me.user_id, user_id)
