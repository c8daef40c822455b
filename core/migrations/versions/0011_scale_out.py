"""scale-out (issue 20): webhook updates processed once and in order by any worker; messages
held while every engine is down

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "inbound_update",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("update_id", sa.BigInteger(), nullable=False),
        sa.Column("chat_key", sa.String(length=80), nullable=False),
        sa.Column("payload", sa.Text(), nullable=True),
        sa.Column("state", sa.String(length=8), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("worker", sa.String(length=64), nullable=True),
        sa.UniqueConstraint("source", "update_id", name="uq_inbound_update_source_id"),
    )
    op.create_index(
        "ix_inbound_update_pending", "inbound_update", ["state", "chat_key", "update_id"]
    )
    op.create_index("ix_inbound_update_received", "inbound_update", ["received_at"])
    op.create_table(
        "held_message",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "person_id",
            sa.Integer(),
            sa.ForeignKey("young_person.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("shown", sa.Text(), nullable=False),
        sa.Column("typed", sa.Boolean(), nullable=False),
        sa.Column("held_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
    )
    op.create_index("ix_held_message_person_id", "held_message", ["person_id"])
    op.create_index("ix_held_message_person", "held_message", ["person_id", "id"])


def downgrade() -> None:
    op.drop_table("held_message")
    op.drop_table("inbound_update")
