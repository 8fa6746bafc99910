"""verification: verified email and phone, one-time codes

Revision ID: 0007_verification
Revises: 0006_profile
Create Date: 2026-12-01 10:30:00

Addresses entered before this revision were never verified: they keep their value (and
an index they may hold) but sign in to no one and find no one until confirmed by a code.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import obrolan.db.base

revision: str = "0007_verification"
down_revision: str | None = "0006_profile"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    utc = obrolan.db.base.UTCDateTime(timezone=True)
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("email_verified_at", utc, nullable=True))
        batch.add_column(sa.Column("phone_verified_at", utc, nullable=True))
    op.create_table(
        "verification_codes",
        sa.Column("user_id", sa.String(length=26), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("address_index", sa.LargeBinary(length=32), nullable=False),
        sa.Column("code_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("expires_at", utc, nullable=False),
        sa.Column("created_at", utc, nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_verification_codes_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "channel", name=op.f("pk_verification_codes")),
    )


def downgrade() -> None:
    op.drop_table("verification_codes")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("phone_verified_at")
        batch.drop_column("email_verified_at")
