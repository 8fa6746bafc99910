"""webhook delivery: when an event is next tried, its in-flight lease, its deadline

Revision ID: 0016_webhook_delivery
Revises: 0015_business_media
Create Date: 2026-12-01 18:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import obrolan.db.base

revision: str = "0016_webhook_delivery"
down_revision: str | None = "0015_business_media"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = ("next_attempt_at", "lease_until", "expires_at")


def upgrade() -> None:
    with op.batch_alter_table("business_webhook_events", schema=None) as batch_op:
        for name in COLUMNS:
            batch_op.add_column(
                sa.Column(name, obrolan.db.base.UTCDateTime(timezone=True), nullable=True)
            )


def downgrade() -> None:
    with op.batch_alter_table("business_webhook_events", schema=None) as batch_op:
        for name in reversed(COLUMNS):
            batch_op.drop_column(name)
