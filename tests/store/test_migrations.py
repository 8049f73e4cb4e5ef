"""The schema: Alembic revisions equal the models, run once under a lock, refuse a newer
database, ignore DBOS's schema, and adopt databases made by NoteLens 0.1 in place."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sqlite3
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine

from notelens.config import Settings
from notelens.pipeline.errors import ConfigError
from notelens.store import Store, legacy, migrate
from notelens.store.engine import database_url, make_engine, normalise_url, writing
from notelens.store.receipts import CONFIRMED, PENDING, Ledger
from notelens.store.schema import metadata
from notelens.telegram.receipts.book import open_book

HEAD = "0007"
NEXT = f"{int(HEAD) + 1:04d}"


async def schema_diff(engine: AsyncEngine) -> list[Any]:
    """What `alembic revision --autogenerate` would write: empty when revisions = models."""

    def compare(conn: sa.Connection) -> list[Any]:
        options = migrate.context_options(conn)
        del options["connection"]
        return compare_metadata(MigrationContext.configure(conn, opts=options), metadata)

    async with engine.connect() as conn:
        return await conn.run_sync(compare)


async def tables(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as conn:
        return set(await conn.run_sync(lambda c: sa.inspect(c).get_table_names()))


async def test_revisions_build_exactly_the_models(store: Store) -> None:
    assert await store.schema_revision() == HEAD
    assert await schema_diff(store.engine) == []
    # The comparison does see a table that is not ours...
    async with store.engine.begin() as conn:
        await conn.execute(sa.text("CREATE TABLE stray (id INTEGER PRIMARY KEY)"))
    assert [d[0] for d in await schema_diff(store.engine)] == ["remove_table"]


async def test_dbos_schema_is_not_ours(pg_url: URL) -> None:
    """On PostgreSQL DBOS keeps its tables in schema `dbos` of our database (on SQLite it
    has a file of its own): Alembic neither drops nor compares them."""
    store = await Store(pg_url).open()
    try:
        async with store.engine.begin() as conn:  # what DBOS creates in our database
            await conn.execute(sa.text("CREATE SCHEMA dbos"))
            await conn.execute(sa.text("CREATE TABLE dbos.workflow_status (id TEXT PRIMARY KEY)"))
            await conn.execute(sa.text("CREATE TABLE dbos.users (x INTEGER)"))
        assert await schema_diff(store.engine) == []
    finally:
        await store.close()
    again = await Store(pg_url).open()  # and a restart upgrades past it
    assert await again.schema_revision() == HEAD
    await again.close()


async def test_a_later_revision_runs_once(
    db_url: URL, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = await Store(db_url).open()
    await store.set_mode(1, "ocr")
    await store.close()
    later = tmp_path / "migrations"
    shutil.copytree(migrate.MIGRATIONS_DIR, later, ignore=shutil.ignore_patterns("__pycache__"))
    (later / "versions" / f"{NEXT}_later.py").write_text(
        '"""later"""\nimport sqlalchemy as sa\nfrom alembic import op\n\n'
        f'revision = "{NEXT}"\ndown_revision = "{HEAD}"\n\n\n'
        "def upgrade() -> None:\n"
        '    op.create_table("later_table", sa.Column("id", sa.Integer, primary_key=True))\n'
        '    op.execute("INSERT INTO later_table (id) VALUES (1)")\n'
    )
    monkeypatch.setattr(migrate, "MIGRATIONS_DIR", later)
    for _ in range(2):  # the second start does not run it again (it would fail: table exists)
        store = await Store(db_url).open()
        assert await store.schema_revision() == NEXT
        async with store.engine.connect() as conn:
            assert await conn.scalar(sa.text("SELECT count(*) FROM later_table")) == 1
        assert (await store.user(1)).mode == "ocr"
        await store.close()


async def test_a_new_revision_is_written_from_the_models(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    later = tmp_path / "migrations"
    shutil.copytree(migrate.MIGRATIONS_DIR, later, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(migrate, "MIGRATIONS_DIR", later)
    path = await asyncio.to_thread(migrate.write_revision, "nothing changed")
    assert path == later / "versions" / f"{NEXT}_nothing_changed.py"
    text = path.read_text()
    assert f'down_revision = "{HEAD}"' in text or f"down_revision = '{HEAD}'" in text
    upgrade = text[text.index("def upgrade()") : text.index("def downgrade()")]
    assert "op." not in upgrade and "pass" in upgrade  # the models equal the revisions
    store = await Store(tmp_path / "x.db").open()
    assert await store.schema_revision() == NEXT
    await store.close()


async def test_a_newer_database_is_refused(db_url: URL) -> None:
    store = await Store(db_url).open()
    async with store.engine.begin() as conn:
        await conn.execute(sa.text("UPDATE alembic_version SET version_num = '0999'"))
    await store.close()
    with pytest.raises(migrate.NewerDatabase, match="newer than this program"):
        await Store(db_url).open()


async def test_upgrades_started_together_run_once(db_url: URL) -> None:
    """Processes starting together on an empty database: each waits for the lock, the
    first builds the schema, the others find it done."""
    engines = [make_engine(db_url) for _ in range(4)]
    try:
        assert await asyncio.gather(*map(migrate.upgrade, engines)) == [HEAD] * 4
        async with engines[0].connect() as conn:
            assert await conn.scalar(sa.text("SELECT count(*) FROM alembic_version")) == 1
        assert await schema_diff(engines[0]) == []
    finally:
        for engine in engines:
            await engine.dispose()


async def test_db_upgrade_command(db_url: URL, tmp_path: Path) -> None:
    """`notelens db upgrade` with the plain postgresql:// form (or DATABASE_PATH)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DATABASE_")}
    if db_url.get_backend_name() == "sqlite":
        env["DATABASE_PATH"] = str(db_url.database)
    else:
        env["DATABASE_URL"] = f"postgresql://postgres@127.0.0.1:5432/{db_url.database}"
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "notelens", "db", "upgrade",
        env=env, cwd=tmp_path, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()
    assert f"schema at revision {HEAD}" in err.decode()
    store = await Store(db_url).open()
    assert await store.schema_revision() == HEAD
    await store.close()


