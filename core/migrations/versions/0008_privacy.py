"""privacy (issue 19): pending tracker erasures, retention purge runs, anonymous counts

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pending_erasure",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("pseudo_id", sa.String(length=40), nullable=False),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cutoff", sa.Float(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=120), nullable=True),
    )
    op.create_index("ix_pending_erasure_pseudo_id", "pending_erasure", ["pseudo_id"])
    op.create_index("ix_pending_erasure_requested", "pending_erasure", ["requested_at"])
    op.create_table(
        "purge_run",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("as_of", sa.DateTime(timezone=True), nullable=False),
        sa.Column("trigger", sa.String(length=16), nullable=False),
        sa.Column("people", sa.Integer(), nullable=False),
        sa.Column("simulations", sa.Integer(), nullable=False),
        sa.Column("log_files", sa.Integer(), nullable=False),
        sa.Column("tracker_pending", sa.Integer(), nullable=False),
    )
    op.create_table(
        "anonymous_count",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("metric", sa.String(length=80), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("team", sa.String(length=32), nullable=False),
        sa.Column("territory", sa.String(length=120), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.UniqueConstraint("metric", "day", "team", "territory", name="uq_anonymous_count_key"),
    )
    op.create_index("ix_anonymous_count_metric_day", "anonymous_count", ["metric", "day"])


def downgrade() -> None:
    op.drop_table("anonymous_count")
    op.drop_table("purge_run")
    op.drop_table("pending_erasure")
