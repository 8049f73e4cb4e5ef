"""A chat's ledger settings: its default currency, the exchange rates it set (nothing is
fetched from the internet), and the time zone that decides which month an entry is in."""

from __future__ import annotations

import datetime as dt
import time
from decimal import Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from .engine import upsert, writing
from .schema import chats, ledger_rates, receipts
from .store import Store


def zone(name: str | None) -> ZoneInfo | None:
    """The IANA time zone `name`, or None for the server's (also for a name not known)."""
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def local_day(ts: float, tz: str | None = None) -> dt.date:
    return dt.datetime.fromtimestamp(ts, zone(tz)).date()


def month_of(receipt_date: dt.date | None, posted_at: float, tz: str | None = None) -> str:
    """The ledger month: the receipt's own date, else the posting day in the chat's time
    zone (the server's when it has none)."""
    day = receipt_date or local_day(posted_at, tz)
    return f"{day.year:04d}-{day.month:02d}"


class ChatSettings:
    def __init__(self, store: Store) -> None:
        self.store = store

    @property
    def engine(self) -> AsyncEngine:
        return self.store.engine

    async def _get(self, chat_id: int, column: sa.Column[str]) -> str | None:
        async with self.engine.connect() as conn:
            value = await conn.scalar(sa.select(column).where(chats.c.chat_id == chat_id))
        return None if value is None else str(value)

    async def _set(self, chat_id: int, name: str, value: str | None) -> None:
        values = {"chat_id": chat_id, name: value, "updated_at": time.time()}
        async with writing(self.engine) as conn:
            await conn.execute(upsert(conn, chats, values, ["chat_id"], [name, "updated_at"]))

    async def currency(self, chat_id: int) -> str | None:
        return await self._get(chat_id, chats.c.currency)

    async def set_currency(self, chat_id: int, currency: str | None) -> None:
        await self._set(chat_id, "currency", currency)

    async def timezone(self, chat_id: int) -> str | None:
        return await self._get(chat_id, chats.c.timezone)

    async def set_timezone(self, chat_id: int, name: str | None) -> int:
        """Set the chat's time zone and move its undated entries to the month they now fall
        in; returns how many moved."""
        await self._set(chat_id, "timezone", name)
        moved = 0
        async with writing(self.engine) as conn:
            rows = await conn.execute(
                sa.select(receipts.c.receipt_id, receipts.c.posted_at, receipts.c.month).where(
                    receipts.c.chat_id == chat_id, receipts.c.receipt_date.is_(None)
                )
            )
            for receipt_id, posted_at, month in rows.all():
                now = month_of(None, posted_at, name)
                if now != month:
                    moved += 1
                    await conn.execute(
                        receipts.update()
                        .where(receipts.c.receipt_id == receipt_id)
                        .values(month=now)
                    )
        return moved

    async def rates(self, chat_id: int) -> dict[str, Decimal]:
        """currency → how much of the default currency one unit of it is worth."""
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                sa.select(ledger_rates.c.currency, ledger_rates.c.rate).where(
                    ledger_rates.c.chat_id == chat_id
                )
            )
            return {currency: Decimal(rate) for currency, rate in rows}

    async def set_rate(self, chat_id: int, currency: str, rate: Decimal | None) -> None:
        async with writing(self.engine) as conn:
            if rate is None:
                await conn.execute(
                    ledger_rates.delete().where(
                        ledger_rates.c.chat_id == chat_id, ledger_rates.c.currency == currency
                    )
                )
                return
            values = {
                "chat_id": chat_id,
                "currency": currency,
                "rate": str(rate),
                "updated_at": time.time(),
            }
            await conn.execute(
                upsert(conn, ledger_rates, values, ["chat_id", "currency"], ["rate", "updated_at"])
            )
