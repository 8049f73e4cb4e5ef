"""Notes archive: search latency, size per note and export time, SQLite and PostgreSQL.

    python -m benchmarks.archive [--notes 10000] [--queries 200] [--pg postgresql://postgres@127.0.0.1/test]

Generates notes of ~2,000 characters (Chinese and English, seeded), keeps them all for one
owner (the worst case: search filters by owner first) through `Archive.add`, then times
`Archive.search` for four kinds of query against the baseline in the same run: a plain
LIKE scan of the owner's notes, newest first, with no index (what an archive without a
search index would do). PostgreSQL gets a database of its own, dropped afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import math
import random
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from notelens.archive import Archive, ArchivedPage, NewNote, Source
from notelens.store.engine import make_engine, normalise_url, sqlite_url
from notelens.store.migrate import upgrade

OWNER = "tg-user:1"
CHARS = (
    "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同"
    "工也能下过子说产种面而方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起"
    "小物现实加量都两体制机当使点从业本去把性好应开它合还因由其些然前外天政四日那社义事平"
    "形相全表间样与关各重新线内数正心反你明看原又么利比或但质气第向道命此变条只没结解问意"
    "建月公无系军很情者最立代想已通并提直题党程展五果料象员革位入常文总次品式活设及管特件"
    "长求老头基资边流路级少图山统接知较将组见计别她手角期根论运农指几九区强放决西被干做必"
)
SYLLABLES = ("ka", "lo", "ri", "mu", "te", "sa", "no", "vi", "pe", "da", "gu", "ze", "ba", "ni")
SYLLABLES += ("fo", "ru", "ly", "chi", "tra", "pol", "men", "dex", "ion", "ter")
VOCABULARY = 50_000  # distinct words per language, used with Zipf frequencies


def vocabulary(rng: random.Random) -> tuple[list[str], list[str]]:
    zh = list(
        dict.fromkeys(
            "".join(rng.choices(CHARS, k=rng.choice((2, 2, 3, 4)))) for _ in range(VOCABULARY * 2)
        )
    )[:VOCABULARY]
    en = list(
        dict.fromkeys(
            "".join(rng.choices(SYLLABLES, k=rng.randint(2, 4))) for _ in range(VOCABULARY * 2)
        )
    )[:VOCABULARY]
    return zh, en


def zipf_weights(n: int) -> list[float]:
    return [1 / (rank + 1) for rank in range(n)]


class Writer:
    """Text drawn from a Zipf vocabulary: a few words everywhere, most words rare."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.zh, self.en = vocabulary(rng)
        self.cum = {
            id(pool): list(itertools.accumulate(zipf_weights(len(pool))))
            for pool in (self.zh, self.en)
        }

    def words(self, pool: list[str], k: int) -> list[str]:
        return self.rng.choices(pool, cum_weights=self.cum[id(pool)], k=k)

    def text(self, chinese: bool, chars: int) -> str:
        if chinese:
            words = self.words(self.zh, chars // 2)
            out = "".join(w + ("。" if self.rng.random() < 0.06 else "") for w in words)
            return out[:chars]
        return (" ".join(self.words(self.en, chars // 6)) + ".")[:chars]


def make_note(writer: Writer, i: int, start: datetime) -> NewNote:
    rng = writer.rng
    chinese = rng.random() < 0.6
    pages = [writer.text(chinese, 660) for _ in range(3)]  # ~2,000 characters a note
    pool = writer.zh if chinese else writer.en
    title = f"{writer.words(pool, 1)[0]} {i % 30 + 1}"
    heading = "第 {n} 页" if chinese else "Page {n}"
    body = "\n\n".join(f"## {heading.format(n=n)}\n\n{p}" for n, p in enumerate(pages, 1))
    return NewNote(
        title=title,
        markdown=f"# {title}\n\n{body}\n",
        pages=[ArchivedPage(n, raw=p, polished=p) for n, p in enumerate(pages, 1)],
        source=Source("telegram", chat_id=1, message_id=i),
        category=rng.choice(("数学", "历史", "计算机", "生物", "经济")),
        keywords=writer.words(pool, 3),
        language="zh" if chinese else "en",
        model="qwen-vl-ocr + qwen-plus",
        created_at=start + timedelta(minutes=i),
    )


def query_sets(writer: Writer, n: int) -> dict[str, list[str]]:
    """Words people look for: any word of the vocabulary (most are in a few dozen notes),
    pairs of common words, and the twenty most common two-character words."""
    rng = writer.rng
    zh2 = [w for w in writer.zh if len(w) == 2]
    zh3 = [w for w in writer.zh if len(w) >= 3]
    return {
        "zh 2 chars": [rng.choice(zh2) for _ in range(n)],
        "zh 3-4 chars": [rng.choice(zh3) for _ in range(n)],
        "en word": [rng.choice(writer.en) for _ in range(n)],
        "en 2 words": [" ".join(rng.sample(writer.en[:400], 2)) for _ in range(n)],
        "zh common": [rng.choice(zh2[:20]) for _ in range(n)],
    }


async def baseline(engine: AsyncEngine, words: str) -> list[int]:
    """A plain LIKE scan: the owner's notes newest first, the first ten holding every word."""
    terms = words.lower().split()
    likes = " AND ".join(f"lower(title || ' ' || body) LIKE :w{i}" for i in range(len(terms)))
    sql = sa.text(
        f"SELECT number FROM archive_notes WHERE owner = :owner AND {likes} "
        "ORDER BY created_at DESC LIMIT 10"
    )
    params = {"owner": OWNER, **{f"w{i}": f"%{t}%" for i, t in enumerate(terms)}}
    async with engine.connect() as conn:
        return [r.number for r in await conn.execute(sql, params)]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)]


async def timed(fn: Callable[[str], Awaitable[object]], queries: list[str]) -> list[float]:
    out = []
    for q in queries:
        start = time.perf_counter()
        await fn(q)
        out.append((time.perf_counter() - start) * 1000)
    return out


async def size_bytes(engine: AsyncEngine, path: Path | None) -> int:
    async with engine.connect() as conn:
        if path is not None:
            await conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            parts = await conn.exec_driver_sql(
                "SELECT CASE WHEN name LIKE 'archive_fts%' THEN 'search index' ELSE 'notes' END,"
                " SUM(pgsize) FROM dbstat GROUP BY 1"
            )
            print("  " + ", ".join(f"{k}: {v / 1024 / 1024:.1f} MiB" for k, v in parts))
            return (await asyncio.to_thread(path.stat)).st_size
        parts = await conn.exec_driver_sql(
            "SELECT pg_relation_size('archive_notes_trgm'), pg_total_relation_size('archive_notes')"
        )
        trgm, notes = parts.one()
        mib = 1024 * 1024
        print(f"  search index: {trgm / mib:.1f} MiB, notes table: {notes / mib:.1f} MiB")
        rows = await conn.exec_driver_sql(
            "SELECT pg_total_relation_size('archive_notes')"
            " + pg_total_relation_size('archive_pages') + pg_total_relation_size('archive_owners')"
        )
        return int(rows.scalar_one())


async def run_one(
    name: str,
    engine: AsyncEngine,
    path: Path | None,
    notes: list[NewNote],
    queries: dict[str, list[str]],
) -> None:
    await upgrade(engine)
    archive = Archive(engine)
    start = time.perf_counter()
    for note in notes:
        await archive.add(OWNER, note)
    add_s = time.perf_counter() - start
    if path is None:
        async with engine.begin() as conn:  # committed, or the planner has no statistics
            await conn.exec_driver_sql("ANALYZE")
    size = await size_bytes(engine, path)
    print(
        f"\n{name}: {len(notes)} notes added in {add_s:.1f} s ({len(notes) / add_s:.0f}/s),"
        f" {size / len(notes) / 1024:.1f} KiB per note on disk"
    )
    print(
        f"  {'query':<12} {'search p50':>10} {'p99':>8} {'LIKE p50':>9} {'p99':>8}"
        f" {'p50 ratio':>9} {'hits':>5}"
    )
    for kind, words in queries.items():
        await archive.search(OWNER, words[0])  # warm caches
        ours = await timed(lambda q: archive.search(OWNER, q), words)
        base = await timed(lambda q: baseline(engine, q), words)
        hits = sum([len(await archive.search(OWNER, q)) for q in words[:20]]) / 20
        print(
            f"  {kind:<12} {percentile(ours, 0.5):>8.1f}ms {percentile(ours, 0.99):>6.1f}ms"
            f" {percentile(base, 0.5):>7.1f}ms {percentile(base, 0.99):>6.1f}ms"
            f" {percentile(base, 0.5) / percentile(ours, 0.5):>8.1f}x {hits:>5.1f}"
        )
    start = time.perf_counter()
    data = await archive.export(OWNER)
    print(
        f"  export: {len(notes)} notes in {time.perf_counter() - start:.1f} s,"
        f" zip {len(data) / 1024 / 1024:.1f} MiB"
    )


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--notes", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--engines", default="sqlite,postgresql", help="which databases to run")
    args = parser.parse_args()
    writer = Writer(random.Random(args.seed))
    start = datetime(2026, 1, 1, tzinfo=UTC)
    notes = [make_note(writer, i, start) for i in range(args.notes)]
    chars = sum(len(n.body) for n in notes) / len(notes)
    queries = query_sets(writer, args.queries)
    print(
        f"{args.notes} notes, {chars:.0f} characters each on average; "
        f"{args.queries} queries of each kind; ten results a search"
    )

    engines = args.engines.split(",")
    if "sqlite" in engines:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "archive.db"
            engine = make_engine(sqlite_url(path))
            try:
                await run_one("SQLite (FTS5 trigram)", engine, path, notes, queries)
            finally:
                await engine.dispose()
    if "postgresql" in engines:
        await run_postgres(args.pg, notes, queries)


async def run_postgres(pg: str, notes: list[NewNote], queries: dict[str, list[str]]) -> None:
    admin_url = make_url(pg)
    name = f"notelens_bench_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(
        host=admin_url.host,
        port=admin_url.port or 5432,
        user=admin_url.username,
        password=admin_url.password,
        database=admin_url.database,
    )
    await admin.execute(f'CREATE DATABASE "{name}"')
    engine = make_engine(normalise_url(pg).set(database=name))
    try:
        await run_one("PostgreSQL (pg_trgm GIN)", engine, None, notes, queries)
    finally:
        await engine.dispose()
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


if __name__ == "__main__":
    asyncio.run(main())
