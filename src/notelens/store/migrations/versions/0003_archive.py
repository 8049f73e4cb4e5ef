"""The notes archive: notes per owner, their pages, each owner's note counter, and the search
index (SQLite: an FTS5 trigram table kept by triggers and its term list; PostgreSQL: pg_trgm
over a lower-cased copy of the text).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Time = sa.Float(precision=53).with_variant(sa.REAL(), "sqlite")

COLUMNS = "title, keywords, category, body"
NEW = "new.note_id, new.title || ' ', new.keywords || ' ', new.category || ' ', new.body || ' '"
OLD = "old.note_id, old.title || ' ', old.keywords || ' ', old.category || ' ', old.body || ' '"
SQLITE_SEARCH = [
    f"""CREATE VIRTUAL TABLE archive_fts USING fts5({COLUMNS},
        content='archive_notes', content_rowid='note_id', tokenize='trigram')""",
    "CREATE VIRTUAL TABLE archive_fts_terms USING fts5vocab(archive_fts, 'row')",
    f"""CREATE TRIGGER archive_notes_ai AFTER INSERT ON archive_notes BEGIN
        INSERT INTO archive_fts (rowid, {COLUMNS}) VALUES ({NEW}); END""",
    f"""CREATE TRIGGER archive_notes_ad AFTER DELETE ON archive_notes BEGIN
        INSERT INTO archive_fts (archive_fts, rowid, {COLUMNS}) VALUES ('delete', {OLD}); END""",
    f"""CREATE TRIGGER archive_notes_au AFTER UPDATE OF {COLUMNS} ON archive_notes BEGIN
        INSERT INTO archive_fts (archive_fts, rowid, {COLUMNS}) VALUES ('delete', {OLD});
        INSERT INTO archive_fts (rowid, {COLUMNS}) VALUES ({NEW}); END""",
]
POSTGRES_SEARCH = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    """ALTER TABLE archive_notes ADD COLUMN search_doc text GENERATED ALWAYS AS
        (lower(title || ' ' || keywords || ' ' || category || ' ' || body)) STORED""",
    "CREATE INDEX archive_notes_trgm ON archive_notes USING gin (search_doc gin_trgm_ops)",
]


def upgrade() -> None:
    op.create_table(
        "archive_owners",
        sa.Column("owner", sa.Text, primary_key=True),
        sa.Column("next_number", sa.Integer, nullable=False),
    )
    op.create_table(
        "archive_notes",
        sa.Column("note_id", Id, primary_key=True, autoincrement=True),
        sa.Column("owner", sa.Text, nullable=False),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("created_at", Time, nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("category", sa.Text, nullable=False),
        sa.Column("keywords", sa.Text, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("markdown", sa.Text, nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("language", sa.Text, nullable=False),
        sa.Column("model", sa.Text, nullable=False),
        sa.Column("engine", sa.Text, nullable=False),
        sa.UniqueConstraint("owner", "number", name="archive_notes_owner_number"),
    )
    op.create_index("archive_notes_owner_created", "archive_notes", ["owner", "created_at"])
    op.create_index("archive_notes_created", "archive_notes", ["created_at"])
    op.create_table(
        "archive_pages",
        sa.Column("note_id", Id, primary_key=True, autoincrement=False),
        sa.Column("page_index", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("polished", sa.Text),
        sa.Column("raw", sa.Text, nullable=False),
        sa.Column("error", sa.Text),
    )
    search = POSTGRES_SEARCH if op.get_bind().dialect.name == "postgresql" else SQLITE_SEARCH
    for sql in search:
        op.execute(sql)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in ("archive_notes_au", "archive_notes_ad", "archive_notes_ai"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS archive_fts_terms")
        op.execute("DROP TABLE IF EXISTS archive_fts")
    op.drop_table("archive_pages")
    op.drop_table("archive_notes")
    op.drop_table("archive_owners")
