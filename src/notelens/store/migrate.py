"""Schema upgrades with Alembic, shipped inside the package and configured in code.

`upgrade(engine)` runs at every start and from `notelens db upgrade`. It holds a lock for the
whole upgrade (PostgreSQL: an advisory lock; SQLite: the write lock of BEGIN IMMEDIATE) and
runs in one transaction, so processes starting together upgrade once and never see half a
schema. A database made before Alembic (a `schema_version` table) is adopted first.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.operations import Operations
from alembic.runtime.migration import MigrationContext
from alembic.script import Script, ScriptDirectory
from alembic.util import CommandError
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine

from . import legacy
from .archive_schema import SEARCH_OBJECTS
from .engine import make_engine, writing
from .schema import metadata

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
LEGACY_REVISION = "0001"  # what `schema_version` = len(legacy.MIGRATIONS) is
_LOCK_KEY = int.from_bytes(b"notelens", "big")  # pg_advisory_xact_lock's bigint key


class NewerDatabase(RuntimeError):
    """The database was upgraded by a newer NoteLens than this one."""


def alembic_config(connection: sa.Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


def include_name(name: str | None, type_: str, _parents: Any) -> bool:
    """Our tables live in the default schema; DBOS keeps its own in schema `dbos` (and any
    other schema belongs to someone else), so autogenerate and compare look nowhere else."""
    if type_ == "schema":
        return name is None
    return name not in SEARCH_OBJECTS  # the archive's search index: raw DDL per dialect


def context_options(connection: sa.Connection) -> dict[str, Any]:
    """How `migrations/env.py` (and the schema tests) configure Alembic."""
    return {
        "connection": connection,
        "target_metadata": metadata,
        "include_schemas": True,
        "include_name": include_name,
        "compare_type": True,
        "render_as_batch": connection.dialect.name == "sqlite",
    }


async def upgrade(engine: AsyncEngine) -> str:
    """Bring the schema to the newest revision; returns it."""
    async with writing(engine) as conn:
        return await conn.run_sync(_upgrade)


async def current_revision(engine: AsyncEngine) -> str | None:
    async with engine.connect() as conn:
        return await conn.run_sync(lambda c: MigrationContext.configure(c).get_current_revision())


def _upgrade(conn: sa.Connection) -> str:
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
    config = alembic_config(conn)
    script = ScriptDirectory.from_config(config)
    _adopt_legacy(conn, config)
    for revision in MigrationContext.configure(conn).get_current_heads():
        try:
            script.get_revision(revision)
        except CommandError:
            raise NewerDatabase(_newer(revision)) from None
    command.upgrade(config, "head")
    head = script.get_current_head()
    assert head is not None
    return head


def _adopt_legacy(conn: sa.Connection, config: Config) -> None:
    """A database of NoteLens 0.1: finish its own migrations, stamp it, drop its counter."""
    tables = sa.inspect(conn).get_table_names()
    if "schema_version" not in tables or "alembic_version" in tables:
        return
    version = int(conn.exec_driver_sql("SELECT version FROM schema_version").scalar() or 0)
    if version > len(legacy.MIGRATIONS):
        raise NewerDatabase(_newer(f"schema version {version}"))
    if version > 0:  # 0: its first migration never committed, there is nothing to keep
        for statements in legacy.MIGRATIONS[version:]:
            for sql in statements:
                conn.exec_driver_sql(sql)
        _legacy_keys_not_null(conn)
        command.stamp(config, LEGACY_REVISION)
    conn.exec_driver_sql("DROP TABLE schema_version")


def _legacy_keys_not_null(conn: sa.Connection) -> None:
    """0.1 declared some INTEGER PRIMARY KEYs without NOT NULL (harmless: they are row ids).
    Rebuild those tables as revision 0001 declares them, so both kinds of database compare
    equal; receipt ids stay never reused (AUTOINCREMENT and its counter kept)."""
    ops = Operations(MigrationContext.configure(conn))
    last = conn.exec_driver_sql("SELECT seq FROM sqlite_sequence WHERE name = 'receipts'")
    last_receipt = last.scalar()
    for table, key in (("users", "user_id"), ("chats", "chat_id"), ("receipts", "receipt_id")):
        autoincrement = {"sqlite_autoincrement": True} if table == "receipts" else {}
        with ops.batch_alter_table(table, recreate="always", table_kwargs=autoincrement) as batch:
            batch.alter_column(key, existing_type=sa.Integer(), nullable=False)
    if last_receipt is not None:
        conn.exec_driver_sql("DELETE FROM sqlite_sequence WHERE name = 'receipts'")
        conn.exec_driver_sql(
            "INSERT INTO sqlite_sequence (name, seq) VALUES ('receipts', ?)", (last_receipt,)
        )


def _newer(what: str) -> str:
    return f"The database is at {what}, newer than this program knows: upgrade NoteLens."


def write_revision(message: str) -> Path:
    """For developers, after changing `schema.py`: autogenerate the next revision against a
    scratch SQLite database at head. Read it (and check PostgreSQL) before committing:
    `python -m notelens.store.migrate "what changed"`."""
    with tempfile.TemporaryDirectory() as scratch:
        engine = sa.create_engine(f"sqlite:///{scratch}/scratch.db")
        try:
            with engine.begin() as conn:
                config = alembic_config(conn)
                command.upgrade(config, "head")
                head = ScriptDirectory.from_config(config).get_current_head()
                number = f"{int(head or 0) + 1:04d}"
                made = command.revision(config, message, autogenerate=True, rev_id=number)
        finally:
            engine.dispose()
    assert isinstance(made, Script)
    return Path(made.path)


if __name__ == "__main__":
    print(write_revision(" ".join(sys.argv[1:]) or "change"))


async def upgrade_database(url: URL) -> str:
    """`notelens db upgrade`: upgrade the configured database by hand."""
    engine = make_engine(url)
    try:
        return await upgrade(engine)
    finally:
        await engine.dispose()
