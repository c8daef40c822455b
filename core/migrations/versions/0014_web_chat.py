"""web chat channel (issue 23): the outbox a web chat page reads, and each web chat young
person's read mark and optional e-mail notification

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "web_outbox",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "person_id",
            sa.Integer(),
            sa.ForeignKey("young_person.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("origin", sa.String(length=16), nullable=False),
        sa.Column("sender", sa.String(length=80), nullable=True),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("human", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_web_outbox_person_id", "web_outbox", ["person_id"])
    op.create_table(
        "web_chat_state",
        sa.Column(
            "person_id",
            sa.Integer(),
            sa.ForeignKey("young_person.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("seen_id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("email_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("notify_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("notified_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_web_chat_state_notify_due_at", "web_chat_state", ["notify_due_at"])


def downgrade() -> None:
    op.drop_index("ix_web_chat_state_notify_due_at", table_name="web_chat_state")
    op.drop_table("web_chat_state")
    op.drop_index("ix_web_outbox_person_id", table_name="web_outbox")
    op.drop_table("web_outbox")
