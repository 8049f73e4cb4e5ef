"""The bot's memory in SQLite: user preferences, categories, the jobs buttons refer to, receipts.

One aiosqlite connection in WAL mode. The schema is versioned: `MIGRATIONS` is an
ordered list and each entry upgrades the database by one version inside a
transaction, so a new table (receipts per chat …) is one more entry at the end.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import aiosqlite

from ..jobs.types import Job, MediaRef

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

JOB_RETENTION_S = 30 * 24 * 3600


@dataclass
class UserPrefs:
    user_id: int
    lang: str | None = None
    mode: str = "notes"
    categories: list[str] | None = None  # None: the configured defaults


class Store:
    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._db: aiosqlite.Connection | None = None
        self._users: dict[int, UserPrefs] = {}

    @property
    def db(self) -> aiosqlite.Connection:
        if self._db is None:
            raise RuntimeError("Store.open() was not called")
        return self._db

    async def open(self) -> Store:
        if self._db is not None:
            return self
        if str(self.path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        # Autocommit: each statement commits itself; migrations use explicit BEGIN/COMMIT.
        self._db = await aiosqlite.connect(self.path, isolation_level=None)
        try:
            await self._db.execute("PRAGMA journal_mode=WAL")
            await self._db.execute("PRAGMA synchronous=NORMAL")
            await self._db.execute("PRAGMA busy_timeout=5000")
            await self._migrate()
            await self._db.execute(
                "DELETE FROM jobs WHERE created_at < ?", (time.time() - JOB_RETENTION_S,)
            )
        except BaseException:
            await self.close()
            raise
        return self

    async def close(self) -> None:
        if self._db is not None:
            await self._db.close()
            self._db = None

    async def ping(self) -> None:
        """Raises when the database does not answer (readiness checks)."""
        async with self.db.execute("SELECT 1") as cur:
            await cur.fetchone()

    async def schema_version(self) -> int:
        async with self.db.execute("SELECT version FROM schema_version") as cur:
            row = await cur.fetchone()
        return int(row[0]) if row else 0

    async def _migrate(self) -> None:
        db = self.db
        await db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        async with db.execute("SELECT version FROM schema_version") as cur:
            row = await cur.fetchone()
        if row is None:
            await db.execute("INSERT INTO schema_version (version) VALUES (0)")
        version = int(row[0]) if row else 0
        if version > len(MIGRATIONS):
            raise RuntimeError(
                f"The database {self.path.name} has schema version {version}, newer than this "
                f"program ({len(MIGRATIONS)}): upgrade NoteLens."
            )
        for number, statements in enumerate(MIGRATIONS[version:], start=version + 1):
            await db.execute("BEGIN")
            try:
                for sql in statements:
                    await db.execute(sql)
                await db.execute("UPDATE schema_version SET version = ?", (number,))
                await db.commit()
            except BaseException:
                await db.rollback()
                raise

    # --- users --------------------------------------------------------------
    async def user(self, user_id: int) -> UserPrefs:
        cached = self._users.get(user_id)
        if cached is not None:
            return cached
        async with self.db.execute(
            "SELECT lang, mode, categories FROM users WHERE user_id = ?", (user_id,)
        ) as cur:
            row = await cur.fetchone()
        prefs = UserPrefs(user_id)
        if row:
            prefs = UserPrefs(user_id, row[0], row[1], json.loads(row[2]) if row[2] else None)
        self._users[user_id] = prefs
        return prefs

    async def _save(self, prefs: UserPrefs) -> None:
        cats = json.dumps(prefs.categories, ensure_ascii=False) if prefs.categories else None
        await self.db.execute(
            """INSERT INTO users (user_id, lang, mode, categories, updated_at)
               VALUES (?, ?, ?, ?, ?)
               ON CONFLICT (user_id) DO UPDATE SET lang = excluded.lang, mode = excluded.mode,
                 categories = excluded.categories, updated_at = excluded.updated_at""",
            (prefs.user_id, prefs.lang, prefs.mode, cats, time.time()),
        )
        self._users[prefs.user_id] = prefs

    async def set_lang(self, user_id: int, lang: str) -> None:
        prefs = await self.user(user_id)
        await self._save(UserPrefs(user_id, lang, prefs.mode, prefs.categories))

    async def set_mode(self, user_id: int, mode: str) -> None:
        prefs = await self.user(user_id)
        await self._save(UserPrefs(user_id, prefs.lang, mode, prefs.categories))

    async def set_categories(self, user_id: int, categories: list[str] | None) -> None:
        prefs = await self.user(user_id)
        await self._save(UserPrefs(user_id, prefs.lang, prefs.mode, categories or None))

    # --- jobs ---------------------------------------------------------------
    async def add_job(self, job: Job) -> int:
        cur = await self.db.execute(
            """INSERT INTO jobs
                 (user_id, chat_id, task, media, question, categories, meta, created_at)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?)""",
            (
                job.user_id,
                job.chat_id,
                job.task,
                json.dumps([m.to_json() for m in job.media], ensure_ascii=False),
                job.question,
                json.dumps(job.categories, ensure_ascii=False) if job.categories else None,
                json.dumps(job.meta, ensure_ascii=False) if job.meta else None,
                time.time(),
            ),
        )
        job.job_id = int(cur.lastrowid or 0)
        return job.job_id

    async def job(self, job_id: int) -> Job | None:
        async with self.db.execute(
            """SELECT user_id, chat_id, task, media, question, categories, meta
               FROM jobs WHERE job_id = ?""",
            (job_id,),
        ) as cur:
            row = await cur.fetchone()
        if row is None:
            return None
        return Job(
            user_id=row[0],
            chat_id=row[1],
            task=row[2],
            media=[MediaRef(**m) for m in json.loads(row[3])],
            question=row[4],
            categories=json.loads(row[5]) if row[5] else None,
            job_id=job_id,
            meta=json.loads(row[6]) if row[6] else None,
        )

    async def link_message(self, chat_id: int, message_id: int, job_id: int) -> None:
        await self.db.execute(
            "INSERT OR REPLACE INTO bot_messages (chat_id, message_id, job_id) VALUES (?, ?, ?)",
            (chat_id, message_id, job_id),
        )

    async def job_for_message(self, chat_id: int, message_id: int) -> Job | None:
        async with self.db.execute(
            "SELECT job_id FROM bot_messages WHERE chat_id = ? AND message_id = ?",
            (chat_id, message_id),
        ) as cur:
            row = await cur.fetchone()
        return await self.job(int(row[0])) if row else None

    # --- forgetting -----------------------------------------------------------
    async def forget_user(self, user_id: int) -> None:
        """`/forgetme`: their settings, their jobs and what links to them (receipts: Ledger)."""
        db = self.db
        # Their own jobs, and receipt jobs others ran on their photos (the meta names them).
        mine = "user_id = ? OR json_extract(meta, '$.poster_id') = ?"
        await db.execute(
            f"DELETE FROM bot_messages WHERE job_id IN (SELECT job_id FROM jobs WHERE {mine})",
            (user_id, user_id),
        )
        await db.execute(f"DELETE FROM jobs WHERE {mine}", (user_id, user_id))
        await db.execute("DELETE FROM users WHERE user_id = ?", (user_id,))
        self._users.pop(user_id, None)
