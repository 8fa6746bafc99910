"""lawful access: requests for an operator to read named rooms, and their rooms

Revision ID: 0010_lawful_access
Revises: 0009_keystore
Create Date: 2026-12-01 13:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import obrolan.db.base

revision: str = "0010_lawful_access"
down_revision: str | None = "0009_keystore"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    utc = obrolan.db.base.UTCDateTime(timezone=True)
    op.create_table(
        "lawful_access_requests",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("requested_by", sa.String(length=26), nullable=False),
        sa.Column("reason", sa.String(length=2000), nullable=False),
        sa.Column("legal_basis", sa.String(length=500), nullable=False),
        sa.Column("starts_at", utc, nullable=False),
        sa.Column("ends_at", utc, nullable=False),
        sa.Column("hold_until", utc, nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("decided_by", sa.String(length=26), nullable=True),
        sa.Column("decided_at", utc, nullable=True),
        sa.Column("decision_note", sa.String(length=2000), nullable=True),
        sa.Column("created_at", utc, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lawful_access_requests")),
    )
    op.create_index(
        op.f("ix_lawful_access_requests_status_ends_at"),
        "lawful_access_requests",
        ["status", "ends_at"],
    )
    op.create_table(
        "lawful_access_rooms",
        sa.Column("request_id", sa.String(length=26), nullable=False),
        sa.Column("room_id", sa.String(length=26), nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["lawful_access_requests.id"],
            name=op.f("fk_lawful_access_rooms_request_id_lawful_access_requests"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("request_id", "room_id", name=op.f("pk_lawful_access_rooms")),
    )


def downgrade() -> None:
    op.drop_table("lawful_access_rooms")
    op.drop_index(
        op.f("ix_lawful_access_requests_status_ends_at"), table_name="lawful_access_requests"
    )
    op.drop_table("lawful_access_requests")
