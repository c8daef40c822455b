"""simulations (issue 19) — no schema change: a simulation is a person of the simulator
channel (`young_person.channel = 'simulator'`, core/simulations.py), already stored and indexed
with the channel; this revision only keeps the chain's numbering.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06
"""

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
