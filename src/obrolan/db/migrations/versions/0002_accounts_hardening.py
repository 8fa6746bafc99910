"""accounts hardening: TOTP codes good once, throttled sign-ups and address changes

Revision ID: 0002_accounts
Revises: 0001
Create Date: 2026-11-30 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import obrolan.db.base

revision: str = "0002_accounts"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ALTERs, not a batch: on SQLite a batch would copy `users` and drop the old
    # table, and with foreign keys on that drop would cascade into auth_sessions.
    op.add_column("users", sa.Column("totp_last_step", sa.Integer(), nullable=True))
    op.create_table(
        "throttled_actions",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("key_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("at", obrolan.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_throttled_actions")),
    )
    with op.batch_alter_table("throttled_actions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_throttled_actions_scope_key_hash_at", ["scope", "key_hash", "at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("throttled_actions", schema=None) as batch_op:
        batch_op.drop_index("ix_throttled_actions_scope_key_hash_at")
    op.drop_table("throttled_actions")
    # SQLite has dropped columns in place since 3.35.
    op.drop_column("users", "totp_last_step")
