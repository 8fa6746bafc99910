"""keystore: the wrapped data keys leave the main database for the key store (R4)

Revision ID: 0009_keystore
Revises: 0008_privacy
Create Date: 2026-12-01 12:45:00

A backup of the main database must not hold anyone's key, or restoring it would bring
an erased person's key back. `obrolan migrate` copies every row of `user_keys` into the
key store (obrolan.crypto.keystore) and commits it there before this revision runs; the
table is then dropped. Run any other way (plain `alembic upgrade`), this refuses to drop
keys that were not copied. Downgrading recreates the table empty: copy the keys back
from the key store first if a downgraded server is to read anyone's data.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import obrolan.db.base

revision: str = "0009_keystore"
down_revision: str | None = "0008_privacy"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COPIED_KEYS = "obrolan.copied_data_keys"  # obrolan.db.migrate.COPIED_KEYS


def upgrade() -> None:
    copied = op.get_context().config.attributes.get(COPIED_KEYS, frozenset())  # type: ignore[union-attr]
    stored = op.get_bind().execute(sa.text("SELECT user_id FROM user_keys")).scalars()
    if any(uid not in copied for uid in stored):
        raise RuntimeError(
            "user_keys holds data keys not yet in the key store: run `obrolan migrate`,"
            " which copies them there before this revision drops the table"
        )
    op.drop_table("user_keys")


def downgrade() -> None:
    op.create_table(
        "user_keys",
        sa.Column("user_id", sa.String(length=26), nullable=False),
        sa.Column("wrapped_key", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", obrolan.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_user_keys")),
    )
