"""Who owes what, exactly: shares of an expense and balances, in a currency's smallest unit.

Pure functions (no Telegram, no database) over whole numbers of minor units, so every share
and balance is exact: shares of an expense always add up to its total (largest remainder),
and balances of a currency always add up to zero. A currency's smallest unit is what the
Unicode CLDR says (through Babel): 0.01 CNY, 1 JPY, 1 HUF, 0.001 KWD.

An expense is split one of three ways:
- `equal`: among its participants by weight (1 each unless `/receipts share` set others);
- `exact`: the amounts people said (scaled, should the total change later);
- `items`: each claimed item among those who claimed it, unclaimed items among all
  participants, and what is not an item (tax, service, tip, discounts, rounding) spread in
  proportion to the items each person had.
A payment back is an expense the payer made whose only participant is the receiver.
"""

from __future__ import annotations

import math
import re
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction
from typing import TypeVar

from babel.numbers import get_currency_precision

K = TypeVar("K", bound=Hashable)
Weight = int | Fraction | Decimal

EQUAL, EXACT, ITEMS = "equal", "exact", "items"
# Balances add shares up in this fraction of a minor unit before rounding once.
FINE = 10**9
# Lines that are not something a person had: spread in proportion to what each person had.
ADJUSTMENT = re.compile(
    r"\b(tax|vat|gst|hst|service|svc|tips?|gratuity|discount|coupon|voucher|promo|rounding)\b"
    r"|税|服务费|小费|折扣|优惠|抹零|减免|立减|满减|券",
    re.I,
)


# --- units ----------------------------------------------------------------------------------


def digits(currency: str) -> int:
    return get_currency_precision(currency)


def minor_unit(currency: str) -> Decimal:
    """The smallest amount the currency is counted in (0.01 for a code CLDR does not know)."""
    return Decimal(1).scaleb(-digits(currency))


def to_minor(amount: Decimal, currency: str) -> int:
    """`12.34 CNY` → 1234; an amount finer than the currency's unit is rounded half-even."""
    return int((amount.scaleb(digits(currency))).quantize(Decimal(1), ROUND_HALF_EVEN))


def from_minor(units: int, currency: str) -> Decimal:
    return Decimal(units).scaleb(-digits(currency))


# --- shares -----------------------------------------------------------------------------------


def apportion(total: int, weights: Mapping[K, Weight | Fraction]) -> dict[K, int]:
    """`total` units in proportion to `weights`, as whole units summing exactly to `total`
    (largest remainder: everyone gets the floor of their exact share, the units left over go
    to the largest remainders, ties to the first in `weights`' order)."""
    whole = integer_weights(weights)
    if any(w < 0 for w in whole.values()):
        raise ValueError("weights must not be negative")
    if sum(whole.values()) == 0:
        raise ValueError("weights must not all be zero")
    if total < 0:
        return {k: -v for k, v in _apportion(-total, whole).items()}
    return _apportion(total, whole)


def _apportion(total: int, weights: Mapping[K, int]) -> dict[K, int]:
    """`apportion` in whole numbers only (fast: no fractions)."""
    whole = sum(weights.values())
    shares: dict[K, int] = {}
    remainders: dict[K, int] = {}
    for k, w in weights.items():
        shares[k], remainders[k] = divmod(total * w, whole)
    left = total - sum(shares.values())
    if left:
        rank = {k: i for i, k in enumerate(weights)}
        for k in sorted(weights, key=lambda k: (-remainders[k], rank[k]))[:left]:
            shares[k] += 1
    return shares


def integer_weights(weights: Mapping[K, Weight | Fraction]) -> dict[K, int]:
    """The same proportions in whole numbers (`0.5, 1` → `1, 2`)."""
    out: dict[K, int] = {}
    ratios: dict[K, Fraction] = {}
    for k, w in weights.items():
        if isinstance(w, int):
            out[k] = w
        elif isinstance(w, Decimal) and w == w.to_integral_value():
            out[k] = int(w)
        else:
            ratios[k] = Fraction(w)
    if not ratios:
        return out
    scale = math.lcm(*(r.denominator for r in ratios.values()))
    return {k: (out[k] * scale if k in out else int(ratios[k] * scale)) for k in weights}


@dataclass(frozen=True)
class Item:
    """A line of a receipt, in minor units; `claimants`: who said they had it."""

    amount: int
    claimants: tuple[int, ...] = ()


