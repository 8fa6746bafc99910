"""Retention rules: how long each kind of data is kept, by name.

Columns name one of these rules in their data declaration. The sweeps that enforce
them belong to the privacy engine; the names and periods live here so the data map and
the policy text say the same thing.
"""

from __future__ import annotations

from dataclasses import dataclass


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
        RetentionRule("stream", "as long as the event it orders; content lives in its row", "R4"),
    ]
}
