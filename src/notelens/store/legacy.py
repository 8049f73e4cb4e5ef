"""The schema before Alembic: what NoteLens 0.1 built by hand, kept to adopt its databases.

Such a database has a `schema_version` table counting the entries of `MIGRATIONS` it ran.
Version 2 is exactly the first Alembic revision (0001); a version 1 database first gets the
version 2 statements. `migrate.upgrade` does this once, then Alembic takes over.
"""

from __future__ import annotations

from collections.abc import Sequence

MIGRATIONS: list[Sequence[str]] = [
    # 1: users and their settings; jobs (what an inline button or a retry runs again).
    (
        """CREATE TABLE users (
            user_id INTEGER PRIMARY KEY,
            lang TEXT,
            mode TEXT NOT NULL DEFAULT 'notes',
            categories TEXT,
            updated_at REAL NOT NULL
        )""",
        """CREATE TABLE jobs (
            job_id INTEGER PRIMARY KEY AUTOINCREMENT,
            user_id INTEGER NOT NULL,
            chat_id INTEGER NOT NULL,
            task TEXT NOT NULL,
            media TEXT NOT NULL,
            question TEXT,
            categories TEXT,
            created_at REAL NOT NULL
        )""",
        "CREATE INDEX jobs_created ON jobs (created_at)",
        # The bot's own messages → the job they answered (so replies to them find the photo).
        """CREATE TABLE bot_messages (
            chat_id INTEGER NOT NULL,
            message_id INTEGER NOT NULL,
            job_id INTEGER NOT NULL,
            PRIMARY KEY (chat_id, message_id)
        )""",
    ),
    # 2: per-chat settings and the receipt ledger (`bot.ledger`); job metadata.
    (
        """CREATE TABLE chats (
            chat_id INTEGER PRIMARY KEY,
            receipts_auto INTEGER NOT NULL DEFAULT 0,
            next_seq INTEGER NOT NULL DEFAULT 1,
            updated_at REAL NOT NULL
        )""",
        # Amounts are exact decimal strings, never REAL. `seq` (the number people type in
        # `/receipts delete N`) is given on confirmation from chats.next_seq, never reused.
        """CREATE TABLE receipts (
            receipt_id INTEGER PRIMARY KEY AUTOINCREMENT,
            chat_id INTEGER NOT NULL,
            seq INTEGER,
            status TEXT NOT NULL,
            poster_id INTEGER NOT NULL,
            poster_name TEXT NOT NULL,
            requester_id INTEGER NOT NULL,
            message_id INTEGER,
            link TEXT,
            posted_at REAL NOT NULL,
            receipt_date TEXT,
            month TEXT NOT NULL,
            merchant TEXT,
            currency TEXT NOT NULL,
            total TEXT NOT NULL,
            items TEXT NOT NULL,
            file_unique_id TEXT,
            phash TEXT,
            forced INTEGER NOT NULL DEFAULT 0,
            bot_message_id INTEGER,
            created_at REAL NOT NULL,
            confirmed_at REAL,
            UNIQUE (chat_id, seq)
        )""",
        "CREATE INDEX receipts_chat_month ON receipts (chat_id, status, month)",
        "CREATE INDEX receipts_poster ON receipts (poster_id)",
        "CREATE INDEX receipts_requester ON receipts (requester_id)",
        "ALTER TABLE jobs ADD COLUMN meta TEXT",
    ),
]
