"""Each chat's receipt ledger in SQLite: pending readings, confirmed entries, duplicates.

Every query takes the chat id, so one chat's receipts can never be read from
another. Amounts are stored as exact decimal strings and summed in Python as
`Decimal`. An entry gets its number (`#N`, per chat) when it is confirmed, from a
counter that only grows: numbers are stable and never reused, even after a clear.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from ..pipeline.images import hash_distance
from ..pipeline.tasks.receipt import LineItem, Receipt
from ..store import Store

PENDING, CONFIRMED = "pending", "confirmed"
# A re-encoded or resized copy of a photo differs in a few pHash bits; other photos in ~32.
SIMILAR_BITS = 6
PENDING_RETENTION_S = 7 * 24 * 3600

_COLUMNS = (
    "receipt_id, chat_id, seq, status, poster_id, poster_name, requester_id, message_id, link, "
    "posted_at, receipt_date, month, merchant, currency, total, items, file_unique_id, phash, "
    "forced, bot_message_id, confirmed_at"
)


def month_of(receipt_date: dt.date | None, posted_at: float) -> str:
    """The ledger month: the receipt's own date, else the posting day (server time zone)."""
    day = receipt_date or dt.datetime.fromtimestamp(posted_at).astimezone().date()
    return f"{day.year:04d}-{day.month:02d}"


def message_link(chat_id: int, message_id: int | None) -> str | None:
    """`https://t.me/c/<id>/<msg>` for supergroups (-100…); other chats have no such link."""
    text = str(chat_id)
    if message_id is None or not text.startswith("-100"):
        return None
    return f"https://t.me/c/{text[4:]}/{message_id}"


@dataclass
class Entry:
    """One receipt in a chat's ledger (pending until the poster confirms it)."""

    chat_id: int
    poster_id: int
    poster_name: str
    posted_at: float
    receipt: Receipt
    requester_id: int = 0
    message_id: int | None = None
    file_unique_id: str | None = None
    phash: str | None = None
    receipt_id: int | None = None
    seq: int | None = None
    status: str = PENDING
    forced: bool = False  # confirmed although flagged as a duplicate
    bot_message_id: int | None = None
    confirmed_at: float | None = None
    link: str | None = field(default=None)

    def __post_init__(self) -> None:
        if not self.requester_id:
            self.requester_id = self.poster_id
        if self.link is None:
            self.link = message_link(self.chat_id, self.message_id)

    @property
    def month(self) -> str:
        return month_of(self.receipt.date, self.posted_at)

    @property
    def total(self) -> Decimal:
        return self.receipt.total

    @property
    def currency(self) -> str:
        return self.receipt.currency

    @property
    def money(self) -> tuple[Decimal, str]:
        return self.receipt.total, self.receipt.currency


@dataclass
class Duplicate:
    """Why an entry looks like one already in the ledger, and which one."""

    reason: str  # same_photo | similar_photo | same_details
    other: Entry


def _items_json(items: Iterable[LineItem]) -> str:
    return json.dumps(
        [
            {
                "name": i.name,
                "quantity": None if i.quantity is None else str(i.quantity),
                "amount": None if i.amount is None else str(i.amount),
            }
            for i in items
        ],
        ensure_ascii=False,
    )


def _entry(row: Any) -> Entry:
    receipt = Receipt(
        merchant=row[12],
        date=dt.date.fromisoformat(row[10]) if row[10] else None,
        currency=row[13],
        total=Decimal(row[14]),
        items=[LineItem.model_validate(i) for i in json.loads(row[15])],
    )
    return Entry(
        receipt_id=row[0],
        chat_id=row[1],
        seq=row[2],
        status=row[3],
        poster_id=row[4],
        poster_name=row[5],
        requester_id=row[6],
        message_id=row[7],
        link=row[8],
        posted_at=row[9],
        receipt=receipt,
        file_unique_id=row[16],
        phash=row[17],
        forced=bool(row[18]),
        bot_message_id=row[19],
        confirmed_at=row[20],
    )


def _same_details(a: Receipt, b: Receipt) -> bool:
    """Two photos of one bill: same date, currency and total, and no conflicting merchant."""
    if a.date is None or a.date != b.date or a.currency != b.currency or a.total != b.total:
        return False
    if a.merchant and b.merchant:
        return a.merchant.strip().casefold() == b.merchant.strip().casefold()
    return True


