"""The HTTP API's tables (`notelens.http.api`): its jobs, the files sent with them, and the
per-key request counts, on the store's `metadata` so that Alembic compares them too.

Uploads live in the database, not on one machine's disk: every process that runs jobs
(`serve`, `worker`, `bot` on the same PostgreSQL) reads them from here. A job's row is
found by its public id *and* its owner, so one key never reaches another key's jobs.
"""

from __future__ import annotations

import sqlalchemy as sa

from .schema import Id, Time, metadata

# `seq` names the workflow (`api_job_id(seq)`: ids sort in arrival order, never reused);
# `public_id` is what clients see (random). `owner`: `api:<key id>`, a hash, never the key.
api_jobs = sa.Table(
    "api_jobs",
    metadata,
    sa.Column("seq", Id, primary_key=True, autoincrement=True),
    sa.Column("public_id", sa.String(32), nullable=False, unique=True),
    sa.Column("owner", sa.Text, nullable=False),
    sa.Column("task", sa.Text, nullable=False),
    sa.Column("language", sa.Text),
    sa.Column("inputs", sa.Integer, nullable=False),  # images, or PDF pages read
    sa.Column("notices", sa.Text),  # JSON list (a PDF read in part)
    sa.Column("created_at", Time, nullable=False),
    sa.Column("finished_at", Time),
    sa.Column("outcome", sa.Text),  # JSON: result, error, usage (set once, when done)
    sa.Index("api_jobs_owner_created", "owner", "created_at"),
    sa.Index("api_jobs_created", "created_at"),
    sqlite_autoincrement=True,
)

api_uploads = sa.Table(
    "api_uploads",
    metadata,
    sa.Column("upload_id", Id, primary_key=True, autoincrement=True),
    sa.Column("job_seq", Id, nullable=False),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("kind", sa.Text, nullable=False),  # "image" | "pdf"
    sa.Column("name", sa.Text),
    sa.Column("data", sa.LargeBinary, nullable=False),
    sa.Index("api_uploads_job", "job_seq"),
)

# Submissions per key per minute (fixed windows), shared by every process.
api_rate = sa.Table(
    "api_rate",
    metadata,
    sa.Column("owner", sa.Text, primary_key=True),
    sa.Column("minute", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("hits", sa.Integer, nullable=False),
)
