"""export: finished data exports and their sealed parts (R1)

Revision ID: 0012_export
Revises: 0011_disappearing
Create Date: 2026-12-01 13:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import obrolan.db.base

revision: str = "0012_export"
down_revision: str | None = "0011_disappearing"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    utc = obrolan.db.base.UTCDateTime(timezone=True)
    op.create_table(
        "privacy_exports",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("request_id", sa.String(length=26), nullable=False),
        sa.Column("user_id", sa.String(length=26), nullable=False),
        sa.Column("key_enc", sa.LargeBinary(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("parts", sa.Integer(), nullable=False),
        sa.Column("created_at", utc, nullable=False),
        sa.Column("expires_at", utc, nullable=False),
        sa.Column("downloaded_at", utc, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_privacy_exports")),
        sa.UniqueConstraint("request_id", name=op.f("uq_privacy_exports_request_id")),
    )
    op.create_index(op.f("ix_privacy_exports_user_id"), "privacy_exports", ["user_id"])
    op.create_index(op.f("ix_privacy_exports_expires_at"), "privacy_exports", ["expires_at"])
    op.create_table(
        "privacy_export_parts",
        sa.Column("export_id", sa.String(length=26), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", utc, nullable=False),
        sa.PrimaryKeyConstraint("export_id", "seq", name=op.f("pk_privacy_export_parts")),
    )
    op.create_index(
        op.f("ix_privacy_export_parts_created_at"), "privacy_export_parts", ["created_at"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_privacy_export_parts_created_at"), table_name="privacy_export_parts")
    op.drop_table("privacy_export_parts")
    op.drop_index(op.f("ix_privacy_exports_expires_at"), table_name="privacy_exports")
    op.drop_index(op.f("ix_privacy_exports_user_id"), table_name="privacy_exports")
    op.drop_table("privacy_exports")