class Ledger:
    def __init__(self, store: Store) -> None:
        self.store = store
        self._auto: set[int] = set()
        # Confirming reads then writes the chat's counter: one at a time.
        self._lock = asyncio.Lock()

    async def load(self) -> None:
        """After `Store.open()`: cache which chats are in auto mode (handlers check it sync)."""
        db = self.store.db
        async with db.execute("SELECT chat_id FROM chats WHERE receipts_auto = 1") as cur:
            self._auto = {int(row[0]) for row in await cur.fetchall()}
        await db.execute(
            "DELETE FROM receipts WHERE status = ? AND created_at < ?",
            (PENDING, time.time() - PENDING_RETENTION_S),
        )

    # --- chat settings ------------------------------------------------------
    def auto(self, chat_id: int) -> bool:
        return chat_id in self._auto

    async def set_auto(self, chat_id: int, on: bool) -> None:
        await self.store.db.execute(
            """INSERT INTO chats (chat_id, receipts_auto, updated_at) VALUES (?, ?, ?)
               ON CONFLICT (chat_id) DO UPDATE
                 SET receipts_auto = excluded.receipts_auto, updated_at = excluded.updated_at""",
            (chat_id, int(on), time.time()),
        )
        (self._auto.add if on else self._auto.discard)(chat_id)

    # --- entries --------------------------------------------------------------
    async def add_pending(self, entry: Entry) -> Entry:
        r = entry.receipt
        cur = await self.store.db.execute(
            """INSERT INTO receipts (chat_id, status, poster_id, poster_name, requester_id,
                 message_id, link, posted_at, receipt_date, month, merchant, currency, total,
                 items, file_unique_id, phash, created_at)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            (
                entry.chat_id,
                PENDING,
                entry.poster_id,
                entry.poster_name,
                entry.requester_id,
                entry.message_id,
                entry.link,
                entry.posted_at,
                r.date.isoformat() if r.date else None,
                entry.month,
                r.merchant,
                r.currency,
                str(r.total),
                _items_json(r.items),
                entry.file_unique_id,
                entry.phash,
                time.time(),
            ),
        )
        entry.receipt_id = int(cur.lastrowid or 0)
        entry.status = PENDING
        return entry

    async def set_bot_message(self, receipt_id: int, message_id: int) -> None:
        await self.store.db.execute(
            "UPDATE receipts SET bot_message_id = ? WHERE receipt_id = ?", (message_id, receipt_id)
        )

    async def get(self, receipt_id: int) -> Entry | None:
        async with self.store.db.execute(
            f"SELECT {_COLUMNS} FROM receipts WHERE receipt_id = ?", (receipt_id,)
        ) as cur:
            row = await cur.fetchone()
        return _entry(row) if row else None

    async def by_seq(self, chat_id: int, seq: int) -> Entry | None:
        async with self.store.db.execute(
            f"SELECT {_COLUMNS} FROM receipts WHERE chat_id = ? AND seq = ? AND status = ?",
            (chat_id, seq, CONFIRMED),
        ) as cur:
            row = await cur.fetchone()
        return _entry(row) if row else None

    async def entries(self, chat_id: int, month: str | None = None) -> list[Entry]:
        """The chat's confirmed receipts (of `month`, or all), in ledger order."""
        sql = f"SELECT {_COLUMNS} FROM receipts WHERE chat_id = ? AND status = ?"
        args: list[Any] = [chat_id, CONFIRMED]
        if month is not None:
            sql += " AND month = ?"
            args.append(month)
        async with self.store.db.execute(sql + " ORDER BY seq", args) as cur:
            return [_entry(row) for row in await cur.fetchall()]

    async def duplicate_of(self, entry: Entry, *, pending_too: bool = True) -> Duplicate | None:
        """An entry of the same chat this one repeats: same file, near-identical photo, or
        the same bill photographed twice (same date, total, currency and merchant)."""
        statuses = (CONFIRMED, PENDING) if pending_too else (CONFIRMED, CONFIRMED)
        async with self.store.db.execute(
            f"""SELECT {_COLUMNS} FROM receipts
                WHERE chat_id = ? AND status IN (?, ?) AND receipt_id IS NOT ?
                ORDER BY status = 'confirmed' DESC, receipt_id""",
            (entry.chat_id, *statuses, entry.receipt_id),
        ) as cur:
            others = [_entry(row) for row in await cur.fetchall()]
        for other in others:
            if entry.file_unique_id and other.file_unique_id == entry.file_unique_id:
                return Duplicate("same_photo", other)
        for other in others:
            if (
                entry.phash
                and other.phash
                and hash_distance(entry.phash, other.phash) <= SIMILAR_BITS
            ):
                return Duplicate("similar_photo", other)
        for other in others:
            if _same_details(entry.receipt, other.receipt):
                return Duplicate("same_details", other)
        return None

    async def confirm(self, receipt_id: int, *, forced: bool = False) -> Entry | None:
        """Number a pending entry and count it; None when it is no longer pending."""
        db = self.store.db
        async with self._lock:
            entry = await self.get(receipt_id)
            if entry is None or entry.status != PENDING:
                return None
            await db.execute(
                """INSERT INTO chats (chat_id, updated_at) VALUES (?, ?)
                   ON CONFLICT (chat_id) DO NOTHING""",
                (entry.chat_id, time.time()),
            )
            async with db.execute(
                """UPDATE chats SET next_seq = next_seq + 1, updated_at = ?
                   WHERE chat_id = ? RETURNING next_seq - 1""",
                (time.time(), entry.chat_id),
            ) as cur:
                row = await cur.fetchone()
            assert row is not None
            entry.seq, entry.status, entry.forced = int(row[0]), CONFIRMED, forced
            entry.confirmed_at = time.time()
            await db.execute(
                """UPDATE receipts SET seq = ?, status = ?, forced = ?, confirmed_at = ?
                   WHERE receipt_id = ?""",
                (entry.seq, CONFIRMED, int(forced), entry.confirmed_at, receipt_id),
            )
        return entry

    async def delete(self, receipt_id: int) -> None:
        await self.store.db.execute("DELETE FROM receipts WHERE receipt_id = ?", (receipt_id,))

    async def count(self, chat_id: int) -> int:
        async with self.store.db.execute(
            "SELECT count(*) FROM receipts WHERE chat_id = ? AND status = ?", (chat_id, CONFIRMED)
        ) as cur:
            row = await cur.fetchone()
        return int(row[0]) if row else 0

    async def last_id(self, chat_id: int) -> int | None:
        async with self.store.db.execute(
            "SELECT max(receipt_id) FROM receipts WHERE chat_id = ?", (chat_id,)
        ) as cur:
            row = await cur.fetchone()
        return int(row[0]) if row and row[0] is not None else None

    async def clear(self, chat_id: int, *, up_to: int) -> int:
        """Delete the chat's receipts (pending ones too) up to id `up_to`: those the admin saw
        counted when asked. Returns how many confirmed ones went; the numbering goes on."""
        db = self.store.db
        where = "chat_id = ? AND receipt_id <= ?"
        async with db.execute(
            f"SELECT count(*) FROM receipts WHERE {where} AND status = ?",
            (chat_id, up_to, CONFIRMED),
        ) as cur:
            row = await cur.fetchone()
        await db.execute(f"DELETE FROM receipts WHERE {where}", (chat_id, up_to))
        return int(row[0]) if row else 0

    # --- people -----------------------------------------------------------------
    async def posted_by(self, user_id: int) -> tuple[int, int]:
        """(receipts, chats) the user posted: what `/forgetme` would delete."""
        async with self.store.db.execute(
            "SELECT count(*), count(DISTINCT chat_id) FROM receipts WHERE poster_id = ?",
            (user_id,),
        ) as cur:
            row = await cur.fetchone()
        return (int(row[0]), int(row[1])) if row else (0, 0)

    async def forget(self, user_id: int) -> int:
        """Delete the receipts the user posted, everywhere; unlink them from others'."""
        db = self.store.db
        cur = await db.execute("DELETE FROM receipts WHERE poster_id = ?", (user_id,))
        await db.execute(
            "UPDATE receipts SET requester_id = poster_id WHERE requester_id = ?", (user_id,)
        )
        return max(cur.rowcount, 0)
