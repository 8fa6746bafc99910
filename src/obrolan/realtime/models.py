"""The event stream: one row per event, whatever the number of its recipients.

A row orders an event and says who may see it (a room's members, or one person); it
holds no message text. Content is read from its own row when an event is replayed, so
a message deleted for everyone is never re-delivered, and erasing a person's key
erases what they wrote everywhere (R4).
"""

from __future__ import annotations

from sqlalchemy import Column, Index, LargeBinary, String, Table

from obrolan.db import Position, UTCDateTime, data, metadata, system

events = Table(
    "events",
    metadata,
    Column("position", Position, primary_key=True, autoincrement=True, info=system("stream")),
    Column("kind", String(32), nullable=False, info=system("stream")),
    Column("room_id", String(26), nullable=True, info=system("stream")),
    # For events addressed to one person (their own membership change, a new-device alert).
    Column(
        "target_user_id",
        String(26),
        nullable=True,
        info=data("user.unique_id", "essential.service", "stream"),
    ),
    Column(
        "actor_id",
        String(26),
        nullable=True,
        info=data("user.unique_id", "essential.service", "stream"),
    ),
    Column("message_id", String(26), nullable=True, info=system("stream")),
    # JSON of the event's non-personal fields (emoji, role, receipt positions).
    Column("payload", LargeBinary, nullable=True, info=system("stream")),
    Column("created_at", UTCDateTime, nullable=False, info=system("stream")),
    Index("ix_events_room_id_position", "room_id", "position"),
    Index("ix_events_target_user_id_position", "target_user_id", "position"),
    sqlite_autoincrement=True,
)
