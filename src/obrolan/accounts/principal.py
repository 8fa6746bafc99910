"""Who is acting: every service call takes the acting principal explicitly."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Principal:
    user_id: str
    session_id: str
    is_admin: bool = False
    # When the session reaches its maximum age and stops working, whatever its use (R17).
    session_ends_at: datetime | None = None
