"""Who pays whom so that everyone's balance comes to zero, with few transfers.

Per currency, in minor units (see `money`): the largest debtor pays the largest creditor
as much as settles one of them, again and again. Each transfer settles at least one person
and the last settles two, so n people with a balance need at most n − 1 transfers.
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from .money import from_minor


@dataclass(frozen=True)
class Transfer:
    debtor: int
    creditor: int
    amount: Decimal
    currency: str


def settle_units(owed: Mapping[int, int]) -> list[tuple[int, int, int]]:
    """(debtor, creditor, units) that bring every balance of `owed` (summing to zero) to
    zero; ties go to the smaller id, so the answer is the same every time."""
    debtors = [(b, p) for p, b in owed.items() if b < 0]  # most negative first
    creditors = [(-b, p) for p, b in owed.items() if b > 0]  # most owed first
    heapq.heapify(debtors)
    heapq.heapify(creditors)
    transfers = []
    while debtors and creditors:
        debt, debtor = heapq.heappop(debtors)
        credit, creditor = heapq.heappop(creditors)
        units = min(-debt, -credit)
        transfers.append((debtor, creditor, units))
        if -debt > units:
            heapq.heappush(debtors, (debt + units, debtor))
        if -credit > units:
            heapq.heappush(creditors, (credit + units, creditor))
    return transfers


def settle(owed: Mapping[int, int], currency: str) -> list[Transfer]:
    """The transfers that settle one currency's balances (in its minor units)."""
    return [
        Transfer(debtor, creditor, from_minor(units, currency), currency)
        for debtor, creditor, units in settle_units(owed)
    ]
