"""Pure business decisions (F9, F10, R16): roles, the customer-service window, opt-out
keywords, Cloud API ids. No I/O; time comes in as arguments."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from enum import StrEnum


class BusinessRole(StrEnum):
    OWNER = "owner"  # everything, including members and tokens
    ADMIN = "admin"  # numbers, tokens, templates, webhooks, opt-ins
    AGENT = "agent"  # reads and answers conversations


_RANK = {BusinessRole.OWNER: 3, BusinessRole.ADMIN: 2, BusinessRole.AGENT: 1}


def may_manage(role: BusinessRole) -> bool:
    """Numbers, tokens, templates, webhooks and the profile: admins and the owner."""
    return _RANK[role] >= _RANK[BusinessRole.ADMIN]


def may_change_member(actor: BusinessRole, target: BusinessRole, new: BusinessRole | None) -> bool:
    """The owner adds, changes and removes members; nobody makes or unmakes an owner."""
    if actor is not BusinessRole.OWNER:
        return False
    return target is not BusinessRole.OWNER and new is not BusinessRole.OWNER


# -- the customer-service window (item 6) -------------------------------------------------


def window_closes_at(last_inbound_at: datetime | None, hours: int) -> datetime | None:
    """When free-form messages stop being allowed; None when the person never wrote."""
    return None if last_inbound_at is None else last_inbound_at + timedelta(hours=hours)


def window_is_open(last_inbound_at: datetime | None, now: datetime, hours: int) -> bool:
    closes = window_closes_at(last_inbound_at, hours)
    return closes is not None and now < closes


# -- opt-out keywords (R16) ---------------------------------------------------------------


class Keyword(StrEnum):
    STOP = "stop"
    START = "start"


# The language a keyword is answered in: the person's own, as they wrote it.
_KEYWORDS: dict[str, tuple[Keyword, str]] = {
    "stop": (Keyword.STOP, "en"),
    "unsubscribe": (Keyword.STOP, "en"),
    "berhenti": (Keyword.STOP, "id"),
    "start": (Keyword.START, "en"),
    "subscribe": (Keyword.START, "en"),
    "mulai": (Keyword.START, "id"),
}


def keyword_of(text: str) -> tuple[Keyword, str] | None:
    """A message that is only an opt-out or opt-in word (any case, trailing '.' or '!')."""
    return _KEYWORDS.get(text.strip().rstrip(".!").strip().lower())


# -- ids ----------------------------------------------------------------------------------

_DIGITS = re.compile(r"\D")


def wa_id(e164: str) -> str:
    """The Cloud API's wa_id: the number's digits, without '+'."""
    return _DIGITS.sub("", e164)


def wamid(message_id: str) -> str:
    """A Cloud-API-style message id for one of ours ("wamid." and an opaque rest)."""
    return f"wamid.{message_id}"
