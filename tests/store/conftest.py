"""Every store test runs on a real SQLite file and on a real PostgreSQL (127.0.0.1:5432,
user postgres): each PostgreSQL test gets a database of its own, dropped afterwards."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.engine import URL

from notelens.store import Store
from notelens.store.engine import sqlite_url

PG_HOST = {"host": "127.0.0.1", "port": 5432}
PG = {**PG_HOST, "user": "postgres"}


async def admin(sql: str) -> None:
    connection = await asyncpg.connect(database="test", **PG)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


@asynccontextmanager
async def own_database() -> AsyncIterator[URL]:
    """A PostgreSQL database with a unique name, dropped afterwards."""
    name = f"notelens_test_{uuid.uuid4().hex[:16]}"
    await admin(f'CREATE DATABASE "{name}"')
    try:
        yield URL.create("postgresql+asyncpg", username="postgres", database=name, **PG_HOST)
    finally:
        await admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
async def pg_url() -> AsyncIterator[URL]:
    async with own_database() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
async def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[URL]:
    """An empty database of each engine."""
    if request.param == "sqlite":
        yield sqlite_url(tmp_path / "data" / "notelens.db")
        return
    async with own_database() as url:
        yield url


@pytest.fixture
async def store(db_url: URL) -> AsyncIterator[Store]:
    store = await Store(db_url).open()
    yield store
    await store.close()
