"""Room permission rules, decided without a server."""

from __future__ import annotations

from obrolan.chat.rules import (
    Kind,
    Role,
    State,
    arrives_as_request,
    direct_key,
    dm_status,
    may_accept_request,
    may_delete_message,
    may_invite,
    may_join_uninvited,
    may_remove,
    may_set_role,
    repeats_message,
    told_to_target_only,
)


def test_invites_depend_on_room_kind_and_role() -> None:
    assert may_invite(Kind.GROUP, Role.MEMBER)
    assert not may_invite(Kind.PRIVATE, Role.MEMBER)
    assert may_invite(Kind.PRIVATE, Role.ADMIN)
    assert not may_invite(Kind.DIRECT, Role.OWNER)


def test_only_public_rooms_can_be_joined_uninvited() -> None:
    assert [k for k in Kind if may_join_uninvited(k)] == [Kind.PUBLIC]


def test_removal_needs_admin_and_higher_rank() -> None:
    assert may_remove(Role.OWNER, Role.ADMIN)
    assert may_remove(Role.ADMIN, Role.MEMBER)
    assert not may_remove(Role.ADMIN, Role.ADMIN)
    assert not may_remove(Role.ADMIN, Role.OWNER)
    assert not may_remove(Role.MEMBER, Role.MEMBER)


def test_only_owner_sets_roles_and_nobody_makes_owners() -> None:
    assert may_set_role(Role.OWNER, Role.MEMBER, Role.ADMIN)
    assert may_set_role(Role.OWNER, Role.ADMIN, Role.MEMBER)
    assert not may_set_role(Role.ADMIN, Role.MEMBER, Role.ADMIN)
    assert not may_set_role(Role.OWNER, Role.MEMBER, Role.OWNER)


def test_message_deletion_by_author_or_admin() -> None:
    assert may_delete_message("u1", "u1", Role.MEMBER)
    assert not may_delete_message("u2", "u1", Role.MEMBER)
    assert may_delete_message("u2", "u1", Role.ADMIN)


def test_direct_key_is_the_same_from_both_sides() -> None:
    assert direct_key("b", "a") == direct_key("a", "b") == "a:b"


def test_dm_status_from_receipts() -> None:
    assert dm_status(5, delivered_up_to=4, read_up_to=0) == "sent"
    assert dm_status(5, delivered_up_to=5, read_up_to=4) == "delivered"
    assert dm_status(5, delivered_up_to=9, read_up_to=5) == "read"


def _stored(body: str | None, reply_to: str | None = None, **changed: object) -> dict[str, object]:
    return {"body": body, "reply_to": reply_to, "deleted": False, "edited_at": None, **changed}


def test_a_retry_repeats_the_body_and_reply_of_the_first_send() -> None:
    assert repeats_message(_stored("halo"), "halo", None)
    assert not repeats_message(_stored("halo"), "halo lagi", None)
    assert not repeats_message(_stored("halo", "m1"), "halo", None)
    assert not repeats_message(_stored("halo"), "halo", "m1")


def test_a_retry_of_a_message_changed_since_is_still_a_retry() -> None:
    assert repeats_message(_stored(None, deleted=True), "halo", None)
    assert repeats_message(_stored("edited", edited_at="2026-01-01T00:00:00Z"), "halo", None)


def test_r18_only_strangers_chats_arrive_as_requests_and_only_when_wanted() -> None:
    assert arrives_as_request(wants_requests=True, share_a_room=False)
    assert not arrives_as_request(wants_requests=True, share_a_room=True)
    assert not arrives_as_request(wants_requests=False, share_a_room=False)


def test_r18_requests_and_declines_are_told_to_their_recipient_alone() -> None:
    assert {s for s in State if told_to_target_only(s)} == {State.REQUEST, State.DECLINED}
    assert {s for s in State if may_accept_request(s)} == {State.REQUEST, State.DECLINED}
