"""dashboard sessions kept on the server; API tokens expire

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

# Tokens created before expiries existed get the default lifetime from the upgrade on.
EXISTING_TOKENS_DAYS = 90


def upgrade() -> None:
    op.create_table(
        "dashboard_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("counsellor_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("user_agent", sa.String(length=120), nullable=True),
        sa.ForeignKeyConstraint(["counsellor_id"], ["counsellor.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key_hash"),
    )
    with op.batch_alter_table("dashboard_session", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_dashboard_session_counsellor_id"), ["counsellor_id"], unique=False
        )

    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.add_column(sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))
    tokens = sa.table("api_token", sa.column("expires_at", sa.DateTime(timezone=True)))
    expiry = datetime.now(UTC) + timedelta(days=EXISTING_TOKENS_DAYS)
    if op.get_bind().dialect.name == "sqlite":  # stored naive UTC, as AwareDateTime does
        expiry = expiry.replace(tzinfo=None)
    op.execute(tokens.update().where(tokens.c.expires_at.is_(None)).values(expires_at=expiry))
    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.alter_column(
            "expires_at", existing_type=sa.DateTime(timezone=True), nullable=False
        )


def downgrade() -> None:
    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.drop_column("expires_at")
    with op.batch_alter_table("dashboard_session", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dashboard_session_counsellor_id"))
    op.drop_table("dashboard_session")
