from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

import pytest
from babel.numbers import get_currency_precision
from hypothesis import given
from hypothesis import strategies as st

from notelens.telegram.receipts.settlement import balances, minor_unit, settle

CURRENCIES = st.sampled_from(["CNY", "USD", "JPY", "KWD", "HUF", "TWD", "IDR"])


def amounts(currency: str) -> st.SearchStrategy[Decimal]:
    unit = minor_unit(currency)
    return st.integers(min_value=0, max_value=10**9).map(lambda n: n * unit)


@st.composite
def ledgers(draw) -> tuple[dict[int, Decimal], str]:
    currency = draw(CURRENCIES)
    people = draw(st.lists(st.integers(1, 10**12), min_size=1, max_size=12, unique=True))
    return {p: draw(amounts(currency)) for p in people}, currency


@given(ledgers())
def test_everyone_ends_even(ledger: tuple[dict[int, Decimal], str]) -> None:
    paid, currency = ledger
    transfers = settle(paid, currency)
    net = defaultdict(Decimal)
    for t in transfers:
        assert t.amount > 0 and t.debtor != t.creditor and t.currency == currency
        net[t.debtor] += t.amount
        net[t.creditor] -= t.amount
    owed = balances(paid, currency)
    for person in paid:
        assert owed[person] + net[person] == 0  # what they are owed is exactly paid back
    assert sum(net.values(), Decimal(0)) == 0  # transfers sum to zero
    assert len(transfers) <= len(paid) - 1


@given(ledgers())
def test_shares_are_equal_to_the_smallest_unit(ledger: tuple[dict[int, Decimal], str]) -> None:
    paid, currency = ledger
    shares = [paid[p] - b for p, b in balances(paid, currency).items()]
    assert sum(shares, Decimal(0)) == sum(paid.values(), Decimal(0))
    assert max(shares) - min(shares) <= minor_unit(currency)


def test_a_worked_example() -> None:
    paid = {1: Decimal("90.00"), 2: Decimal("30.00"), 3: Decimal("0")}
    transfers = settle(paid, "CNY")
    assert {(t.debtor, t.creditor, t.amount) for t in transfers} == {
        (3, 1, Decimal("40.00")),
        (2, 1, Decimal("10.00")),
    }


def test_leftover_cents_go_one_each() -> None:
    # 10 cents among three: shares of 4, 3 and 3 cents, the extra cent to the first id
    b = balances({1: Decimal("0.10"), 2: Decimal("0"), 3: Decimal("0")}, "USD")
    assert b == {1: Decimal("0.06"), 2: Decimal("-0.03"), 3: Decimal("-0.03")}
    assert settle({1: Decimal("0.01"), 2: Decimal("0"), 3: Decimal("0")}, "USD") == []


@pytest.mark.parametrize(
    ("currency", "unit"),
    # CLDR (through Babel): the forint and the rupiah are counted in whole units, the new
    # Taiwan dollar in cents; a hand-written table had TWD as whole units.
    [("HUF", "1"), ("TWD", "0.01"), ("IDR", "1"), ("JPY", "1"), ("KWD", "0.001"), ("CNY", "0.01")],
)
def test_minor_units_are_babels(currency: str, unit: str) -> None:
    assert minor_unit(currency) == Decimal(unit)
    assert minor_unit(currency) == Decimal(1).scaleb(-get_currency_precision(currency))


def test_a_twd_split_keeps_its_cents() -> None:
    b = balances({1: Decimal("100.01"), 2: Decimal("0")}, "TWD")
    assert b == {1: Decimal("50.00"), 2: Decimal("-50.00")}  # 10001 cents: 5001 and 5000
