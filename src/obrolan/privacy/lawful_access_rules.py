"""Pure rules of lawful access (R7): the bounds of a request, who decides, who reads."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

# A request covers at most this long: an order for more is filed again, and decided again.
MAX_WINDOW = timedelta(days=30)
# A legal hold ends at most this long after the window: the people read about learn of
# it well within the audit log's 12 months (R5), not never.
MAX_HOLD_AFTER_WINDOW = timedelta(days=180)
MAX_ROOMS = 20
REASON_MAX = 2000
LEGAL_BASIS_MAX = 500


class LawfulAccessStatus(StrEnum):
    pending = "pending"  # filed, waiting for a second operator
    approved = "approved"
    refused = "refused"
    expired = "expired"  # its window ended (approved or not)


class ReadRefusal(StrEnum):
    """Why an operator may not read a room under a request: recorded with the attempt."""

    no_request = "no-such-request"
    not_requester = "not-the-requester"
    not_approved = "not-approved"
    not_yet = "window-not-started"
    ended = "window-ended"
    room_not_named = "room-not-named"


@dataclass(frozen=True, slots=True)
class RequestState:
    """What the read decision needs to know about a request."""

    requested_by: str
    status: LawfulAccessStatus
    starts_at: datetime
    ends_at: datetime
    room_ids: frozenset[str]


def window_problem(starts_at: datetime, ends_at: datetime, now: datetime) -> str | None:
    """Why a window cannot be filed, or None: it must end after it starts, in the future,
    and span at most MAX_WINDOW."""
    if ends_at <= starts_at:
        return "the window must end after it starts"
    if ends_at <= now:
        return "the window has already ended"
    if ends_at - starts_at > MAX_WINDOW:
        return f"the window is at most {MAX_WINDOW.days} days"
    return None


def hold_problem(hold_until: datetime, ends_at: datetime) -> str | None:
    """A hold lasts at least to the window's end (or reads would show while it runs),
    and at most MAX_HOLD_AFTER_WINDOW beyond it."""
    if hold_until < ends_at:
        return "a legal hold lasts at least until the window ends"
    if hold_until - ends_at > MAX_HOLD_AFTER_WINDOW:
        return f"a legal hold ends at most {MAX_HOLD_AFTER_WINDOW.days} days after the window"
    return None


def may_decide(requested_by: str, operator_id: str) -> bool:
    """Four eyes: a request is approved or refused by an operator who did not file it."""
    return bool(operator_id) and operator_id != requested_by


def has_lapsed(status: LawfulAccessStatus, ends_at: datetime, now: datetime) -> bool:
    """A pending or approved request whose window has ended: it expires."""
    return status in (LawfulAccessStatus.pending, LawfulAccessStatus.approved) and now >= ends_at


def read_refusal(
    request: RequestState | None, operator_id: str, room_id: str, now: datetime
) -> ReadRefusal | None:
    """Why this operator may not read this room now, or None when they may.

    Only the operator who filed the request reads under it, only once a second operator
    approved it, only inside its window, and only the rooms it names.
    """
    if request is None:
        return ReadRefusal.no_request
    if request.requested_by != operator_id:
        return ReadRefusal.not_requester
    if now >= request.ends_at:
        return ReadRefusal.ended
    if request.status is not LawfulAccessStatus.approved:
        return ReadRefusal.not_approved
    if now < request.starts_at:
        return ReadRefusal.not_yet
    if room_id not in request.room_ids:
        return ReadRefusal.room_not_named
    return None
