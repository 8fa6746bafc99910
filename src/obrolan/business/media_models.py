"""Media a business uploads through the Cloud API (F9): the row here, the bytes in a file
encrypted under the business's data key (obrolan.business.media)."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    ForeignKey,
    Index,
    LargeBinary,
    PrimaryKeyConstraint,
    String,
    Table,
)

from obrolan.db import UTCDateTime, data, metadata, system

# Kept as long as the business messages that carry it (R2): deleted with its file.
business_media = Table(
    "business_media",
    metadata,
    Column("id", String(26), primary_key=True, info=system("business-messages")),
    Column(
        "business_id",
        String(26),
        ForeignKey("businesses.id", ondelete="CASCADE"),
        nullable=False,
        info=system("business-messages"),
    ),
    Column("mime_type", String(128), nullable=False, info=system("business-messages")),
    Column("sha256", String(64), nullable=False, info=system("business-messages")),
    Column("file_size", BigInteger, nullable=False, info=system("business-messages")),
    # A document's name may name a person ("invoice-budi.pdf"): sealed like its bytes.
    Column(
        "filename_enc",
        LargeBinary,
        nullable=True,
        info=data("user.content.private", "essential.service", "business-messages", encrypted=True),
    ),
    # The encrypted file, relative to the media directory (OBROLAN_BUSINESS_MEDIA_DIR).
    Column("file_path", String(128), nullable=False, info=system("business-messages")),
    Column("created_at", UTCDateTime, nullable=False, info=system("business-messages")),
    Index("ix_business_media_business_id", "business_id"),
    Index("ix_business_media_created_at", "created_at"),
)

# The rooms whose joined members may download a media: those the business sent it into.
business_media_rooms = Table(
    "business_media_rooms",
    metadata,
    Column(
        "media_id",
        String(26),
        ForeignKey("business_media.id", ondelete="CASCADE"),
        nullable=False,
        info=system("business-messages"),
    ),
    Column(
        "room_id",
        String(26),
        ForeignKey("rooms.id", ondelete="CASCADE"),
        nullable=False,
        info=system("business-messages"),
    ),
    Column("granted_at", UTCDateTime, nullable=False, info=system("business-messages")),
    PrimaryKeyConstraint("media_id", "room_id"),
    Index("ix_business_media_rooms_room_id", "room_id"),
)
