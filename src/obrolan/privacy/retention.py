"""Retention rules: how long each kind of data is kept, by name.

Columns name one of these rules in their data declaration. The names and periods live
here so the data map and the policy text say the same thing; the recurring
`retention.sweep` job (obrolan.privacy.sweep) enforces them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from obrolan.accounts.rules import SessionCutoffs, SessionLifetime


@dataclass(frozen=True, slots=True)
class RetentionRule:
    name: str
    summary: str
    promise: str | None = None


RULES: dict[str, RetentionRule] = {
    rule.name: rule
    for rule in [
        RetentionRule("with-row", "kept as long as the row it belongs to"),
        RetentionRule(
            "account",
            "while the account is active and 90 days after it is closed",
            "R3",
        ),
        RetentionRule(
            "messages",
            "until deleted by its author or the room, or erased with the account",
            "R4",
        ),
        RetentionRule("session", "until the session is revoked or expires, then 90 days", "R17"),
        RetentionRule("security-log", "12 months, for security monitoring", "R5"),
        RetentionRule(
            "throttle",
            "until its counting window passes (at most a day): only for throttling",
            "R17",
        ),
        RetentionRule(
            "jobs",
            "until the job is done or cancelled, then 7 days; a dead job 30 days",
        ),
        RetentionRule(
            "verification-code",
            "until the code is used, replaced or expired (minutes): only to confirm an address",
            "F1",
        ),
        RetentionRule("stream", "as long as the event it orders; content lives in its row", "R4"),
        RetentionRule(
            "audit-log",
            "12 months, as evidence of who did what; about people by id only",
            "R7",
        ),
        RetentionRule(
            "privacy-request",
            "while the account exists, then 12 months by id only, as evidence of the answer",
            "R13",
        ),
        RetentionRule(
            "export",
            "a finished data export: until OBROLAN_PRIVACY_EXPORT_HOURS (72) after it was"
            " built, then deleted",
            "R1",
        ),
    ]
}


# "session": a session's row is kept this long after it is revoked or expires, so that
# a person can still see where their account was used (R17).
SESSION_KEPT_AFTER_END = timedelta(days=90)


@dataclass(frozen=True, slots=True)
class SessionPurge:
    """Sessions past the "session" rule: revoked before `revoked_before`, or expired by `ended`."""

    ended: SessionCutoffs
    revoked_before: datetime


def session_purge(lifetime: SessionLifetime, now: datetime) -> SessionPurge:
    """Which sessions the "session" rule lets go at `now`: ended 90 days ago or more.

    Expired 90 days ago means expired by the lifetime's cutoffs taken 90 days ago.
    """
    then = now - SESSION_KEPT_AFTER_END
    return SessionPurge(ended=lifetime.cutoffs(then), revoked_before=then)


def throttle_cutoff(now: datetime, window_seconds: int) -> datetime:
    """ "throttle": a counted attempt is dropped once its counting window has passed."""
    return now - timedelta(seconds=window_seconds)