def test_db_upgrade_reports_a_bad_url(monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    from notelens.cli import main

    monkeypatch.setenv("DATABASE_URL", "mysql://root:hunter2@db/notes")
    assert main(["db", "upgrade"]) == 3
    err = capsys.readouterr().err
    assert "DATABASE_URL must be postgresql://" in err and "hunter2" not in err


# --- NoteLens 0.1 databases ------------------------------------------------------


def build_legacy_database(path: Path, version: int) -> None:
    """What NoteLens 0.1's `Store._migrate` did, up to `version`, then some of its data."""
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
    db.execute("INSERT INTO schema_version (version) VALUES (0)")
    for number, statements in enumerate(legacy.MIGRATIONS[:version], start=1):
        db.execute("BEGIN")
        for sql in statements:
            db.execute(sql)
        db.execute("UPDATE schema_version SET version = ?", (number,))
        db.execute("COMMIT")
    media = json.dumps([{"file_id": "OLD", "kind": "photo", "message_id": 3}])
    db.execute("INSERT INTO users VALUES (7, 'zh', 'ocr', ?, 1.5)", (json.dumps(["猫"]),))
    db.execute(
        "INSERT INTO jobs (user_id, chat_id, task, media, question, categories, created_at)"
        " VALUES (7, 7, 'ocr', ?, NULL, NULL, ?)",
        (media, 1e12),  # far in the future: kept by the 30-day pruning
    )
    db.execute("INSERT INTO bot_messages VALUES (7, 99, 1)")
    if version >= 2:
        db.execute(
            "INSERT INTO jobs (user_id, chat_id, task, media, created_at, meta)"
            " VALUES (9, -100, 'receipt', ?, ?, ?)",
            (media, 1e12, json.dumps({"poster_id": 7, "poster_name": "Alice"})),
        )
        db.execute("INSERT INTO bot_messages VALUES (-100, 5, 2)")
        db.execute("INSERT INTO chats VALUES (-100, 1, 3, 1.5)")
        for seq, status, total in (
            (1, CONFIRMED, "12.50"),
            (2, CONFIRMED, "0.10"),
            (None, PENDING, "7"),
        ):
            db.execute(
                "INSERT INTO receipts (chat_id, seq, status, poster_id, poster_name, requester_id,"
                " posted_at, receipt_date, month, merchant, currency, total, items, created_at)"
                " VALUES (-100, ?, ?, 7, 'Alice', 9, 1.79e9, '2026-10-05', '2026-10', 'Shop',"
                " 'CNY', ?, '[]', 1e12)",
                (seq, status, total),
            )
        db.execute(
            "INSERT INTO receipts SELECT 4, chat_id, NULL, status, poster_id, poster_name,"
            " requester_id, message_id, link, posted_at, receipt_date, month, merchant, currency,"
            " total, items, file_unique_id, phash, forced, bot_message_id, created_at,"
            " confirmed_at FROM receipts WHERE receipt_id = 3"
        )
        db.execute("DELETE FROM receipts WHERE receipt_id = 4")  # the newest: 4 is used up
    db.close()


@pytest.mark.parametrize("version", [1, 2])
async def test_a_notelens_0_1_database_upgrades_in_place(tmp_path: Path, version: int) -> None:
    path = tmp_path / "data" / "notelens.db"
    build_legacy_database(path, version)
    store = await Store(path).open()
    try:
        assert await store.schema_revision() == HEAD
        assert "schema_version" not in await tables(store.engine)
        assert await schema_diff(store.engine) == []
        prefs = await store.user(7)
        assert (prefs.lang, prefs.mode, prefs.categories) == ("zh", "ocr", ["猫"])
        old = await store.job_for_message(7, 99)  # its button still works: id "1"
        assert old is not None and old.job_id == "1" and old.media[0].file_id == "OLD"
        assert (await store.job("1")) == old
        new_id = await store.add_job(old)
        assert new_id != "1" and await store.job(new_id) is not None

        ledger = Ledger(store)
        await ledger.load()
        if version == 1:
            assert await ledger.entries(-100) == []
            return
        assert ledger.auto(-100)
        assert [(e.seq, str(e.total)) for e in await ledger.entries(-100)] == [
            (1, "12.50"),
            (2, "0.10"),
        ]
        assert await ledger.last_id(-100) == 3
        confirmed = await ledger.confirm(3)
        assert confirmed is not None and confirmed.seq == 3  # the chat's counter went on
        again = await ledger.add_pending(replace(confirmed, receipt_id=None, seq=None))
        assert again.receipt_id == 5  # a deleted id is never given again
        # The receipt job run on Alice's photo by someone else is hers to forget.
        await store.forget_user(7)
        assert await store.job("2") is None and await store.job_for_message(-100, 5) is None
    finally:
        await store.close()


async def test_a_newer_0_1_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bot.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
        db.execute("INSERT INTO schema_version VALUES (99)")
    with pytest.raises(RuntimeError, match="newer"):
        await Store(path).open()


# --- where the database is ----------------------------------------------------------


def test_database_urls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    default = database_url(Settings())
    assert default.drivername == "sqlite+aiosqlite"
    assert default.database == str(tmp_path / "data" / "notelens.db")
    url = database_url(Settings(database_url="postgresql://u:s3cret@db:5433/notes?sslmode=require"))
    assert url.drivername == "postgresql+asyncpg" and url.port == 5433
    assert url.query == {"ssl": "require"} and url.password == "s3cret"
    assert "s3cret" not in repr(url) and "s3cret" not in repr(Settings(database_url=str(url)))
    assert normalise_url("postgres://u@h/d").drivername == "postgresql+asyncpg"
    assert database_url(Settings(database_url="  ")).drivername == "sqlite+aiosqlite"
    assert normalise_url("sqlite:///rel/x.db").database == str(tmp_path / "rel" / "x.db")
    for bad in ("mysql://u@h/d", "not a url", "sqlite://"):
        with pytest.raises(ConfigError, match="DATABASE_URL"):
            normalise_url(bad)


async def test_a_database_at_0003_keeps_what_its_receipts_meant(db_url: URL) -> None:
    """Receipts confirmed before 0004 were split equally among the people who posted in
    their chat, month and currency: after the upgrade they still are, and those people are
    the ledger's members."""
    engine = make_engine(db_url)
    rows = [  # (seq, status, poster, name, month, currency, total)
        (1, CONFIRMED, 7, "Alice", "2026-10", "CNY", "90.00"),
        (2, CONFIRMED, 8, "Bob", "2026-10", "CNY", "30.00"),
        (3, CONFIRMED, 7, "Alice W", "2026-10", "JPY", "1000"),
        (4, CONFIRMED, 9, "Carol", "2026-11", "CNY", "60.00"),
        (None, PENDING, 8, "Bob", "2026-11", "CNY", "5.00"),
    ]
    try:
        async with writing(engine) as conn:
            await conn.run_sync(lambda c: command.upgrade(migrate.alembic_config(c), "0003"))
            await conn.execute(sa.text("INSERT INTO chats VALUES (-100, 0, 5, 1.5)"))
            for seq, status, poster, name, month, currency, total in rows:
                await conn.execute(
                    sa.text(
                        "INSERT INTO receipts (chat_id, seq, status, poster_id, poster_name,"
                        " requester_id, posted_at, receipt_date, month, currency, total, items,"
                        " created_at) VALUES (-100, :seq, :status, :poster, :name, :poster,"
                        " :posted, :day, :month, :currency, :total, '[]', 1e12)"
                    ),
                    {
                        "seq": seq,
                        "status": status,
                        "poster": poster,
                        "name": name,
                        "posted": 1.79e9 + (seq or 9),
                        "day": f"{month}-05",
                        "month": month,
                        "currency": currency,
                        "total": total,
                    },
                )
    finally:
        await engine.dispose()
    store = await Store(db_url).open()
    try:
        assert await store.schema_revision() == HEAD
        ledger = Ledger(store)
        members = await ledger.members.active(-100)
        assert [(m.member_id, m.name) for m in members] == [
            (7, "Alice W"),
            (8, "Bob"),
            (9, "Carol"),
        ]
        entries = {e.seq: e for e in await ledger.entries(-100)}
        tokens = {e.token for e in entries.values()}
        assert len(tokens) == 4 and all(t and len(t) == 12 for t in tokens)
        splits = await ledger.splits.of_chat(-100)
        sharing = {seq: set(splits[e.receipt_id].weights) for seq, e in entries.items()}  # type: ignore[index]
        assert sharing == {1: {7, 8}, 2: {7, 8}, 3: {7}, 4: {9}}
        [pending] = [
            s for rid, s in splits.items() if rid not in {e.receipt_id for e in entries.values()}
        ]
        assert set(pending.weights) == {7, 8, 9}
        book = await open_book(ledger, -100)
        assert book.balances() == {"CNY": {7: 3000, 8: -3000, 9: 0}, "JPY": {7: 0}}
    finally:
        await store.close()
