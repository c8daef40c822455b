"""hand-off requests with the triage summary

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "handoff_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("urgency", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("crisis_kind", sa.String(length=32), nullable=True),
        sa.Column("needs", sa.JSON(), nullable=False),
        sa.Column("age", sa.String(length=16), nullable=True),
        sa.Column("location", sa.String(length=80), nullable=True),
        sa.Column("situation", sa.String(length=120), nullable=True),
        sa.Column("followed", sa.String(length=120), nullable=True),
        sa.Column("contact", sa.String(length=64), nullable=True),
        sa.Column("availability", sa.String(length=120), nullable=True),
        sa.Column("excerpt", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["person_id"], ["young_person.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_handoff_request_person_id", "handoff_request", ["person_id"])
    op.create_index("ix_handoff_request_status_urgency", "handoff_request", ["status", "urgency"])


def downgrade() -> None:
    op.drop_index("ix_handoff_request_status_urgency", table_name="handoff_request")
    op.drop_index("ix_handoff_request_person_id", table_name="handoff_request")
    op.drop_table("handoff_request")
