"""Chat tables: rooms, memberships, messages, reactions and blocks."""

from __future__ import annotations

from sqlalchemy import (
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    PrimaryKeyConstraint,
    String,
    Table,
    UniqueConstraint,
    text,
)

from obrolan.db import Position, UTCDateTime, data, metadata, system

ROOM_KINDS = ("direct", "group", "private", "public", "business")

rooms = Table(
    "rooms",
    metadata,
    Column("id", String(26), primary_key=True, info=system()),
    Column("kind", String(8), nullable=False, info=system()),
    # Names are plaintext so that public rooms can be searched by name.
    Column(
        "name",
        String(100),
        nullable=True,
        info=data("user.content.public", "essential.service", "with-row"),
    ),
    Column(
        "topic",
        String(500),
        nullable=True,
        info=data("user.content.public", "essential.service", "with-row"),
    ),
    # "userA:userB" (sorted) for direct chats: at most one direct chat per pair.
    Column(
        "direct_key",
        String(53),
        nullable=True,
        unique=True,
        info=data("user.unique_id", "essential.service", "with-row"),
    ),
    Column(
        "created_by",
        String(26),
        nullable=True,
        info=data("user.unique_id", "essential.service", "with-row"),
    ),
    Column("created_at", UTCDateTime, nullable=False, info=system()),
    # Disappearing messages: the retention sweep removes the room's messages this many
    # days after they were sent (0: off). One of retention.DISAPPEARING_DAYS.
    Column(
        "disappearing_days",
        Integer,
        nullable=False,
        default=0,
        server_default=text("0"),
        info=system(),
    ),
    Index("ix_rooms_kind_name", "kind", "name"),
)

memberships = Table(
    "memberships",
    metadata,
    Column(
        "room_id",
        String(26),
        ForeignKey("rooms.id", ondelete="CASCADE"),
        nullable=False,
        info=system(),
    ),
    Column(
        "user_id",
        String(26),
        ForeignKey("users.id", ondelete="CASCADE"),
        nullable=False,
        info=data("user.unique_id", "essential.service", "with-row"),
    ),
    Column("state", String(8), nullable=False, info=system()),  # join | invite | leave | ban
    Column("role", String(8), nullable=False, info=system()),  # owner | admin | member
    Column(
        "invited_by",
        String(26),
        nullable=True,
        info=data("user.unique_id", "essential.service", "with-row"),
    ),
    # Receipts: stream positions up to which this member has received / read the room.
    Column("delivered_up_to", Position, nullable=False, default=0, info=system()),
    Column("read_up_to", Position, nullable=False, default=0, info=system()),
    Column("updated_at", UTCDateTime, nullable=False, info=system()),
    PrimaryKeyConstraint("room_id", "user_id"),
    Index("ix_memberships_user_id_state", "user_id", "state"),
)

messages = Table(
    "messages",
    metadata,
    Column("id", String(26), primary_key=True, info=system("messages")),
    Column(
        "room_id",
        String(26),
        ForeignKey("rooms.id", ondelete="CASCADE"),
        nullable=False,
        info=system("messages"),
    ),
    Column(
        "sender_id",
        String(26),
        ForeignKey("users.id", ondelete="CASCADE"),
        nullable=False,
        info=data("user.unique_id", "essential.service", "messages"),
    ),
    Column("client_msg_id", String(64), nullable=False, info=system("messages")),
    # Position of the message.created event: orders history and drives receipts.
    Column("position", Position, nullable=False, info=system("messages")),
    # Sealed under the sender's data key (R6); NULL once deleted for everyone.
    Column(
        "body_enc",
        LargeBinary,
        nullable=True,
        info=data("user.content.private", "essential.service", "messages", encrypted=True),
    ),
    Column("reply_to_id", String(26), nullable=True, info=system("messages")),
    Column("created_at", UTCDateTime, nullable=False, info=system("messages")),
    Column("edited_at", UTCDateTime, nullable=True, info=system("messages")),
    Column("deleted_at", UTCDateTime, nullable=True, info=system("messages")),
    # A retry key is the sender's own, per room: the same id in two rooms is two messages.
    UniqueConstraint("sender_id", "room_id", "client_msg_id"),
    Index("ix_messages_room_id_position", "room_id", "position"),
)

reactions = Table(
    "reactions",
    metadata,
    Column(
        "message_id",
        String(26),
        ForeignKey("messages.id", ondelete="CASCADE"),
        nullable=False,
        info=system("messages"),
    ),
    Column(
        "user_id",
        String(26),
        ForeignKey("users.id", ondelete="CASCADE"),
        nullable=False,
        info=data("user.unique_id", "essential.service", "messages"),
    ),
    Column(
        "emoji",
        String(32),
        nullable=False,
        info=data("user.content.private", "essential.service", "messages"),
    ),
    Column("created_at", UTCDateTime, nullable=False, info=system("messages")),
    PrimaryKeyConstraint("message_id", "user_id", "emoji"),
)

# R18: a block stops the blocked person's direct messages and invites.
blocks = Table(
    "blocks",
    metadata,
    Column(
        "blocker_id",
        String(26),
        ForeignKey("users.id", ondelete="CASCADE"),
        nullable=False,
        info=data("user.unique_id", "essential.service", "account"),
    ),
    Column(
        "blocked_id",
        String(26),
        ForeignKey("users.id", ondelete="CASCADE"),
        nullable=False,
        info=data("user.unique_id", "essential.service", "account"),
    ),
    Column("created_at", UTCDateTime, nullable=False, info=system()),
    PrimaryKeyConstraint("blocker_id", "blocked_id"),
)
