"""privacy: the hash-chained audit log and data requests

Revision ID: 0008_privacy
Revises: 0007_verification
Create Date: 2026-12-01 12:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import obrolan.db.base

revision: str = "0008_privacy"
down_revision: str | None = "0007_verification"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    utc = obrolan.db.base.UTCDateTime(timezone=True)
    position = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    op.create_table(
        "audit_log",
        sa.Column("seq", position, autoincrement=False, nullable=False),
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("at", utc, nullable=False),
        sa.Column("actor_id", sa.String(length=26), nullable=True),
        sa.Column("actor_role", sa.String(length=16), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("subject_id", sa.String(length=26), nullable=True),
        sa.Column("detail", sa.LargeBinary(), nullable=False),
        sa.Column("prev_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("hash", sa.LargeBinary(length=32), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_log")),
        sa.UniqueConstraint("id", name=op.f("uq_audit_log_id")),
    )
    op.create_index(op.f("ix_audit_log_subject_id"), "audit_log", ["subject_id"])
    op.create_table(
        "privacy_requests",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("user_id", sa.String(length=26), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("opened_by", sa.String(length=26), nullable=False),
        sa.Column("opened_by_operator", sa.Boolean(), nullable=False),
        sa.Column("note_enc", sa.LargeBinary(), nullable=True),
        sa.Column("resolution", sa.String(length=2000), nullable=True),
        sa.Column("progress", sa.Integer(), nullable=False),
        sa.Column("created_at", utc, nullable=False),
        sa.Column("deadline_at", utc, nullable=False),
        sa.Column("done_at", utc, nullable=True),
        sa.Column("due_at", utc, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_privacy_requests")),
    )
    op.create_index(op.f("ix_privacy_requests_user_id"), "privacy_requests", ["user_id"])
    op.create_index(
        op.f("ix_privacy_requests_status_deadline_at"),
        "privacy_requests",
        ["status", "deadline_at"],
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_privacy_requests_status_deadline_at"), table_name="privacy_requests")
    op.drop_index(op.f("ix_privacy_requests_user_id"), table_name="privacy_requests")
    op.drop_table("privacy_requests")
    op.drop_index(op.f("ix_audit_log_subject_id"), table_name="audit_log")
    op.drop_table("audit_log")
