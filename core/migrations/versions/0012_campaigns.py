"""outreach campaigns (issue 21): campaigns, the touches that brought each person, first-touch
attribution, how they heard of the bot, whether a structure already follows them

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "campaign",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("territory", sa.String(length=120), nullable=True),
        sa.Column("team", sa.String(length=32), nullable=True),
        sa.Column("starts_on", sa.Date(), nullable=True),
        sa.Column("ends_on", sa.Date(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("cost_cents", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("archived_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("code", name="uq_campaign_code"),
    )
    op.create_table(
        "campaign_touch",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "person_id",
            sa.Integer(),
            sa.ForeignKey("young_person.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("campaign_id", sa.Integer(), sa.ForeignKey("campaign.id"), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("person_id", "campaign_id", name="uq_campaign_touch_person_campaign"),
    )
    op.create_index("ix_campaign_touch_person_id", "campaign_touch", ["person_id"])
    op.create_index("ix_campaign_touch_campaign_id", "campaign_touch", ["campaign_id"])
    # Plain columns, added in place: on SQLite a foreign key means a batch that recreates
    # young_person, and dropping the old table would cascade to every ticket and message.
    # campaign_id is not a declared foreign key for that reason (campaigns are never deleted).
    op.add_column("young_person", sa.Column("campaign_id", sa.Integer(), nullable=True))
    op.add_column("young_person", sa.Column("heard_via", sa.String(length=16), nullable=True))
    op.add_column("young_person", sa.Column("followed", sa.String(length=8), nullable=True))
    op.create_index("ix_young_person_campaign_id", "young_person", ["campaign_id"])


def downgrade() -> None:
    op.drop_index("ix_young_person_campaign_id", table_name="young_person")
    op.drop_column("young_person", "followed")
    op.drop_column("young_person", "heard_via")
    op.drop_column("young_person", "campaign_id")
    op.drop_index("ix_campaign_touch_campaign_id", table_name="campaign_touch")
    op.drop_index("ix_campaign_touch_person_id", table_name="campaign_touch")
    op.drop_table("campaign_touch")
    op.drop_table("campaign")
