"""What a site administrator may do: pure decisions, unit-tested without a server."""

from __future__ import annotations

from obrolan.chat.rules import Kind


def may_close_account(actor_id: str, target_id: str) -> bool:
    """Any account but one's own: an administrator cannot lock themselves out by mistake."""
    return actor_id != target_id


def may_remove_room(kind: Kind) -> bool:
    """Public rooms only: the others are private to their members, even to administrators."""
    return kind is Kind.PUBLIC
