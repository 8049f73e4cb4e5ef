"""Who pays whom so that everyone who posted receipts has paid an equal share.

Per currency, in that currency's smallest unit, so that every balance is exact:
shares are the total divided evenly, the leftover units going one each to the
first people in a stable order. Transfers then match the largest debtor with the
largest creditor; each transfer settles at least one person, so n people need at
most n − 1 transfers. A currency's smallest unit is what the Unicode CLDR says (through
Babel): 0.01 CNY, 1 JPY, 1 HUF, 0.001 KWD.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal

from babel.numbers import get_currency_precision


@dataclass(frozen=True)
class Transfer:
    debtor: int
    creditor: int
    amount: Decimal
    currency: str


def minor_unit(currency: str) -> Decimal:
    """The smallest amount the currency is counted in (0.01 for a code CLDR does not know)."""
    return Decimal(1).scaleb(-get_currency_precision(currency))


def balances(paid: Mapping[int, Decimal], currency: str) -> dict[int, Decimal]:
    """What each person paid minus their equal share (positive: they are owed)."""
    if not paid:
        return {}
    unit = minor_unit(currency)
    units = {
        p: int((amount / unit).quantize(Decimal(1), ROUND_HALF_EVEN)) for p, amount in paid.items()
    }
    people = sorted(units)
    base, extra = divmod(sum(units.values()), len(people))
    return {p: (units[p] - base - (1 if i < extra else 0)) * unit for i, p in enumerate(people)}


def settle(paid: Mapping[int, Decimal], currency: str) -> list[Transfer]:
    """The transfers that even out `paid` (person → amount they paid, one currency)."""
    owed = balances(paid, currency)
    debtors = sorted(((-b, p) for p, b in owed.items() if b < 0), reverse=True)
    creditors = sorted(((b, p) for p, b in owed.items() if b > 0), reverse=True)
    transfers: list[Transfer] = []
    while debtors and creditors:
        debt, debtor = debtors.pop(0)
        credit, creditor = creditors.pop(0)
        amount = min(debt, credit)
        transfers.append(Transfer(debtor, creditor, amount, currency))
        if debt > amount:
            debtors.append((debt - amount, debtor))
            debtors.sort(reverse=True)
        if credit > amount:
            creditors.append((credit - amount, creditor))
            creditors.sort(reverse=True)
    return transfers
