"""The archive's tables: notes per owner, their pages, and each owner's note counter.

SQLAlchemy Core for what both databases share; the search index needs raw DDL per
dialect (`SEARCH_DDL`): an FTS5 table with the trigram tokenizer on SQLite (Chinese
without a segmenter), a `pg_trgm` GIN index on PostgreSQL.
"""

from __future__ import annotations

import sqlalchemy as sa

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Time = sa.Float(precision=53).with_variant(sa.REAL(), "sqlite")

metadata = sa.MetaData()

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

# PostgreSQL searches one lower-cased copy of the text (a generated column: lower() on
# every candidate row at query time cost more than the search itself).
PG_DOCUMENT = "lower(title || ' ' || keywords || ' ' || category || ' ' || body)"
FTS_COLUMNS = "title, keywords, category, body"

# Each column is indexed with a space after it, so a word at a column's end still begins
# a trigram: two-character words are found through the trigrams they begin (`_search`).
_NEW = "new.note_id, new.title || ' ', new.keywords || ' ', new.category || ' ', new.body || ' '"
_OLD = "old.note_id, old.title || ' ', old.keywords || ' ', old.category || ' ', old.body || ' '"

SEARCH_DDL: dict[str, list[str]] = {
    # External content: the index keeps no second copy of the text; triggers keep it in
    # step with the notes inside the same transaction (refile and delete show at once).
    "sqlite": [
        f"""CREATE VIRTUAL TABLE archive_fts USING fts5({FTS_COLUMNS},
            content='archive_notes', content_rowid='note_id', tokenize='trigram')""",
        "CREATE VIRTUAL TABLE archive_fts_terms USING fts5vocab(archive_fts, 'row')",
        f"""CREATE TRIGGER archive_notes_ai AFTER INSERT ON archive_notes BEGIN
            INSERT INTO archive_fts (rowid, {FTS_COLUMNS}) VALUES ({_NEW}); END""",
        f"""CREATE TRIGGER archive_notes_ad AFTER DELETE ON archive_notes BEGIN
            INSERT INTO archive_fts (archive_fts, rowid, {FTS_COLUMNS}) VALUES ('delete', {_OLD});
            END""",
        f"""CREATE TRIGGER archive_notes_au AFTER UPDATE OF {FTS_COLUMNS} ON archive_notes BEGIN
            INSERT INTO archive_fts (archive_fts, rowid, {FTS_COLUMNS}) VALUES ('delete', {_OLD});
            INSERT INTO archive_fts (rowid, {FTS_COLUMNS}) VALUES ({_NEW}); END""",
    ],
    # pg_trgm is a trusted extension (PostgreSQL ≥ 13): a database owner may create it.
    "postgresql": [
        "CREATE EXTENSION IF NOT EXISTS pg_trgm",
        f"""ALTER TABLE archive_notes
            ADD COLUMN search_doc text GENERATED ALWAYS AS ({PG_DOCUMENT}) STORED""",
        "CREATE INDEX archive_notes_trgm ON archive_notes USING gin (search_doc gin_trgm_ops)",
    ],
}

DROP_SEARCH_DDL: dict[str, list[str]] = {
    "sqlite": [
        "DROP TRIGGER IF EXISTS archive_notes_au",
        "DROP TRIGGER IF EXISTS archive_notes_ad",
        "DROP TRIGGER IF EXISTS archive_notes_ai",
        "DROP TABLE IF EXISTS archive_fts_terms",
        "DROP TABLE IF EXISTS archive_fts",
    ],
    "postgresql": [
        "DROP INDEX IF EXISTS archive_notes_trgm",
        "ALTER TABLE archive_notes DROP COLUMN IF EXISTS search_doc",
    ],
}


def create_archive_tables(conn: sa.Connection) -> None:
    """Tables and search index, for a database that has none yet (until the archive's
    Alembic revision joins the store's chain, this is how they are made)."""
    if sa.inspect(conn).has_table("archive_notes"):
        return
    metadata.create_all(conn)
    for sql in SEARCH_DDL[conn.dialect.name]:
        conn.exec_driver_sql(sql)
