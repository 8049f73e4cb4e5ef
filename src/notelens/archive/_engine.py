"""The database the archive lives in, from the settings (SQLite at DATABASE_PATH by default)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from ..config import Settings


def archive_engine(settings: Settings) -> AsyncEngine:
    path = Path(settings.database_path).expanduser().absolute()
    path.parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(URL.create("sqlite+aiosqlite", database=str(path)))

    @sa.event.listens_for(engine.sync_engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "busy_timeout=30000"):
            dbapi_connection.execute(f"PRAGMA {pragma}")

    return engine
