"""Changes someone asked for (a corrected total, new shares) that wait for a button press.

The button carries a random token, never the change itself: its data could be replayed or
made up, and the change is taken from here exactly once (a double tap applies it once).
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from .engine import writing
from .schema import ledger_changes
from .store import Store


def new_token() -> str:
    """12 URL-safe characters (72 random bits), never all digits (old buttons had ids)."""
    while True:
        token = secrets.token_urlsafe(9)
        if not token.isdigit():
            return token


@dataclass(frozen=True)
class Change:
    token: str
    chat_id: int
    receipt_id: int
    requester_id: int
    kind: str  # edit | share
    payload: dict[str, Any]
    created_at: float


_COLUMNS = (
    ledger_changes.c.token,
    ledger_changes.c.chat_id,
    ledger_changes.c.receipt_id,
    ledger_changes.c.requester_id,
    ledger_changes.c.kind,
    ledger_changes.c.payload,
    ledger_changes.c.created_at,
)


def _change(row: Any) -> Change:
    token, chat_id, receipt_id, requester_id, kind, payload, created_at = row
    return Change(token, chat_id, receipt_id, requester_id, kind, json.loads(payload), created_at)


class Changes:
    def __init__(self, store: Store) -> None:
        self.store = store

    @property
    def engine(self) -> AsyncEngine:
        return self.store.engine

    async def add(
        self, chat_id: int, receipt_id: int, requester_id: int, kind: str, payload: dict[str, Any]
    ) -> str:
        token = new_token()
        async with writing(self.engine) as conn:
            await conn.execute(
                ledger_changes.insert().values(
                    token=token,
                    chat_id=chat_id,
                    receipt_id=receipt_id,
                    requester_id=requester_id,
                    kind=kind,
                    payload=json.dumps(payload, ensure_ascii=False),
                    created_at=time.time(),
                )
            )
        return token

    async def get(self, token: str) -> Change | None:
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(sa.select(*_COLUMNS).where(ledger_changes.c.token == token))
            ).first()
        return _change(row) if row else None

    async def take(self, token: str) -> bool:
        """Remove the change; False when someone already did (it is applied only once)."""
        async with writing(self.engine) as conn:
            done = await conn.execute(
                ledger_changes.delete().where(ledger_changes.c.token == token)
            )
        return done.rowcount > 0

    async def prune(self, older_than_s: float) -> int:
        async with writing(self.engine) as conn:
            done = await conn.execute(
                ledger_changes.delete().where(
                    ledger_changes.c.created_at < time.time() - older_than_s
                )
            )
        return max(done.rowcount, 0)

    async def forget(self, user_id: int) -> None:
        async with writing(self.engine) as conn:
            await conn.execute(
                ledger_changes.delete().where(ledger_changes.c.requester_id == user_id)
            )
