"""Export tables: a finished export and its sealed parts, kept in the database (R1).

In the database, not on a node's disk, so any node can serve the download. The ZIP is
split into parts, each sealed (AES-256-GCM) under a key of the export's own, and that
key is stored only sealed under the person's data key: erasing the person destroys
their data key and so makes any export left over unreadable too, backups included (R4).
"""

from __future__ import annotations

from sqlalchemy import Column, Index, Integer, LargeBinary, PrimaryKeyConstraint, String, Table

from obrolan.db import UTCDateTime, data, metadata, system

privacy_exports = Table(
    "privacy_exports",
    metadata,
    Column("id", String(26), primary_key=True, info=system("export")),
    # One export per access request: a second build of the same request finds this one.
    Column("request_id", String(26), nullable=False, unique=True, info=system("export")),
    Column(
        "user_id",
        String(26),
        nullable=False,
        info=data("user.unique_id", "essential.service", "export"),
    ),
    # The export's own key, sealed under the person's data key (a wrapped key, as
    # user_keys.wrapped_key: no personal data of itself).
    Column("key_enc", LargeBinary, nullable=False, info=system("export")),
    # The ZIP's size in bytes, and how many sealed parts hold it.
    Column("size", Integer, nullable=False, info=system("export")),
    Column("parts", Integer, nullable=False, info=system("export")),
    Column("created_at", UTCDateTime, nullable=False, info=system("export")),
    Column("expires_at", UTCDateTime, nullable=False, info=system("export")),
    Column("downloaded_at", UTCDateTime, nullable=True, info=system("export")),
    Index("ix_privacy_exports_user_id", "user_id"),
    Index("ix_privacy_exports_expires_at", "expires_at"),
)

# Written while the export is built, before its `privacy_exports` row exists (that row
# is written last, with the request's completion): hence no foreign key. Parts whose
# export never came (a build that died) are removed by `delete_expired_exports`.
privacy_export_parts = Table(
    "privacy_export_parts",
    metadata,
    Column("export_id", String(26), nullable=False, info=system("export")),
    Column("seq", Integer, nullable=False, info=system("export")),
    # Part `seq` of the ZIP, sealed under the export's key: everything held about the
    # person, hence the widest category.
    Column(
        "data",
        LargeBinary,
        nullable=False,
        info=data("user", "essential.service", "export", encrypted=True),
    ),
    Column("created_at", UTCDateTime, nullable=False, info=system("export")),
    PrimaryKeyConstraint("export_id", "seq"),
    Index("ix_privacy_export_parts_created_at", "created_at"),
)
