"""disappearing messages: a room's period after which the sweep removes its messages

Revision ID: 0011_disappearing
Revises: 0010_lawful_access
Create Date: 2026-12-01 12:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_disappearing"
down_revision: str | None = "0010_lawful_access"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A server default, so existing rooms get 0 (off) without rewriting them.
    op.add_column(
        "rooms",
        sa.Column("disappearing_days", sa.Integer(), nullable=False, server_default=sa.text("0")),
    )


def downgrade() -> None:
    with op.batch_alter_table("rooms") as batch:
        batch.drop_column("disappearing_days")
