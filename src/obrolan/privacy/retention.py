"""Retention rules: how long each kind of data is kept, by name.

Columns name one of these rules in their data declaration. The names and periods live
here so the data map and the policy text say the same thing; the recurring
`retention.sweep` job (obrolan.privacy.sweep) enforces them. Where a promise sets a
period (the privacy section of obrolan.config), `retention_rules(settings)` words the
rule with the deployment's own number and the sweep reads the same setting, so the map
printed and the rows deleted cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from obrolan.accounts.rules import SessionCutoffs, SessionLifetime
from obrolan.config import Settings


@dataclass(frozen=True, slots=True)
class RetentionRule:
    name: str
    summary: str
    promise: str | None = None


# Rules whose periods no setting changes; the others are worded by `retention_rules`.
_FIXED = [
    RetentionRule("with-row", "kept as long as the row it belongs to"),
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
        "privacy-request",
        "while the account exists, then 12 months by id only, as evidence of the answer",
        "R13",
    ),
]


# "session": a session's row is kept this long after it is revoked or expires, so that
# a person can still see where their account was used (R17) — never longer than the
# deployment keeps its logs (R5), since the row holds the device and address.
SESSION_KEPT_AFTER_END = timedelta(days=90)

# Periods a room's admins may choose for disappearing messages, in days (0: off).
DISAPPEARING_DAYS = (0, 1, 7, 90)


def _days(n: int) -> str:
    return "1 day" if n == 1 else f"{n} days"


def session_kept_after_end(settings: Settings) -> timedelta:
    """How long an ended session's row stays: 90 days, or less if logs are kept less (R5)."""
    return min(SESSION_KEPT_AFTER_END, timedelta(days=settings.privacy_log_days))


def log_kept(settings: Settings) -> timedelta:
    """ "security-log" and "audit-log": `privacy_log_days` (R5)."""
    return timedelta(days=settings.privacy_log_days)


def retention_rules(settings: Settings) -> dict[str, RetentionRule]:
    """Every rule, worded with this deployment's periods.

    Also the rules no column names (encrypted backups), so the printed map states every
    period the deployment promises.
    """
    log_days = _days(settings.privacy_log_days)
    session_days = _days(session_kept_after_end(settings).days)
    *shorter, longest = [str(d) for d in DISAPPEARING_DAYS if d]
    periods = f"{', '.join(shorter)} or {longest} days"
    worded = [
        RetentionRule(
            "account",
            "while the account is active and"
            f" {_days(settings.privacy_closed_account_days)} after it is closed",
            "R3",
        ),
        RetentionRule(
            "messages",
            "until deleted by its author or the room, or erased with the account; in a room"
            f" with disappearing messages on, {periods} after it was sent, as its admins chose",
            "R4",
        ),
        RetentionRule(
            "session",
            f"until the session is revoked or expires, then {session_days}",
            "R17",
        ),
        RetentionRule("security-log", f"{log_days}, for security monitoring", "R5"),
        RetentionRule(
            "audit-log",
            f"{log_days}, as evidence of who did what; about people by id only",
            "R7",
        ),
        RetentionRule(
            "backup",
            f"encrypted backups: {_days(settings.privacy_backup_days)}, then deleted",
            "R5",
        ),
        RetentionRule(
            "business-messages",
            f"a business message: {settings.business_message_days} days after it was"
            " delivered (or failed), then deleted with its content",
            "R2",
        ),
        RetentionRule(
            "business-opt-in",
            "while the person stays opted in to the business; withdrawn, as evidence for"
            f" {log_days}",
            "R16",
        ),
        RetentionRule(
            "webhook-log",
            f"a business's webhook deliveries: {log_days}; the bodies, which hold message"
            f" content, only {settings.business_message_days} days",
            "R2",
        ),
        RetentionRule(
            "export",
            f"a finished data export: {settings.privacy_export_hours} hours after it was"
            " built, then deleted",
            "R1",
        ),
    ]
    return {rule.name: rule for rule in [*_FIXED, *worded]}


# Worded with the default settings (read from the Settings class, not the environment);
# `retention_rules(settings)` gives the deployment's. The names are the same.
RULES: dict[str, RetentionRule] = retention_rules(Settings.model_construct())


@dataclass(frozen=True, slots=True)
class SessionPurge:
    """Sessions past the "session" rule: revoked before `revoked_before`, or expired by `ended`."""

    ended: SessionCutoffs
    revoked_before: datetime


def session_purge(
    lifetime: SessionLifetime, now: datetime, kept: timedelta = SESSION_KEPT_AFTER_END
) -> SessionPurge:
    """Which sessions the "session" rule lets go at `now`: ended `kept` ago or more.

    Expired 90 days ago means expired by the lifetime's cutoffs taken 90 days ago.
    """
    then = now - kept
    return SessionPurge(ended=lifetime.cutoffs(then), revoked_before=then)


def throttle_cutoff(now: datetime, window_seconds: int) -> datetime:
    """ "throttle": a counted attempt is dropped once its counting window has passed."""
    return now - timedelta(seconds=window_seconds)
