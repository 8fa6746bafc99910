"""contact settings: who may find a person, and whether strangers' chats arrive as requests

Revision ID: 0005_contact
Revises: 0004_jobs
Create Date: 2026-12-01 10:30:00

A table of its own, with a row only for people who changed a setting: nobody's
`users` row is rewritten, and the defaults live in the code (accounts.records).
The membership state `request` (and `declined`) fits the existing String(8) column.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import obrolan.db.base

revision: str = "0005_contact"
down_revision: str | None = "0004_jobs"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "contact_settings",
        sa.Column("user_id", sa.String(length=26), nullable=False),
        sa.Column("findable_by_username", sa.Boolean(), nullable=False),
        sa.Column("message_requests", sa.Boolean(), nullable=False),
        sa.Column("findable_by_email", sa.Boolean(), nullable=False),
        sa.Column("findable_by_phone", sa.Boolean(), nullable=False),
        sa.Column("updated_at", obrolan.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_contact_settings_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_contact_settings")),
    )


def downgrade() -> None:
    op.drop_table("contact_settings")
