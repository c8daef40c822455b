"""crisis signals on tickets, severity order, minors, false alarms in the managers' inbox

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# Existing crisis tickets get the severity of a crisis whose signal is unknown (the middle
# tier) by kind, and count their crisis SLA from their creation (as before).
BACKFILL_SEVERITY = sa.text(
    "UPDATE ticket SET urgent_since = created_at, severity = CASE "
    "WHEN crisis_kind IN ('suicide', 'crisis_suicide') THEN 10 "
    "WHEN crisis_kind IN ('violence', 'crisis_violence') THEN 11 "
    "WHEN crisis_kind IN ('shelter', 'crisis_shelter') THEN 12 "
    "ELSE 13 END "
    "WHERE urgency = 'crisis'"
)


def upgrade() -> None:
    op.create_table(
        "crisis_signal",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("origin", sa.String(length=16), nullable=False),
        sa.Column("tier", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=24), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=True),
        sa.Column("detail", sa.String(length=200), nullable=True),
        sa.Column("intent", sa.String(length=64), nullable=True),
        sa.Column("confidence", sa.Float(), nullable=True),
        sa.Column("answer", sa.String(length=16), nullable=True),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("false_alarm_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("false_alarm_by", sa.Integer(), nullable=True),
        sa.Column("false_alarm_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["person_id"], ["young_person.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["ticket_id"], ["ticket.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["false_alarm_by"], ["counsellor.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("crisis_signal", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_crisis_signal_person_id"), ["person_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_crisis_signal_ticket_id"), ["ticket_id"], unique=False)

    # Plain ALTER TABLE ... ADD COLUMN on every backend: string server defaults keep Alembic's
    # SQLite batch mode from copying the ticket table (dropping the old copy would cascade to
    # its events, notes and follow-ups, foreign keys being on).
    op.add_column(
        "ticket", sa.Column("severity", sa.Integer(), nullable=False, server_default="100")
    )
    op.add_column("ticket", sa.Column("urgent_since", sa.DateTime(timezone=True), nullable=True))
    op.add_column("ticket", sa.Column("minor", sa.Boolean(), nullable=False, server_default="0"))
    op.execute(BACKFILL_SEVERITY)
    op.add_column(
        "handoff_request", sa.Column("minor", sa.Boolean(), nullable=False, server_default="0")
    )
    op.add_column("nlu_turn", sa.Column("review_reason", sa.String(length=16), nullable=True))
    op.add_column("nlu_turn", sa.Column("review_note", sa.Text(), nullable=True))


def downgrade() -> None:
    # ALTER TABLE ... DROP COLUMN (SQLite 3.35+), not a batch copy: see upgrade().
    op.drop_column("nlu_turn", "review_note")
    op.drop_column("nlu_turn", "review_reason")
    op.drop_column("handoff_request", "minor")
    op.drop_column("ticket", "minor")
    op.drop_column("ticket", "urgent_since")
    op.drop_column("ticket", "severity")
    op.drop_table("crisis_signal")
