"""Shared expenses: what balances, settling up and the exports cost for a large ledger.

    python -m benchmarks.ledger [--entries 1000] [--people 8]

One chat with `--entries` confirmed entries (three currencies; shared equally, by weight,
by exact amounts, or by claimed items with a service charge) and a payment back every
twentieth entry, kept in a SQLite file through `Ledger`. Each figure is the best of five
runs, against baselines measured in the same run:
- reading the ledger with who shares each entry (`open_book`) against reading the entries
  alone (`Ledger.entries`, what the ledger read before shares existed);
- balances (exact shares added up, rounded once) and the proposed transfers against the
  old way: totals per poster, split equally among posters, per currency;
- the texts and the export files against the same baseline.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

from notelens.pipeline.tasks.receipt import LineItem, Receipt
from notelens.store import Store
from notelens.store.receipt_history import Actor
from notelens.telegram.ledger import TRANSFER, Entry, Ledger
from notelens.telegram.receipts.book import Book, open_book
from notelens.telegram.receipts.export import csv_bytes, xlsx_bytes
from notelens.telegram.receipts.money import to_minor
from notelens.telegram.receipts.settlement import settle, settle_units
from notelens.telegram.receipts.views import balance_text, split_text

CHAT = -1001234567890
CURRENCIES = ("CNY", "CNY", "CNY", "USD", "JPY")
RUNS = 5


def best(fn: Callable[[], Any]) -> float:
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


async def best_async(fn: Callable[[], Any]) -> float:
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        await fn()
        times.append(time.perf_counter() - start)
    return min(times)


def old_split(book: Book) -> int:
    """The ledger before shares: each currency split equally among those who paid in it."""
    paid: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for e in book.entries:
        paid[e.currency][e.poster_id] += to_minor(e.total, e.currency)
    n = 0
    for currency, by_person in paid.items():
        people = sorted(by_person)
        base, extra = divmod(sum(by_person.values()), len(people))
        owed = {p: by_person[p] - base - (1 if i < extra else 0) for i, p in enumerate(people)}
        n += len(settle(owed, currency))
    return n


def new_split(book: Book) -> int:
    return sum(len(settle_units(owed)) for owed in book.balances().values())


async def fill(ledger: Ledger, entries: int, people: int, rng: random.Random) -> None:
    everyone = list(range(1, people + 1))
    for p in everyone:
        await ledger.members.seen(CHAT, p, f"Person {p}", f"person{p}", active=True)
    for n in range(entries):
        payer = rng.choice(everyone)
        currency = rng.choice(CURRENCIES)
        digits = 0 if currency == "JPY" else 2
        items = [
            LineItem(name=f"item {i}", amount=Decimal(rng.randint(100, 9000)).scaleb(-digits))
            for i in range(8)
        ]
        service = sum((i.amount or Decimal(0) for i in items), Decimal(0)) / 10
        total = sum((i.amount or Decimal(0) for i in items), Decimal(0)) + round(service, digits)
        items.append(LineItem(name="Service charge", amount=round(service, digits)))
        transfer = n % 20 == 19
        payee = rng.choice([p for p in everyone if p != payer])
        entry = Entry(
            chat_id=CHAT,
            poster_id=payer,
            poster_name=f"Person {payer}",
            posted_at=1.79e9 + n,
            receipt=Receipt(
                merchant=f"Shop {n}",
                currency=currency,
                total=total,
                items=[] if transfer else items,
            ),
            kind=TRANSFER if transfer else "receipt",
            payee_id=payee if transfer else None,
        )
        sharing = rng.sample(everyone, rng.randint(2, people))
        await ledger.add_pending(entry, {p: Decimal(1) for p in ([payee] if transfer else sharing)})
        assert entry.receipt_id is not None
        await ledger.confirm(entry.receipt_id)
        mode = rng.random()
        actor = Actor(payer, f"Person {payer}")
        if transfer or mode < 0.6:
            continue
        if mode < 0.8:
            weights = {p: Decimal(rng.choice((1, 2, 3))) for p in sharing}
            await ledger.splits.replace(entry.receipt_id, "equal", weights, {}, actor, "w")
        elif mode < 0.9:
            amounts = {p: round(total / len(sharing), digits) for p in sharing}
            amounts[sharing[0]] += total - sum(amounts.values())
            weights = dict.fromkeys(sharing, Decimal(1))
            await ledger.splits.replace(entry.receipt_id, "exact", weights, amounts, actor, "x")
        else:
            await ledger.splits.set_claiming(entry.receipt_id, True, actor)
            for index in range(8):
                for p in rng.sample(everyone, rng.randint(0, 2)):
                    await ledger.splits.toggle_claim(entry.receipt_id, index, p)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1000)
    parser.add_argument("--people", type=int, default=8)
    args = parser.parse_args()
    rng = random.Random(14)
    with tempfile.TemporaryDirectory() as scratch:
        store = await Store(Path(scratch) / "ledger.db").open()
        try:
            ledger = Ledger(store)
            start = time.perf_counter()
            await fill(ledger, args.entries, args.people, rng)
            print(
                f"{args.entries} entries, {args.people} people: filled in "
                f"{time.perf_counter() - start:.1f} s"
            )
            entries_only = await best_async(lambda: ledger.entries(CHAT))
            with_shares = await best_async(lambda: open_book(ledger, CHAT))
            book = await open_book(ledger, CHAT)
        finally:
            await store.close()
    old = best(lambda: old_split(book))
    new = best(lambda: new_split(book))
    texts = best(lambda: (balance_text("en", book), split_text("en", book)))
    csv = best(lambda: csv_bytes(book))
    xlsx = best(lambda: xlsx_bytes(book))
    per = 1e6 / args.entries
    rows = [
        ("read entries (baseline)", entries_only, entries_only),
        ("read entries and shares", with_shares, entries_only),
        ("old equal split (baseline)", old, old),
        ("balances + transfers", new, old),
        ("balance and split texts", texts, old),
        ("CSV export", csv, old),
        ("xlsx export", xlsx, old),
    ]
    print(f"{'':28} {'total ms':>9} {'µs/entry':>9} {'× baseline':>11}")
    for name, seconds, baseline in rows:
        print(f"{name:28} {seconds * 1e3:9.1f} {seconds * per:9.1f} {seconds / baseline:11.2f}")


if __name__ == "__main__":
    asyncio.run(main())
