"""The bot's memory: user preferences, categories, the jobs buttons refer to, its messages,
each person's rate limits, and the pauses every process honours.

Nothing is cached in the process: several processes may share one PostgreSQL database,
so every read asks the database (one indexed row).
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine

from ..config import Settings
from ..jobs.types import Job, MediaRef
from .engine import database_url, make_engine, normalise_url, sqlite_url, upsert, writing
from .migrate import current_revision, upgrade
from .schema import bot_messages, jobs, rate_hits, shared_pauses, users

JOB_RETENTION = timedelta(days=30)
RATE_KEPT = timedelta(hours=1)  # a rate window is at most this long: idle rows go


def new_job_id() -> str:
    """12 URL-safe characters (72 random bits): fits callback data, cannot be guessed."""
    return secrets.token_urlsafe(9)


@dataclass
class UserPrefs:
    user_id: int
    lang: str | None = None
    mode: str = "notes"
    categories: list[str] | None = None  # None: the configured defaults


def _json(value: Any) -> str | None:
    return json.dumps(value, ensure_ascii=False) if value else None


class Store:
    """One database: a SQLite file (a path) or a database URL (PostgreSQL)."""

    def __init__(self, target: Path | str | URL) -> None:
        if isinstance(target, URL):
            self.url = target
        elif "://" in str(target):
            self.url = normalise_url(str(target))
        else:
            self.url = sqlite_url(target)
        self._engine: AsyncEngine | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> Store:
        return cls(database_url(settings))

    @property
    def engine(self) -> AsyncEngine:
        if self._engine is None:
            raise RuntimeError("Store.open() was not called")
        return self._engine

    async def open(self) -> Store:
        """Connect, bring the schema up to date (under a lock) and drop expired jobs."""
        if self._engine is not None:
            return self
        self._engine = make_engine(self.url)
        try:
            await upgrade(self._engine)
            await self.prune(JOB_RETENTION)
        except BaseException:
            await self.close()
            raise
        return self

    async def close(self) -> None:
        if self._engine is not None:
            await self._engine.dispose()
            self._engine = None

    async def ping(self) -> None:
        """Raises when the database does not answer (readiness checks)."""
        async with self.engine.connect() as conn:
            await conn.execute(sa.text("SELECT 1"))

    async def schema_revision(self) -> str | None:
        return await current_revision(self.engine)

    # --- users --------------------------------------------------------------
    async def user(self, user_id: int) -> UserPrefs:
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(
                    sa.select(users.c.lang, users.c.mode, users.c.categories).where(
                        users.c.user_id == user_id
                    )
                )
            ).first()
        if row is None:
            return UserPrefs(user_id)
        return UserPrefs(user_id, row.lang, row.mode, json.loads(row.categories or "null"))

    async def _set(self, user_id: int, **values: Any) -> None:
        """Change some of a user's settings, leaving the others as they are."""
        values["updated_at"] = time.time()
        async with writing(self.engine) as conn:
            await conn.execute(
                upsert(conn, users, {"user_id": user_id, **values}, ["user_id"], list(values))
            )

    async def set_lang(self, user_id: int, lang: str) -> None:
        await self._set(user_id, lang=lang)

    async def set_mode(self, user_id: int, mode: str) -> None:
        await self._set(user_id, mode=mode)

    async def set_categories(self, user_id: int, categories: list[str] | None) -> None:
        await self._set(user_id, categories=_json(categories))

    # --- jobs ---------------------------------------------------------------
    async def add_job(self, job: Job) -> str:
        """Store the job under a new random id (buttons carry it: it cannot be guessed)."""
        job_id = new_job_id()
        poster = (job.meta or {}).get("poster_id")
        async with writing(self.engine) as conn:
            await conn.execute(
                jobs.insert().values(
                    job_id=job_id,
                    user_id=job.user_id,
                    chat_id=job.chat_id,
                    task=job.task,
                    media=json.dumps([m.to_json() for m in job.media], ensure_ascii=False),
                    question=job.question,
                    categories=_json(job.categories),
                    meta=_json(job.meta),
                    poster_id=poster if isinstance(poster, int) else None,
                    created_at=time.time(),
                )
            )
        job.job_id = job_id
        return job_id

    async def job(self, job_id: str) -> Job | None:
        async with self.engine.connect() as conn:
            row = (await conn.execute(sa.select(jobs).where(jobs.c.job_id == job_id))).first()
        if row is None:
            return None
        return Job(
            user_id=row.user_id,
            chat_id=row.chat_id,
            task=row.task,
            media=[MediaRef(**m) for m in json.loads(row.media)],
            question=row.question,
            categories=json.loads(row.categories) if row.categories else None,
            job_id=job_id,
            meta=json.loads(row.meta) if row.meta else None,
        )

    async def link_message(self, chat_id: int, message_id: int, job_id: str) -> None:
        values = {"chat_id": chat_id, "message_id": message_id, "job_id": job_id}
        async with writing(self.engine) as conn:
            await conn.execute(
                upsert(conn, bot_messages, values, ["chat_id", "message_id"], ["job_id"])
            )

    async def job_for_message(self, chat_id: int, message_id: int) -> Job | None:
        async with self.engine.connect() as conn:
            job_id = await conn.scalar(
                sa.select(bot_messages.c.job_id).where(
                    bot_messages.c.chat_id == chat_id, bot_messages.c.message_id == message_id
                )
            )
        return await self.job(job_id) if job_id is not None else None

    # --- rate limits ------------------------------------------------------------
    async def take_rate(
        self, kind: str, key: int, limit: int, period: float, now: float | None = None
    ) -> float:
        """Count one hit of `kind` for `key` unless it already had `limit` in the last
        `period` seconds: 0 when counted, else the seconds until one would be (a sliding
        window). One row per kind and key, locked for the change, so every process sharing
        the database sees the same count."""
        now = time.time() if now is None else now
        where = (rate_hits.c.kind == kind, rate_hits.c.key == key)
        async with writing(self.engine) as conn:
            empty = {"kind": kind, "key": key, "hits": "[]", "updated_at": now}
            await conn.execute(upsert(conn, rate_hits, empty, ["kind", "key"]))
            query = sa.select(rate_hits.c.hits).where(*where)
            if conn.dialect.name == "postgresql":
                query = query.with_for_update()
            stored: list[float] = json.loads(await conn.scalar(query) or "[]")
            hits = [t for t in stored if now - t < period]
            if len(hits) >= limit:
                return max(0.1, period - (now - hits[-limit]))
            hits = [*hits, now][-limit:]
            await conn.execute(
                rate_hits.update().where(*where).values(hits=json.dumps(hits), updated_at=now)
            )
        return 0.0

    async def pause(self, scope: str, until: float) -> None:
        """Every process should wait until `until` (Unix time) before acting in `scope`; a
        later pause already set stays."""
        async with writing(self.engine) as conn:
            await conn.execute(
                upsert(conn, shared_pauses, {"scope": scope, "until": until}, ["scope"])
            )
            await conn.execute(
                shared_pauses.update()
                .where(shared_pauses.c.scope == scope, shared_pauses.c.until < until)
                .values(until=until)
            )

    async def paused_until(self, scope: str) -> float:
        async with self.engine.connect() as conn:
            until = await conn.scalar(
                sa.select(shared_pauses.c.until).where(shared_pauses.c.scope == scope)
            )
        return float(until or 0.0)

    # --- forgetting -----------------------------------------------------------
    async def prune(self, older_than: timedelta = JOB_RETENTION) -> int:
        """Forget jobs older than `older_than` and the bot's messages that point to them
        (their buttons then answer "gone"). Returns how many jobs went."""
        old = sa.select(jobs.c.job_id).where(
            jobs.c.created_at < time.time() - older_than.total_seconds()
        )
        idle = time.time() - RATE_KEPT.total_seconds()
        async with writing(self.engine) as conn:
            await conn.execute(rate_hits.delete().where(rate_hits.c.updated_at < idle))
            await conn.execute(bot_messages.delete().where(bot_messages.c.job_id.in_(old)))
            return (await conn.execute(jobs.delete().where(jobs.c.job_id.in_(old)))).rowcount

    async def forget_user(self, user_id: int) -> None:
        """`/forgetme`: their settings, their jobs and what links to them (receipts: Ledger)."""
        # Their own jobs, and receipt jobs others ran on their photos.
        theirs = sa.select(jobs.c.job_id).where(
            sa.or_(jobs.c.user_id == user_id, jobs.c.poster_id == user_id)
        )
        async with writing(self.engine) as conn:
            await conn.execute(bot_messages.delete().where(bot_messages.c.job_id.in_(theirs)))
            await conn.execute(jobs.delete().where(jobs.c.job_id.in_(theirs)))
            await conn.execute(users.delete().where(users.c.user_id == user_id))
