"""Each chat's receipt ledger: pending readings, confirmed entries, duplicates.

Every query takes the chat id, so one chat's receipts can never be read from
another. Amounts are stored as exact decimal strings and summed in Python as
`Decimal`. An entry gets its number (`#N`, per chat) when it is confirmed, from a
counter that only grows: numbers are stable and never reused, even after a clear.
Confirming is one transaction, so two processes cannot number one receipt twice.

An entry is a receipt (a photo), a manual expense (`/spent`) or a payment back (a transfer
from its poster to its payee); who shares each one lives in `ledger_splits`, the ledger's
members in `ledger_members`, the chat's currency, rates and time zone in `ledger_chats`.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from ..pipeline.images import hash_distance
from ..pipeline.tasks.receipt import LineItem, Receipt
from .engine import upsert, writing
from .ledger_changes import Changes, new_token
from .ledger_chats import ChatSettings, month_of
from .ledger_members import Members
from .ledger_splits import Splits
from .receipt_history import Actor, record
from .schema import (
    chats,
    ledger_changes,
    receipt_claims,
    receipt_history,
    receipt_shares,
    receipts,
)
from .store import Store

PENDING, CONFIRMED = "pending", "confirmed"
RECEIPT, MANUAL, TRANSFER = "receipt", "manual", "transfer"
# A re-encoded or resized copy of a photo differs in a few pHash bits; other photos in ~32.
SIMILAR_BITS = 6
PENDING_RETENTION = dt.timedelta(days=7)

_COLUMNS = [c for c in receipts.c if c.name != "created_at"]
# Entry fields stored as they are: those known when posted, then those set later.
_POSTED = (
    "chat_id",
    "poster_id",
    "poster_name",
    "requester_id",
    "message_id",
    "link",
    "posted_at",
    "file_unique_id",
    "phash",
    "kind",
    "payee_id",
)
_ENTRY_COLUMNS = (
    *_POSTED,
    "receipt_id",
    "seq",
    "status",
    "bot_message_id",
    "confirmed_at",
    "token",
    "split_mode",
)
EDITABLE = ("total", "date", "merchant", "currency")


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
    kind: str = RECEIPT
    payee_id: int | None = None  # a transfer's receiver
    token: str | None = None  # what its buttons carry
    split_mode: str = "equal"

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

    @property
    def is_transfer(self) -> bool:
        return self.kind == TRANSFER


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


def _entry(row: sa.Row[Any]) -> Entry:
    receipt = Receipt(
        merchant=row.merchant,
        date=dt.date.fromisoformat(row.receipt_date) if row.receipt_date else None,
        currency=row.currency,
        total=Decimal(row.total),
        items=[LineItem.model_validate(i) for i in json.loads(row.items)],
    )
    fields = {name: row._mapping[name] for name in _ENTRY_COLUMNS}
    return Entry(**fields, receipt=receipt, forced=bool(row.forced))


def _same_details(a: Receipt, b: Receipt) -> bool:
    """Two photos of one bill: same date, currency and total, and no conflicting merchant."""
    if a.date is None or a.date != b.date or a.currency != b.currency or a.total != b.total:
        return False
    if a.merchant and b.merchant:
        return a.merchant.strip().casefold() == b.merchant.strip().casefold()
    return True


def _select() -> sa.Select[Any]:
    return sa.select(*_COLUMNS)


class Ledger:
    """A chat's entries; its members, splits, settings and waiting changes hang off it."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._auto: set[int] = set()
        self.members = Members(store)
        self.splits = Splits(store)
        self.chats = ChatSettings(store)
        self.changes = Changes(store)

    async def load(self) -> None:
        """After `Store.open()`: cache which chats are in auto mode (handlers check it sync)
        and drop readings nobody confirmed in time."""
        async with self.store.engine.connect() as conn:
            auto = await conn.scalars(sa.select(chats.c.chat_id).where(chats.c.receipts_auto == 1))
            self._auto = set(auto)
        await self.prune()

    async def prune(self, older_than: dt.timedelta = PENDING_RETENTION) -> int:
        """Forget pending readings (and asked-for changes) older than `older_than` (a
        scheduler may call this)."""
        await self.changes.prune(older_than.total_seconds())
        async with writing(self.store.engine) as conn:
            stale = sa.select(receipts.c.receipt_id).where(
                receipts.c.status == PENDING,
                receipts.c.created_at < time.time() - older_than.total_seconds(),
            )
            return await _delete(conn, stale)

    # --- chat settings ------------------------------------------------------
    def auto(self, chat_id: int) -> bool:
        """From this process's cache (another process's change shows after `is_auto`)."""
        return chat_id in self._auto

    async def is_auto(self, chat_id: int) -> bool:
        """From the database, for processes sharing it; refreshes the cache."""
        async with self.store.engine.connect() as conn:
            on = bool(
                await conn.scalar(
                    sa.select(chats.c.receipts_auto).where(chats.c.chat_id == chat_id)
                )
            )
        (self._auto.add if on else self._auto.discard)(chat_id)
        return on

    async def set_auto(self, chat_id: int, on: bool) -> None:
        values = {"chat_id": chat_id, "receipts_auto": int(on), "updated_at": time.time()}
        async with writing(self.store.engine) as conn:
            await conn.execute(
                upsert(conn, chats, values, ["chat_id"], ["receipts_auto", "updated_at"])
            )
        (self._auto.add if on else self._auto.discard)(chat_id)

    # --- entries --------------------------------------------------------------
    async def add_pending(
        self,
        entry: Entry,
        participants: Mapping[int, Decimal] | None = None,
        tz: str | None = None,
    ) -> Entry:
        """Keep a reading (or a `/spent`, or a payment back) until it is confirmed; it is
        shared by `participants` (by default: its poster alone)."""
        r = entry.receipt
        entry.token = new_token()
        people = dict(participants) if participants else {entry.poster_id: Decimal(1)}
        async with writing(self.store.engine) as conn:
            entry.receipt_id = await conn.scalar(
                receipts.insert()
                .values(
                    **{name: getattr(entry, name) for name in _POSTED},
                    status=PENDING,
                    receipt_date=r.date.isoformat() if r.date else None,
                    month=month_of(r.date, entry.posted_at, tz),
                    merchant=r.merchant,
                    currency=r.currency,
                    total=str(r.total),
                    items=_items_json(r.items),
                    created_at=time.time(),
                    token=entry.token,
                )
                .returning(receipts.c.receipt_id)
            )
            assert entry.receipt_id is not None
            await self.splits.set_participants(conn, entry.receipt_id, people)
        entry.status = PENDING
        return entry

    async def set_bot_message(self, receipt_id: int, message_id: int) -> None:
        async with writing(self.store.engine) as conn:
            await conn.execute(
                receipts.update()
                .where(receipts.c.receipt_id == receipt_id)
                .values(bot_message_id=message_id)
            )

    async def _one(self, query: sa.Select[Any]) -> Entry | None:
        async with self.store.engine.connect() as conn:
            row = (await conn.execute(query)).first()
        return _entry(row) if row else None

    async def _all(self, query: sa.Select[Any]) -> list[Entry]:
        async with self.store.engine.connect() as conn:
            return [_entry(row) for row in await conn.execute(query)]

    async def get(self, receipt_id: int) -> Entry | None:
        return await self._one(_select().where(receipts.c.receipt_id == receipt_id))

    async def by_token(self, token: str) -> Entry | None:
        return await self._one(_select().where(receipts.c.token == token))

    async def by_seq(self, chat_id: int, seq: int) -> Entry | None:
        return await self._one(
            _select().where(
                receipts.c.chat_id == chat_id,
                receipts.c.seq == seq,
                receipts.c.status == CONFIRMED,
            )
        )

    async def entries(self, chat_id: int, month: str | None = None) -> list[Entry]:
        """The chat's confirmed entries (of `month`, or all), in ledger order."""
        query = _select().where(receipts.c.chat_id == chat_id, receipts.c.status == CONFIRMED)
        if month is not None:
            query = query.where(receipts.c.month == month)
        return await self._all(query.order_by(receipts.c.seq))

    async def currencies(self, chat_id: int) -> list[str]:
        """The currencies of the chat's confirmed entries, the most recent first."""
        async with self.store.engine.connect() as conn:
            rows = await conn.execute(
                sa.select(receipts.c.currency, sa.func.max(receipts.c.seq))
                .where(receipts.c.chat_id == chat_id, receipts.c.status == CONFIRMED)
                .group_by(receipts.c.currency)
            )
            return [c for c, _ in sorted(rows, key=lambda r: -(r[1] or 0))]

    async def duplicate_of(self, entry: Entry, *, pending_too: bool = True) -> Duplicate | None:
        """An entry of the same chat this one repeats: same file, near-identical photo, or
        the same bill photographed twice (same date, total, currency and merchant)."""
        if entry.is_transfer:
            return None
        statuses = (CONFIRMED, PENDING) if pending_too else (CONFIRMED,)
        query = _select().where(
            receipts.c.chat_id == entry.chat_id,
            receipts.c.status.in_(statuses),
            receipts.c.kind != TRANSFER,
        )
        if entry.receipt_id is not None:
            query = query.where(receipts.c.receipt_id != entry.receipt_id)
        confirmed_first = sa.case((receipts.c.status == CONFIRMED, 0), else_=1)
        others = await self._all(query.order_by(confirmed_first, receipts.c.receipt_id))
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
        now = time.time()
        async with writing(self.store.engine) as conn:
            chat_id = await conn.scalar(
                receipts.update()
                .where(receipts.c.receipt_id == receipt_id, receipts.c.status == PENDING)
                .values(status=CONFIRMED, forced=int(forced), confirmed_at=now)
                .returning(receipts.c.chat_id)
            )
            if chat_id is None:
                return None
            await conn.execute(
                upsert(conn, chats, {"chat_id": chat_id, "updated_at": now}, ["chat_id"])
            )
            seq = await conn.scalar(
                chats.update()
                .where(chats.c.chat_id == chat_id)
                .values(next_seq=chats.c.next_seq + 1, updated_at=now)
                .returning(chats.c.next_seq - 1)
            )
            await conn.execute(
                receipts.update().where(receipts.c.receipt_id == receipt_id).values(seq=seq)
            )
            row = (await conn.execute(_select().where(receipts.c.receipt_id == receipt_id))).one()
        return _entry(row)

    async def edit(
        self, receipt_id: int, what: str, value: str | None, actor: Actor
    ) -> tuple[str | None, str | None] | None:
        """Correct one field of a confirmed entry (`EDITABLE`), keeping a line of history;
        (old, new) as stored text, or None when the entry is gone."""
        column = {"total": "total", "date": "receipt_date", "merchant": "merchant"}.get(what, what)
        async with writing(self.store.engine) as conn:
            row = (
                await conn.execute(
                    sa.select(
                        receipts.c[column],
                        receipts.c.posted_at,
                        receipts.c.receipt_date,
                        chats.c.timezone,
                    )
                    .select_from(receipts.outerjoin(chats, chats.c.chat_id == receipts.c.chat_id))
                    .where(receipts.c.receipt_id == receipt_id, receipts.c.status == CONFIRMED)
                )
            ).first()
            if row is None:
                return None
            old = row[0]
            values: dict[str, Any] = {column: value}
            if what == "date":
                day = dt.date.fromisoformat(value) if value else None
                values["month"] = month_of(day, row.posted_at, row.timezone)
            await conn.execute(
                receipts.update().where(receipts.c.receipt_id == receipt_id).values(**values)
            )
            await record(conn, receipt_id, actor, what, old, value)
        return old, value

    async def delete(self, receipt_id: int) -> None:
        async with writing(self.store.engine) as conn:
            await _delete(
                conn, sa.select(receipts.c.receipt_id).where(receipts.c.receipt_id == receipt_id)
            )

    async def count(self, chat_id: int) -> int:
        async with self.store.engine.connect() as conn:
            n = await conn.scalar(
                sa.select(sa.func.count()).where(
                    receipts.c.chat_id == chat_id, receipts.c.status == CONFIRMED
                )
            )
        return int(n or 0)

    async def last_id(self, chat_id: int) -> int | None:
        async with self.store.engine.connect() as conn:
            last = await conn.scalar(
                sa.select(sa.func.max(receipts.c.receipt_id)).where(receipts.c.chat_id == chat_id)
            )
        return None if last is None else int(last)

    async def clear(self, chat_id: int, *, up_to: int) -> int:
        """Delete the chat's entries (pending ones too) up to id `up_to`: those the admin saw
        counted when asked. Returns how many confirmed ones went; the numbering goes on."""
        mine = (receipts.c.chat_id == chat_id, receipts.c.receipt_id <= up_to)
        async with writing(self.store.engine) as conn:
            n = await conn.scalar(
                sa.select(sa.func.count()).where(*mine, receipts.c.status == CONFIRMED)
            )
            await _delete(conn, sa.select(receipts.c.receipt_id).where(*mine))
        return int(n or 0)

    # --- people -----------------------------------------------------------------
    async def posted_by(self, user_id: int) -> tuple[int, int]:
        """(receipts, chats) the user posted: what `/forgetme` would delete."""
        async with self.store.engine.connect() as conn:
            row = (
                await conn.execute(
                    sa.select(
                        sa.func.count(), sa.func.count(sa.distinct(receipts.c.chat_id))
                    ).where(receipts.c.poster_id == user_id)
                )
            ).one()
        return int(row[0]), int(row[1])

    async def forget(self, user_id: int) -> int:
        """Delete the entries the user posted (and payments made to them), everywhere; take
        them out of others' expenses and histories, and out of every ledger's members."""
        async with writing(self.store.engine) as conn:
            n = await conn.scalar(sa.select(sa.func.count()).where(receipts.c.poster_id == user_id))
            theirs = sa.select(receipts.c.receipt_id).where(
                sa.or_(receipts.c.poster_id == user_id, receipts.c.payee_id == user_id)
            )
            await _delete(conn, theirs)
            await conn.execute(
                receipts.update()
                .where(receipts.c.requester_id == user_id)
                .values(requester_id=receipts.c.poster_id)
            )
            for table in (receipt_shares, receipt_claims):
                await conn.execute(table.delete().where(table.c.member_id == user_id))
            await conn.execute(
                receipt_history.delete().where(
                    receipt_history.c.field.in_(("joined", "left")),
                    receipt_history.c.old == str(user_id),
                )
            )
            await conn.execute(
                receipt_history.update()
                .where(receipt_history.c.actor_id == user_id)
                .values(actor_id=None, actor_name=None)
            )
        await self.members.forget(user_id)
        await self.changes.forget(user_id)
        return int(n or 0)


async def _delete(conn: AsyncConnection, ids: sa.Select[Any]) -> int:
    """Delete entries with everything that hangs off them; how many entries went."""
    doomed = [row[0] for row in await conn.execute(ids)]
    if not doomed:
        return 0
    for table in (receipt_shares, receipt_claims, receipt_history, ledger_changes):
        await conn.execute(table.delete().where(table.c.receipt_id.in_(doomed)))
    done = await conn.execute(receipts.delete().where(receipts.c.receipt_id.in_(doomed)))
    return max(done.rowcount, 0)
