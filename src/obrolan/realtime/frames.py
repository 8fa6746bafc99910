"""Building and serialising the frames clients receive (see docs/protocol.md).

An event frame is serialised once, then the same string is sent to every recipient.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson


def dumps(frame: dict[str, Any]) -> str:
    return orjson.dumps(frame).decode()


def iso(at: datetime | None) -> str | None:
    return at.isoformat().replace("+00:00", "Z") if at is not None else None


def event_frame(
    position: int, kind: str, room_id: str | None, at: datetime, data: dict[str, Any]
) -> dict[str, Any]:
    return {
        "type": "event",
        "position": position,
        "kind": kind,
        "room_id": room_id,
        "at": iso(at),
        "data": data,
    }


def error_frame(request_id: Any, problem: dict[str, Any]) -> dict[str, Any]:
    return {"type": "error", "id": request_id, "error": problem}


def presence_frame(user_id: str, status: str) -> str:
    """`online` or `offline`, serialised: sent as is to everyone who shares a room."""
    return dumps({"type": "presence", "user_id": user_id, "status": status})
