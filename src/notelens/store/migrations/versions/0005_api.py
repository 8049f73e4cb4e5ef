"""The HTTP API: its jobs, their uploaded files (read by every process that runs jobs) and
the per-key request counts of the rate limit.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Time = sa.Float(precision=53).with_variant(sa.REAL(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "api_jobs",
        sa.Column("seq", Id, primary_key=True, autoincrement=True),
        sa.Column("public_id", sa.String(32), nullable=False, unique=True),
        sa.Column("owner", sa.Text, nullable=False),
        sa.Column("task", sa.Text, nullable=False),
        sa.Column("language", sa.Text),
        sa.Column("inputs", sa.Integer, nullable=False),
        sa.Column("notices", sa.Text),
        sa.Column("created_at", Time, nullable=False),
        sa.Column("finished_at", Time),
        sa.Column("outcome", sa.Text),
        sqlite_autoincrement=True,
    )
    op.create_index("api_jobs_owner_created", "api_jobs", ["owner", "created_at"])
    op.create_index("api_jobs_created", "api_jobs", ["created_at"])
    op.create_table(
        "api_uploads",
        sa.Column("upload_id", Id, primary_key=True, autoincrement=True),
        sa.Column("job_seq", Id, nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("name", sa.Text),
        sa.Column("data", sa.LargeBinary, nullable=False),
    )
    op.create_index("api_uploads_job", "api_uploads", ["job_seq"])
    op.create_table(
        "api_rate",
        sa.Column("owner", sa.Text, primary_key=True),
        sa.Column("minute", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("hits", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("api_rate")
    op.drop_table("api_uploads")
    op.drop_table("api_jobs")