@dataclass(frozen=True)
class Expense:
    """What one entry means for balances: `payer` paid `total` minor units of `currency`."""

    payer: int
    currency: str
    total: int
    weights: Mapping[int, Weight]  # the participants
    mode: str = EQUAL
    amounts: Mapping[int, int] = field(default_factory=dict)  # exact mode
    items: Sequence[Item] = ()  # items mode: the claimable lines


def _base(expense: Expense) -> dict[int, int]:
    """Whole-number weights the expense's total is split by."""
    weights = integer_weights({p: w for p, w in expense.weights.items() if w > 0})
    if expense.mode == EXACT and sum(expense.amounts.values()) > 0:
        return {p: a for p, a in expense.amounts.items() if a >= 0}
    if expense.mode == ITEMS:
        had = item_bases(weights, expense.items)
        if sum(had.values()) > 0:
            return had
    return weights or {expense.payer: 1}


def shares(expense: Expense) -> dict[int, int]:
    """Each participant's part of the expense in minor units; they sum to its total.
    With nobody left to share it (everyone removed), it is the payer's own."""
    return _apportion(expense.total, _base(expense))


def item_bases(weights: Mapping[int, int], items: Iterable[Item]) -> dict[int, int]:
    """What each person had, in proportion: claimed items split among their claimants,
    unclaimed ones among the participants by weight (scaled to whole numbers)."""
    items = [item for item in items if item.amount > 0]
    whole = sum(weights.values())
    scale = math.lcm(whole or 1, *(len(item.claimants) for item in items if item.claimants))
    had = dict.fromkeys(weights, 0)
    for item in items:
        if item.claimants:
            each = item.amount * scale // len(item.claimants)
            for person in item.claimants:
                had[person] = had.get(person, 0) + each
        elif whole:
            for person, w in weights.items():
                had[person] += item.amount * w * scale // whole
    return had


def is_adjustment(name: str, amount: Decimal | None) -> bool:
    """Tax, service charge, tip, a discount (or any negative line): not an item to claim."""
    return (amount is not None and amount < 0) or ADJUSTMENT.search(name) is not None


# --- balances -------------------------------------------------------------------------------------


def balances(expenses: Iterable[Expense]) -> dict[str, dict[int, int]]:
    """Per currency: what each person paid minus their shares (positive: they are owed).
    Shares are added up in billionths of a minor unit and each balance is rounded once, so
    leftover cents of many expenses do not pile up on anyone; each currency's balances sum
    to zero."""
    fine: dict[str, dict[int, int]] = {}
    for expense in expenses:
        owed = fine.setdefault(expense.currency, {})
        owed[expense.payer] = owed.get(expense.payer, 0) + expense.total * FINE
        for person, part in _apportion(expense.total * FINE, _base(expense)).items():
            owed[person] = owed.get(person, 0) - part
    return {
        currency: round_keeping_sum({p: Fraction(v, FINE) for p, v in owed.items()})
        for currency, owed in fine.items()
    }


def round_keeping_sum(exact: Mapping[K, Fraction]) -> dict[K, int]:
    """Whole units that sum to the (rounded) sum of `exact`: the floor of each, and the
    units left over to the largest remainders (ties to the first in order)."""
    rounded = {k: math.floor(v) for k, v in exact.items()}
    left = round(sum(exact.values(), Fraction(0))) - sum(rounded.values())
    rank = {k: i for i, k in enumerate(exact)}
    for k in sorted(exact, key=lambda k: (rounded[k] - exact[k], rank[k]))[:left]:
        rounded[k] += 1
    return rounded


def convert(owed: Mapping[K, int], source: str, rate: Decimal, target: str) -> dict[K, int]:
    """Balances in `source` as balances in `target` at `rate` (1 source = rate target),
    rounded so that they still sum to the converted sum (zero stays zero)."""
    factor = Fraction(rate) * Fraction(minor_unit(source)) / Fraction(minor_unit(target))
    return round_keeping_sum({k: v * factor for k, v in owed.items()})


def in_currency(
    per_currency: Mapping[str, Mapping[int, int]], base: str | None, rates: Mapping[str, Decimal]
) -> tuple[dict[str, dict[int, int]], list[str]]:
    """Balances with every currency that has a rate folded into `base`; the currencies
    folded. Without a base (or rates) the balances stay per currency."""
    out: dict[str, dict[int, int]] = {}
    folded: list[str] = []
    for currency in sorted(per_currency):
        owed = per_currency[currency]
        if base is not None and currency != base and currency in rates:
            owed = convert(owed, currency, rates[currency], base)
            folded.append(currency)
            currency = base
        merged = out.setdefault(currency, {})
        for person, units in owed.items():
            merged[person] = merged.get(person, 0) + units
    return out, folded
