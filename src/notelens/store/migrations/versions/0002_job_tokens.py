"""Job ids that cannot be guessed (random text; old numeric ids keep working as text), and
the poster of a job run on someone else's photo as a column (was only inside `meta`).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JobId = sa.String(32)


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column("jobs", "job_id", server_default=None)
        for table in ("jobs", "bot_messages"):
            op.alter_column(
                table,
                "job_id",
                type_=JobId,
                existing_type=sa.BigInteger(),
                existing_nullable=False,
                postgresql_using="job_id::text",
            )
        op.execute("DROP SEQUENCE IF EXISTS jobs_job_id_seq")
        op.add_column("jobs", sa.Column("poster_id", Id))
    else:  # SQLite cannot alter a column: the batch copies each table
        with op.batch_alter_table("jobs", recreate="always") as batch:
            batch.alter_column("job_id", type_=JobId, existing_type=sa.Integer(), nullable=False)
            batch.add_column(sa.Column("poster_id", Id))
        with op.batch_alter_table("bot_messages", recreate="always") as batch:
            batch.alter_column(
                "job_id", type_=JobId, existing_type=sa.Integer(), existing_nullable=False
            )
    op.create_index("jobs_poster", "jobs", ["poster_id"])
    op.create_index("bot_messages_job", "bot_messages", ["job_id"])
    _fill_poster_ids()


def _fill_poster_ids() -> None:
    jobs = sa.table(
        "jobs", sa.column("job_id", JobId), sa.column("meta", sa.Text), sa.column("poster_id", Id)
    )
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(jobs.c.job_id, jobs.c.meta).where(jobs.c.meta.like('%"poster_id"%'))
    ).all()
    for job_id, meta in rows:
        poster = json.loads(meta).get("poster_id")
        if isinstance(poster, int):
            bind.execute(jobs.update().where(jobs.c.job_id == job_id).values(poster_id=poster))


def downgrade() -> None:
    raise NotImplementedError("random job ids cannot become integers again")
