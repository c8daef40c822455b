"""manager studio: NLU turns (misunderstood inbox), wording variants seen, funnel milestones

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "nlu_turn",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("normalised", sa.Text(), nullable=True),
        sa.Column("intent", sa.String(length=64), nullable=True),
        sa.Column("confidence", sa.Float(), nullable=True),
        sa.Column("entities", sa.JSON(), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=True),
        sa.Column("fallback", sa.Boolean(), nullable=False),
        sa.Column("model", sa.String(length=120), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("annotated_intent", sa.String(length=64), nullable=True),
        sa.Column("annotated_by", sa.Integer(), nullable=True),
        sa.Column("annotated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("exported_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["person_id"], ["young_person.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["annotated_by"], ["counsellor.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("nlu_turn", schema=None) as batch_op:
        batch_op.create_index("ix_nlu_turn_created", ["created_at"], unique=False)
        batch_op.create_index("ix_nlu_turn_review", ["fallback", "annotated_intent"], unique=False)
        batch_op.create_index(batch_op.f("ix_nlu_turn_person_id"), ["person_id"], unique=False)

    op.create_table(
        "response_exposure",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("response", sa.String(length=64), nullable=False),
        sa.Column("variant", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["person_id"], ["young_person.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("response_exposure", schema=None) as batch_op:
        batch_op.create_index("ix_response_exposure_variant", ["response", "variant"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_response_exposure_person_id"), ["person_id"], unique=False
        )

    op.create_table(
        "person_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["person_id"], ["young_person.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("person_event", schema=None) as batch_op:
        batch_op.create_index("ix_person_event_kind_created", ["kind", "created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_person_event_person_id"), ["person_id"], unique=False)


def downgrade() -> None:
    op.drop_table("person_event")
    op.drop_table("response_exposure")
    op.drop_table("nlu_turn")
