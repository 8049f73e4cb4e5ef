"""The notes archive's tables (`notelens.archive`): notes per owner, their pages, and each
owner's note counter, on the store's `metadata` so that Alembic compares them too.

The search index is raw DDL per dialect, made by revision 0003 and kept out of Alembic's
comparisons (`SEARCH_OBJECTS`): on SQLite an FTS5 trigram table over the notes (kept by
triggers) and its term list; on PostgreSQL a lower-cased copy of the text (a generated
column) under a `pg_trgm` GIN index.
"""

from __future__ import annotations

import sqlalchemy as sa

from .schema import Id, Time, metadata

# Owners: `tg-user:123`, `tg-chat:-100…`, `cli:local`, `api:<key id>`. The counter gives the
# numbers people type (`/notes get 3`): 1, 2, 3… per owner, never reused after a delete.
archive_owners = sa.Table(
    "archive_owners",
    metadata,
    sa.Column("owner", sa.Text, primary_key=True),
    sa.Column("next_number", sa.Integer, nullable=False),
)

archive_notes = sa.Table(
    "archive_notes",
    metadata,
    sa.Column("note_id", Id, primary_key=True, autoincrement=True),
    sa.Column("owner", sa.Text, nullable=False),
    sa.Column("number", sa.Integer, nullable=False),
    sa.Column("created_at", Time, nullable=False),  # Unix seconds
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("category", sa.Text, nullable=False),
    sa.Column("keywords", sa.Text, nullable=False),  # one per line
    sa.Column("body", sa.Text, nullable=False),  # what search reads: each page's best text
    sa.Column("markdown", sa.Text, nullable=False),  # the document as the owner got it
    sa.Column("source", sa.Text, nullable=False),  # JSON: chat and message, or file names
    sa.Column("language", sa.Text, nullable=False),
    sa.Column("model", sa.Text, nullable=False),
    sa.Column("engine", sa.Text, nullable=False),
    sa.UniqueConstraint("owner", "number", name="archive_notes_owner_number"),
    sa.Index("archive_notes_owner_created", "owner", "created_at"),
    sa.Index("archive_notes_created", "created_at"),
)

archive_pages = sa.Table(
    "archive_pages",
    metadata,
    sa.Column("note_id", Id, primary_key=True, autoincrement=False),
    sa.Column("page_index", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("polished", sa.Text),
    sa.Column("raw", sa.Text, nullable=False),
    sa.Column("error", sa.Text),
)

SEARCH_OBJECTS = frozenset(
    {
        "archive_fts",  # SQLite: the FTS5 table, its shadow tables and its term list
        "archive_fts_data",
        "archive_fts_idx",
        "archive_fts_docsize",
        "archive_fts_config",
        "archive_fts_content",
        "archive_fts_terms",
        "search_doc",  # PostgreSQL: the lower-cased text and its trigram index
        "archive_notes_trgm",
    }
)
