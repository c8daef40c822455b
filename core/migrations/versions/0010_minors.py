"""minors (issue 19): the age band said before consent, kept on the person

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("young_person") as batch:
        batch.add_column(sa.Column("age_band", sa.String(length=16), nullable=True))


def downgrade() -> None:
    # Not in batch mode: on SQLite a batch drop recreates young_person, and dropping the old
    # table would cascade to every ticket and message. SQLite >= 3.35 drops a column in place.
    op.drop_column("young_person", "age_band")
