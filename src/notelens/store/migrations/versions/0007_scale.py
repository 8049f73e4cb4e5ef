"""What every process of a deployment shares: per-person rate limits (were in memory) and
Telegram's flood wait (a 429's retry_after).

Revision ID: 0007
Revises: 0005
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0005"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Time = sa.Float(precision=53).with_variant(sa.REAL(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "rate_hits",
        sa.Column("kind", sa.String(16), primary_key=True),
        sa.Column("key", Id, primary_key=True, autoincrement=False),
        sa.Column("hits", sa.Text, nullable=False),
        sa.Column("updated_at", Time, nullable=False),
    )
    op.create_index("rate_hits_updated", "rate_hits", ["updated_at"])
    op.create_table(
        "shared_pauses",
        sa.Column("scope", sa.String(32), primary_key=True),
        sa.Column("until", Time, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("shared_pauses")
    op.drop_index("rate_hits_updated", table_name="rate_hits")
    op.drop_table("rate_hits")
