"""A chat's ledger read for one answer: its entries, who shares each, names and settings,
turned into `money.Expense`s for balances. The bridge between the store and the pure money
logic: no Telegram here either."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from ...pipeline.tasks.receipt import LineItem, Receipt
from ...store.ledger_splits import Split
from ..ledger import Entry, Ledger
from .money import EQUAL, EXACT, ITEMS, Expense, Item, balances, is_adjustment, to_minor
from .money import shares as money_shares

# Telegram allows 100 buttons under a message: items beyond these get none (nobody can claim
# them, so they are shared by all participants like any unclaimed item).
MAX_CLAIM_ITEMS = 40


def claimable(receipt: Receipt, limit: int | None = MAX_CLAIM_ITEMS) -> list[tuple[int, LineItem]]:
    """The lines people can say they had (index in the receipt, item): items with a
    positive amount that are not tax, service, a tip or a discount (the first `limit`)."""
    found = [
        (i, item)
        for i, item in enumerate(receipt.items)
        if item.amount is not None and item.amount > 0 and not is_adjustment(item.name, item.amount)
    ]
    return found[:limit]


def expense_of(entry: Entry, split: Split) -> Expense:
    """What an entry means for balances (a payment back: its payee is its one participant)."""
    currency = entry.currency
    total = to_minor(entry.total, currency)
    if entry.is_transfer and entry.payee_id is not None:
        return Expense(entry.poster_id, currency, total, {entry.payee_id: 1})
    weights = dict(split.weights)
    if split.mode == EXACT:
        amounts = {p: to_minor(a, currency) for p, a in split.amounts.items()}
        return Expense(entry.poster_id, currency, total, weights, EXACT, amounts)
    if split.mode == ITEMS:
        items = [
            Item(to_minor(item.amount or Decimal(0), currency), tuple(split.claims.get(i, ())))
            for i, item in claimable(entry.receipt, limit=None)
        ]
        return Expense(entry.poster_id, currency, total, weights, ITEMS, items=items)
    return Expense(entry.poster_id, currency, total, weights, EQUAL)


def entry_shares(entry: Entry, split: Split) -> dict[int, int]:
    """Each person's part of the entry, in minor units."""
    return money_shares(expense_of(entry, split))


@dataclass
class Book:
    chat_id: int
    entries: list[Entry]
    splits: dict[int, Split]
    names: dict[int, str] = field(default_factory=dict)
    currency: str | None = None
    rates: dict[str, Decimal] = field(default_factory=dict)

    def name(self, person: int) -> str:
        return self.names.get(person) or str(person)

    def split(self, entry: Entry) -> Split:
        assert entry.receipt_id is not None
        return self.splits.get(entry.receipt_id) or Split(weights={entry.poster_id: Decimal(1)})

    def balances(self) -> dict[str, dict[int, int]]:
        """Per currency, over every confirmed entry and payment back."""
        return balances(expense_of(e, self.split(e)) for e in self.entries)


async def names_in(ledger: Ledger, chat_id: int, entries: list[Entry]) -> dict[int, str]:
    """Latest names: the ledger's members, then posters of entries (people rename)."""
    names: dict[int, str] = {}
    for e in sorted(entries, key=lambda e: e.posted_at):
        names[e.poster_id] = e.poster_name
    names.update({m.member_id: m.name for m in (await ledger.members.known(chat_id)).values()})
    return names


async def open_book(ledger: Ledger, chat_id: int, month: str | None = None) -> Book:
    entries = await ledger.entries(chat_id, month)
    return Book(
        chat_id,
        entries,
        await ledger.splits.of_chat(chat_id),
        await names_in(ledger, chat_id, entries),
        await ledger.chats.currency(chat_id),
        await ledger.chats.rates(chat_id),
    )
