"""Who is acting: every service call takes the acting principal explicitly."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Principal:
    user_id: str
    session_id: str
    is_admin: bool = False
