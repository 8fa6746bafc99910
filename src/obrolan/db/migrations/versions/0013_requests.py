"""requests: account flags for restriction, objection and erasure; erasure cancel codes

Revision ID: 0013_requests
Revises: 0012_export
Create Date: 2026-12-01 13:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import obrolan.db.base

revision: str = "0013_requests"
down_revision: str | None = "0012_export"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    utc = obrolan.db.base.UTCDateTime(timezone=True)
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("restricted_at", utc, nullable=True))
        batch.add_column(sa.Column("objected_at", utc, nullable=True))
        batch.add_column(sa.Column("erased_at", utc, nullable=True))
    op.create_index(op.f("ix_users_closed_at"), "users", ["closed_at"])
    with op.batch_alter_table("privacy_requests") as batch:
        batch.add_column(sa.Column("cancel_code_hash", sa.LargeBinary(length=32), nullable=True))
        batch.add_column(
            sa.Column("closed_account", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.create_unique_constraint(
            op.f("uq_privacy_requests_cancel_code_hash"), ["cancel_code_hash"]
        )


def downgrade() -> None:
    with op.batch_alter_table("privacy_requests") as batch:
        batch.drop_constraint(op.f("uq_privacy_requests_cancel_code_hash"), type_="unique")
        batch.drop_column("closed_account")
        batch.drop_column("cancel_code_hash")
    op.drop_index(op.f("ix_users_closed_at"), table_name="users")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("erased_at")
        batch.drop_column("objected_at")
        batch.drop_column("restricted_at")
