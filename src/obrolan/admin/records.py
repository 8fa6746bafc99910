"""What the administration service hands back; shaped into JSON by the api layer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class AccountSummary:
    """An account as a site administrator sees it: no contact details (R6)."""

    id: str
    username: str
    # None only when the person's data key was destroyed (erasure, R4).
    display_name: str | None
    is_admin: bool
    created_at: datetime
    closed_at: datetime | None


@dataclass(frozen=True, slots=True)
class AccountPage:
    accounts: list[AccountSummary]
    # The username to pass as `after` for the next page; None on the last page.
    next: str | None
