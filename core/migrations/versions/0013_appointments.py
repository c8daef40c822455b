"""appointments (issue 22): rendez-vous on tickets, the young person's answer, reminders
sent, attendance

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "appointment",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "ticket_id",
            sa.Integer(),
            sa.ForeignKey("ticket.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "person_id",
            sa.Integer(),
            sa.ForeignKey("young_person.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "counsellor_id",
            sa.Integer(),
            sa.ForeignKey("counsellor.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column("team", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("duration_minutes", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.String(length=40), nullable=True),
        sa.Column("call_from", sa.String(length=20), nullable=True),
        sa.Column("location", sa.String(length=300), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("outside_hours", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("youth_reply", sa.String(length=500), nullable=True),
        sa.Column("reminders_sent", sa.Integer(), nullable=False),
        sa.Column("cancelled_by", sa.String(length=16), nullable=True),
        sa.Column("replaced_by_id", sa.Integer(), nullable=True),
        sa.Column(
            "marked_by_id",
            sa.Integer(),
            sa.ForeignKey("counsellor.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("marked_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_appointment_ticket_id", "appointment", ["ticket_id"])
    op.create_index("ix_appointment_person_id", "appointment", ["person_id"])
    op.create_index("ix_appointment_status_starts", "appointment", ["status", "starts_at"])


def downgrade() -> None:
    op.drop_index("ix_appointment_status_starts", table_name="appointment")
    op.drop_index("ix_appointment_person_id", table_name="appointment")
    op.drop_index("ix_appointment_ticket_id", table_name="appointment")
    op.drop_table("appointment")
