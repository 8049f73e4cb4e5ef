"""The history of a ledger entry: one line per change made after it was confirmed (who,
when, what, from what to what), so that a corrected total never silently replaces the
one people agreed on."""

from __future__ import annotations

import time
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from .schema import receipt_history, receipts


@dataclass(frozen=True)
class Actor:
    """Who made a change: a person, or a group for its anonymous admins."""

    actor_id: int
    name: str


@dataclass(frozen=True)
class HistoryLine:
    at: float
    actor_name: str | None
    field: str  # total | date | merchant | currency | joined | left | shares | claiming_*
    old: str | None
    new: str | None


async def record(
    conn: AsyncConnection,
    receipt_id: int,
    actor: Actor | None,
    field: str,
    old: str | None = None,
    new: str | None = None,
) -> None:
    """Add a line in the caller's transaction (nothing when `actor` is None: an entry still
    being set up before its confirmation has no history)."""
    if actor is None:
        return
    await conn.execute(
        receipt_history.insert().values(
            receipt_id=receipt_id,
            at=time.time(),
            actor_id=actor.actor_id,
            actor_name=actor.name,
            field=field,
            old=old,
            new=new,
        )
    )


async def history(engine: AsyncEngine, receipt_id: int) -> list[HistoryLine]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            sa.select(
                receipt_history.c.at,
                receipt_history.c.actor_name,
                receipt_history.c.field,
                receipt_history.c.old,
                receipt_history.c.new,
            )
            .where(receipt_history.c.receipt_id == receipt_id)
            .order_by(receipt_history.c.history_id)
        )
        return [HistoryLine(*row) for row in rows]


async def changed(engine: AsyncEngine, chat_id: int) -> set[int]:
    """Which of the chat's entries have a history (marked in the ledger)."""
    async with engine.connect() as conn:
        rows = await conn.scalars(
            sa.select(receipt_history.c.receipt_id)
            .distinct()
            .where(
                receipt_history.c.receipt_id.in_(
                    sa.select(receipts.c.receipt_id).where(receipts.c.chat_id == chat_id)
                )
            )
        )
        return set(rows)
