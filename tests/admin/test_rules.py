"""What a site administrator may do, decided without a server."""

from __future__ import annotations

from obrolan.admin.rules import may_close_account, may_remove_room
from obrolan.chat.rules import Kind


def test_an_admin_closes_others_but_not_themselves() -> None:
    assert may_close_account("admin", "someone")
    assert not may_close_account("admin", "admin")


def test_only_public_rooms_are_removable() -> None:
    assert [k for k in Kind if may_remove_room(k)] == [Kind.PUBLIC]
