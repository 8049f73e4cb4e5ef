"""`Archive`: every notes result kept per owner, filed and found again.

One method per thing an owner can do (the bot's `/notes` commands call them one to one);
every method takes the owner and touches only that owner's rows. An owner is a string:
`tg-user:123`, `tg-chat:-100…` (a group's notes belong to the group), `cli:local`, `api:…`.

The archive lives in the store's database (tables from revision 0003): the bot and the API
build it on the store's engine, `Archive(store.engine, retention_days=...)`; the CLI opens
its own with `open_archive(settings)`.
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ..config import Settings
from ..store.archive_schema import archive_notes, archive_owners, archive_pages
from ..store.engine import database_url, make_engine, writing
from ..store.migrate import upgrade
from . import _search
from ._export import build_zip
from ._models import ArchivedPage, NewNote, Note, NoteSummary, SearchHit, Source, to_time

DAY_S = 24 * 3600
MAX_KEYWORDS = 5

_notes = archive_notes.c


class Archive:
    def __init__(
        self,
        engine: AsyncEngine,
        *,
        retention_days: int | None = None,
        owns_engine: bool = False,
    ) -> None:
        self.engine = engine
        self.retention_days = retention_days
        self._owns_engine = owns_engine

    async def aclose(self) -> None:
        if self._owns_engine:
            await self.engine.dispose()

    # --- keeping -----------------------------------------------------------------
    async def add(self, owner: str, note: NewNote) -> int:
        """Keep a note; returns its number for this owner."""
        created = (note.created_at or datetime.now().astimezone()).timestamp()
        async with writing(self.engine) as conn:
            number = await self._next_number(conn, owner)
            result = await conn.execute(
                archive_notes.insert()
                .values(
                    owner=owner,
                    number=number,
                    created_at=created,
                    title=note.title,
                    category=note.category,
                    keywords="\n".join(note.keywords[:MAX_KEYWORDS]),
                    body=note.body,
                    markdown=note.markdown,
                    source=note.source.to_json(),
                    language=note.language,
                    model=note.model,
                    engine=note.engine,
                )
                .returning(_notes.note_id)
            )
            note_id = result.scalar_one()
            if note.pages:
                await conn.execute(
                    archive_pages.insert(),
                    [
                        {
                            "note_id": note_id,
                            "page_index": p.index,
                            "polished": p.polished,
                            "raw": p.raw,
                            "error": p.error,
                        }
                        for p in note.pages
                    ],
                )
        return number

    @staticmethod
    async def _next_number(conn: AsyncConnection, owner: str) -> int:
        insert = (postgresql if conn.dialect.name == "postgresql" else sqlite).insert
        stmt = insert(archive_owners).values(owner=owner, next_number=2)
        stmt = stmt.on_conflict_do_update(
            index_elements=["owner"],
            set_={"next_number": archive_owners.c.next_number + 1},
        ).returning(archive_owners.c.next_number)
        return int((await conn.execute(stmt)).scalar_one()) - 1

    # --- finding -----------------------------------------------------------------
    async def latest(self, owner: str, n: int = 10) -> list[NoteSummary]:
        query = (
            sa.select(_notes.number, _notes.title, _notes.category, _notes.created_at)
            .where(_notes.owner == owner)
            .order_by(_notes.number.desc())
            .limit(n)
        )
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [NoteSummary(r.number, r.title, r.category, to_time(r.created_at)) for r in rows]

    async def search(self, owner: str, words: str, limit: int = 10) -> list[SearchHit]:
        """Notes with every word (Chinese or English, any length), best first."""
        terms = _search.split_words(words)
        if not terms:
            return []
        async with self.engine.connect() as conn:
            dialect = conn.dialect.name
            expansions = {
                word: list(
                    (
                        await conn.execute(_search.EXPANSION_SQL, _search.expansion_params(word))
                    ).scalars()
                )
                for word in terms
                if _search.needs_expansion(dialect, word)
            }
            query = _search.build(dialect, owner, terms, limit, expansions)
            if query is None:
                return []
            rows = (await conn.execute(query.sql, query.params)).all()
        hits = []
        for r in rows:
            text, spans = _search.snippet(r.body or r.title, terms)
            hits.append(
                SearchHit(r.number, r.title, r.category, to_time(r.created_at), text, tuple(spans))
            )
        return hits

    async def get(self, owner: str, n: int) -> Note | None:
        async with self.engine.connect() as conn:
            notes = await self._load(conn, owner, _notes.number == n)
        return notes[0] if notes else None

    async def _load(self, conn: AsyncConnection, owner: str, *where: Any) -> list[Note]:
        rows = (
            await conn.execute(
                sa.select(archive_notes)
                .where(_notes.owner == owner, *where)
                .order_by(_notes.number)
            )
        ).all()
        if not rows:
            return []
        pages: dict[int, list[ArchivedPage]] = {}
        ids = [r.note_id for r in rows]
        for chunk in (ids[i : i + 500] for i in range(0, len(ids), 500)):
            page_rows = await conn.execute(
                sa.select(archive_pages)
                .where(archive_pages.c.note_id.in_(chunk))
                .order_by(archive_pages.c.note_id, archive_pages.c.page_index)
            )
            for p in page_rows:
                pages.setdefault(p.note_id, []).append(
                    ArchivedPage(p.page_index, p.raw, p.polished, p.error)
                )
        return [
            Note(
                number=r.number,
                title=r.title,
                category=r.category,
                created_at=to_time(r.created_at),
                keywords=tuple(k for k in r.keywords.split("\n") if k),
                source=Source.from_json(r.source),
                language=r.language,
                model=r.model,
                engine=r.engine,
                markdown=r.markdown,
                pages=tuple(pages.get(r.note_id, ())),
            )
            for r in rows
        ]

    # --- changing ----------------------------------------------------------------
    async def refile(self, owner: str, n: int, category: str) -> bool:
        """Move note N to another category; False when the owner has no note N."""
        category = " ".join(category.split())
        if not category:
            raise ValueError("empty category")
        async with writing(self.engine) as conn:
            result = await conn.execute(
                archive_notes.update()
                .where(_notes.owner == owner, _notes.number == n)
                .values(category=category)
            )
        return result.rowcount > 0

    async def delete(self, owner: str, n: int) -> bool:
        async with writing(self.engine) as conn:
            return await self._delete(conn, _notes.owner == owner, _notes.number == n) > 0

    async def forget(self, owner: str) -> int:
        """Everything the archive holds for this owner, gone; returns how many notes."""
        async with writing(self.engine) as conn:
            count = await self._delete(conn, _notes.owner == owner)
            await conn.execute(archive_owners.delete().where(archive_owners.c.owner == owner))
        return count

    async def prune(self, now: float | None = None) -> int:
        """Drop notes older than `retention_days` (None: keep everything)."""
        if self.retention_days is None:
            return 0
        cutoff = (time.time() if now is None else now) - self.retention_days * DAY_S
        async with writing(self.engine) as conn:
            return await self._delete(conn, _notes.created_at < cutoff)

    @staticmethod
    async def _delete(conn: AsyncConnection, *where: Any) -> int:
        ids = sa.select(_notes.note_id).where(*where).scalar_subquery()
        await conn.execute(archive_pages.delete().where(archive_pages.c.note_id.in_(ids)))
        result = await conn.execute(archive_notes.delete().where(*where))
        return result.rowcount

    # --- taking away -------------------------------------------------------------
    async def export(self, owner: str) -> bytes:
        """All the owner's notes as a zip (an Obsidian vault); empty zip when none."""
        async with self.engine.connect() as conn:
            notes = await self._load(conn, owner)
        return await asyncio.to_thread(build_zip, notes)

    async def count(self, owner: str) -> int:
        async with self.engine.connect() as conn:
            query = (
                sa.select(sa.func.count()).select_from(archive_notes).where(_notes.owner == owner)
            )
            return int((await conn.execute(query)).scalar_one())


async def open_archive(settings: Settings) -> Archive:
    """The archive of the configured database (schema upgraded), old notes pruned; for a
    process of its own (the CLI). The bot and the API hand over the store's engine."""
    engine = make_engine(database_url(settings))
    archive = Archive(engine, retention_days=settings.archive_retention_days, owns_engine=True)
    try:
        await upgrade(engine)
        await archive.prune()
    except BaseException:
        await archive.aclose()
        raise
    return archive
