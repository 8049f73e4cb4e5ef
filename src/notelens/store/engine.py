"""Which database, and how to talk to it: SQLite through aiosqlite (WAL) or PostgreSQL
through asyncpg, behind one SQLAlchemy async engine.

SQLite's Python driver does not begin transactions for SELECT and DDL by itself, so we emit
BEGIN ourselves (SQLAlchemy's documented recipe); write transactions use BEGIN IMMEDIATE so
two processes never deadlock upgrading a read lock.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from ..config import Settings
from ..pipeline.errors import ConfigError

SQLITE_DRIVER, POSTGRES_DRIVER = "sqlite+aiosqlite", "postgresql+asyncpg"
_POSTGRES_NAMES = {"postgres", "postgresql", "postgresql+asyncpg", "postgresql+psycopg"}
_BEGIN = "notelens_begin"  # execution option: the BEGIN statement on SQLite


def database_url(settings: Settings) -> URL:
    """`DATABASE_URL` (normalised to the async driver), else SQLite at `DATABASE_PATH`."""
    if settings.database_url is None:
        return sqlite_url(settings.database_path)
    return normalise_url(settings.database_url.get_secret_value())


def sqlite_url(path: Path | str) -> URL:
    return URL.create(SQLITE_DRIVER, database=str(Path(path).expanduser().absolute()))


def normalise_url(raw: str) -> URL:
    """Accept `postgresql://…` (and `postgres://`, `sqlite:///…`) as people write them."""
    try:
        url = make_url(raw.strip())
    except sa.exc.ArgumentError as exc:
        raise ConfigError("DATABASE_URL is not a database URL.", code="bad_database_url") from exc
    if url.drivername in _POSTGRES_NAMES:
        query = dict(url.query)
        if "sslmode" in query:  # libpq's spelling; asyncpg calls it ssl
            query["ssl"] = query.pop("sslmode")
        return url.set(drivername=POSTGRES_DRIVER, query=query)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        return sqlite_url(url.database)
    raise ConfigError(
        "DATABASE_URL must be postgresql://user:password@host/database (or unset for SQLite).",
        code="bad_database_url",
    )


def make_engine(url: URL | str) -> AsyncEngine:
    url = make_url(url)
    if url.get_backend_name() != "sqlite":
        return create_async_engine(url, pool_pre_ping=True)
    assert url.database
    Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(url, connect_args={"timeout": 30})

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN (see the module docstring)
        cursor = dbapi_connection.cursor()
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "busy_timeout=30000"):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        conn.exec_driver_sql(conn.get_execution_options().get(_BEGIN, "BEGIN"))

    return engine


@asynccontextmanager
async def writing(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A write transaction: takes SQLite's write lock at BEGIN (PostgreSQL locks rows)."""
    async with engine.connect() as conn:
        await conn.execution_options(**{_BEGIN: "BEGIN IMMEDIATE"})
        async with conn.begin():
            yield conn


def upsert(
    conn: AsyncConnection | sa.Connection,
    table: sa.Table,
    values: Mapping[str, Any],
    keys: Sequence[str],
    update: Sequence[str] = (),
) -> sa.Insert:
    """INSERT … ON CONFLICT (keys) DO UPDATE SET update (or DO NOTHING), in either dialect."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(table).values(**values)
    if not update:
        return cast(sa.Insert, stmt.on_conflict_do_nothing(index_elements=list(keys)))
    excluded = {name: stmt.excluded[name] for name in update}
    return cast(sa.Insert, stmt.on_conflict_do_update(index_elements=list(keys), set_=excluded))
