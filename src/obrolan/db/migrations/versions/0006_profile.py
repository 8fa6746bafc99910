"""profiles and profile photos

Revision ID: 0006_profile
Revises: 0005_contact
Create Date: 2026-12-08 10:00:00

Gender, date of birth, bio and language, sealed under each person's data key, with a
visibility per field; and a photo per person, in a table of its own so that reading a
profile never loads an image. People without a row have the default profile.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import obrolan.db.base

revision: str = "0006_profile"
down_revision: str | None = "0005_contact"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _owner() -> sa.Column[str]:
    return sa.Column("user_id", sa.String(length=26), nullable=False)


def upgrade() -> None:
    op.create_table(
        "profiles",
        _owner(),
        sa.Column("gender_enc", sa.LargeBinary(), nullable=True),
        sa.Column("date_of_birth_enc", sa.LargeBinary(), nullable=True),
        sa.Column("bio_enc", sa.LargeBinary(), nullable=True),
        sa.Column("language_enc", sa.LargeBinary(), nullable=True),
        sa.Column("photo_visibility", sa.String(length=8), nullable=False),
        sa.Column("gender_visibility", sa.String(length=8), nullable=False),
        sa.Column("date_of_birth_visibility", sa.String(length=8), nullable=False),
        sa.Column("bio_visibility", sa.String(length=8), nullable=False),
        sa.Column("updated_at", obrolan.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_profiles_user_id_users", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", name="pk_profiles"),
    )
    op.create_table(
        "profile_photos",
        _owner(),
        sa.Column("image_enc", sa.LargeBinary(), nullable=False),
        sa.Column("updated_at", obrolan.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_profile_photos_user_id_users", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", name="pk_profile_photos"),
    )


def downgrade() -> None:
    op.drop_table("profile_photos")
    op.drop_table("profiles")
