"""Every archive test runs on a real SQLite file and on a real PostgreSQL (127.0.0.1:5432,
user postgres): each PostgreSQL test gets a database of its own, dropped afterwards."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import create_async_engine

from notelens.archive import Archive

PG = {"host": "127.0.0.1", "port": 5432, "user": "postgres"}


@pytest.fixture(params=["sqlite", "postgresql"])
async def archive(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Archive]:
    if request.param == "sqlite":
        url = URL.create("sqlite+aiosqlite", database=str(tmp_path / "notelens.db"))
        engine = create_async_engine(url)
        archive = Archive(engine)
        await archive.create_tables()
        yield archive
        await engine.dispose()
        return
    name = f"notelens_test_{uuid.uuid4().hex[:16]}"
    admin = await asyncpg.connect(database="test", **PG)
    await admin.execute(f'CREATE DATABASE "{name}"')
    engine = create_async_engine(
        URL.create("postgresql+asyncpg", username="postgres", host="127.0.0.1", database=name)
    )
    try:
        archive = Archive(engine)
        await archive.create_tables()
        yield archive
    finally:
        await engine.dispose()
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
