"""scope a message's client_msg_id to its sender and room

Revision ID: 0003_messages
Revises: 0002_accounts
Create Date: 2026-12-01 09:40:00

The same client_msg_id sent to two rooms is two messages, not a retry of the first.
SQLite cannot alter a constraint in place: batch mode rebuilds the table.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003_messages"
down_revision: str | None = "0002_accounts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD = "uq_messages_sender_id_client_msg_id"
NEW = "uq_messages_sender_id_room_id_client_msg_id"


def upgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.drop_constraint(OLD, type_="unique")
        batch.create_unique_constraint(NEW, ["sender_id", "room_id", "client_msg_id"])


def downgrade() -> None:
    # Refuses when one sender reused an id in two rooms: those are two messages now.
    with op.batch_alter_table("messages") as batch:
        batch.drop_constraint(NEW, type_="unique")
        batch.create_unique_constraint(OLD, ["sender_id", "client_msg_id"])
