"""The schema NoteLens 0.1 built by hand (its `schema_version` 2): users, jobs, the bot's
messages, chats and receipts. Databases made by that code are stamped at this revision.

Revision ID: 0001
Revises:
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Time = sa.Float(precision=53).with_variant(sa.REAL(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("user_id", Id, primary_key=True, autoincrement=False),
        sa.Column("lang", sa.Text),
        sa.Column("mode", sa.Text, nullable=False, server_default="notes"),
        sa.Column("categories", sa.Text),
        sa.Column("updated_at", Time, nullable=False),
    )
    op.create_table(
        "jobs",
        sa.Column("job_id", Id, primary_key=True, autoincrement=True),
        sa.Column("user_id", Id, nullable=False),
        sa.Column("chat_id", Id, nullable=False),
        sa.Column("task", sa.Text, nullable=False),
        sa.Column("media", sa.Text, nullable=False),
        sa.Column("question", sa.Text),
        sa.Column("categories", sa.Text),
        sa.Column("created_at", Time, nullable=False),
        sa.Column("meta", sa.Text),
        sqlite_autoincrement=True,
    )
    op.create_index("jobs_created", "jobs", ["created_at"])
    op.create_table(
        "bot_messages",
        sa.Column("chat_id", Id, primary_key=True, autoincrement=False),
        sa.Column("message_id", Id, primary_key=True, autoincrement=False),
        sa.Column("job_id", Id, nullable=False),
    )
    op.create_table(
        "chats",
        sa.Column("chat_id", Id, primary_key=True, autoincrement=False),
        sa.Column("receipts_auto", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_seq", sa.Integer, nullable=False, server_default="1"),
        sa.Column("updated_at", Time, nullable=False),
    )
    op.create_table(
        "receipts",
        sa.Column("receipt_id", Id, primary_key=True, autoincrement=True),
        sa.Column("chat_id", Id, nullable=False),
        sa.Column("seq", sa.Integer),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("poster_id", Id, nullable=False),
        sa.Column("poster_name", sa.Text, nullable=False),
        sa.Column("requester_id", Id, nullable=False),
        sa.Column("message_id", Id),
        sa.Column("link", sa.Text),
        sa.Column("posted_at", Time, nullable=False),
        sa.Column("receipt_date", sa.Text),
        sa.Column("month", sa.Text, nullable=False),
        sa.Column("merchant", sa.Text),
        sa.Column("currency", sa.Text, nullable=False),
        sa.Column("total", sa.Text, nullable=False),
        sa.Column("items", sa.Text, nullable=False),
        sa.Column("file_unique_id", sa.Text),
        sa.Column("phash", sa.Text),
        sa.Column("forced", sa.Integer, nullable=False, server_default="0"),
        sa.Column("bot_message_id", Id),
        sa.Column("created_at", Time, nullable=False),
        sa.Column("confirmed_at", Time),
        sa.UniqueConstraint("chat_id", "seq"),
        sqlite_autoincrement=True,
    )
    op.create_index("receipts_chat_month", "receipts", ["chat_id", "status", "month"])
    op.create_index("receipts_poster", "receipts", ["poster_id"])
    op.create_index("receipts_requester", "receipts", ["requester_id"])


def downgrade() -> None:
    for table in ("receipts", "chats", "bot_messages", "jobs", "users"):
        op.drop_table(table)
