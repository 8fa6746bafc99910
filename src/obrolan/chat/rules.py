"""Who may do what in a room: pure decisions, unit-tested without a server (F2, R18)."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any


class Kind(StrEnum):
    DIRECT = "direct"  # exactly two people, one room per pair
    GROUP = "group"  # invite only; any member may add people
    PRIVATE = "private"  # invite only; only admins invite
    PUBLIC = "public"  # listed and searchable; anyone may join
    # A person and a business's number (obrolan.business): two members, like a direct chat.
    BUSINESS = "business"


def is_two_person(kind: Kind) -> bool:
    """Direct and business chats: exactly two people, nobody invited, left or removed."""
    return kind is Kind.DIRECT or kind is Kind.BUSINESS


class Role(StrEnum):
    OWNER = "owner"
    ADMIN = "admin"
    MEMBER = "member"


class State(StrEnum):
    JOIN = "join"
    INVITE = "invite"
    LEAVE = "leave"
    BAN = "ban"
    # A direct chat from a stranger, waiting for its recipient to accept or decline (R18).
    REQUEST = "request"
    DECLINED = "declined"


_RANK = {Role.OWNER: 3, Role.ADMIN: 2, Role.MEMBER: 1}


def outranks(actor: Role, target: Role) -> bool:
    return _RANK[actor] > _RANK[target]


def is_admin(role: Role) -> bool:
    return _RANK[role] >= _RANK[Role.ADMIN]


def may_invite(kind: Kind, actor: Role) -> bool:
    if is_two_person(kind):
        return False
    if kind is Kind.PRIVATE:
        return is_admin(actor)
    return True


def may_join_uninvited(kind: Kind) -> bool:
    return kind is Kind.PUBLIC


def may_remove(actor: Role, target: Role) -> bool:
    """Kick or ban: an admin or owner, over someone of lower rank."""
    return is_admin(actor) and outranks(actor, target)


def may_set_role(actor: Role, target_current: Role, new_role: Role) -> bool:
    """Owners appoint and remove admins; nobody changes the owner's role or makes owners."""
    if new_role is Role.OWNER or target_current is Role.OWNER:
        return False
    return actor is Role.OWNER


def may_update_room(kind: Kind, actor: Role) -> bool:
    return not is_two_person(kind) and is_admin(actor)


def may_delete_message(actor_id: str, sender_id: str, actor_role: Role) -> bool:
    """Authors delete their own messages; room admins delete anyone's (moderation)."""
    return actor_id == sender_id or is_admin(actor_role)


def hides_existence(kind: Kind) -> bool:
    """Outsiders of non-public rooms get 'not found', so a room's existence does not leak."""
    return kind is not Kind.PUBLIC


def arrives_as_request(*, wants_requests: bool, share_a_room: bool) -> bool:
    """Whether a new direct chat reaches its recipient as a message request (R18).

    People who already talk in a room they share are no strangers to each other.
    """
    return wants_requests and not share_a_room


def told_to_target_only(state: State) -> bool:
    """Membership changes that only the person concerned hears of (R18).

    A request and its decline must not tell the sender anything: to them a pending
    request and a declined one look the same.
    """
    return state in (State.REQUEST, State.DECLINED)


def may_accept_request(state: State) -> bool:
    """A request may be accepted while pending, and also after a decline."""
    return state in (State.REQUEST, State.DECLINED)


def direct_key(a: str, b: str) -> str:
    """The one key of a direct chat between two people, whoever opened it."""
    first, second = sorted((a, b))
    return f"{first}:{second}"


def dm_status(position: int, delivered_up_to: int, read_up_to: int) -> str:
    """Per-message status in a direct chat, from the other person's receipts."""
    if position <= read_up_to:
        return "read"
    if position <= delivered_up_to:
        return "delivered"
    return "sent"


def repeats_message(stored: Mapping[str, Any], body: str, reply_to: str | None) -> bool:
    """Whether a send whose client_msg_id was used before is a retry of that message.

    A retry carries what the first send carried. The stored message may have been
    edited or deleted since (its ack was lost, it was changed elsewhere): then nothing
    is left to compare, and the send is taken as the retry it most likely is. Anything
    else under a used id is another message, refused rather than silently dropped.
    """
    if stored["deleted"] or stored["edited_at"] is not None:
        return True
    return bool(stored["body"] == body and stored["reply_to"] == reply_to)
