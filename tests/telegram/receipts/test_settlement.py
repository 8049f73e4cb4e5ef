"""The money logic on its own (hypothesis): shares sum exactly to each total, balances sum
to zero per currency, and the proposed transfers settle everyone in at most n − 1 steps."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from fractions import Fraction

import pytest
from babel.numbers import get_currency_precision
from hypothesis import given
from hypothesis import strategies as st

from notelens.telegram.receipts.money import (
    EQUAL,
    EXACT,
    ITEMS,
    Expense,
    Item,
    apportion,
    balances,
    convert,
    from_minor,
    in_currency,
    is_adjustment,
    minor_unit,
    shares,
    to_minor,
)
from notelens.telegram.receipts.settlement import settle, settle_units

CURRENCIES = ["CNY", "USD", "JPY", "KWD", "HUF", "TWD", "IDR"]
PEOPLE = st.integers(1, 10**12)


@st.composite
def expenses(draw: st.DrawFn, currency: str | None = None) -> Expense:
    people = draw(st.lists(PEOPLE, min_size=1, max_size=8, unique=True))
    payer = draw(st.sampled_from(people) | PEOPLE)
    weights = {p: draw(st.sampled_from([1, 1, 2, Decimal("0.5"), 0])) for p in people}
    mode = draw(st.sampled_from([EQUAL, EXACT, ITEMS]))
    total = draw(st.integers(0, 10**9))
    amounts = {p: draw(st.integers(0, 10**6)) for p in people} if mode == EXACT else {}
    items = []
    if mode == ITEMS:
        for _ in range(draw(st.integers(0, 6))):
            claimants = draw(st.lists(st.sampled_from(people), max_size=3, unique=True))
            items.append(Item(draw(st.integers(-500, 10**6)), tuple(claimants)))
    return Expense(
        payer,
        currency or draw(st.sampled_from(CURRENCIES)),
        total,
        weights,
        mode,
        amounts,
        items,
    )


@given(st.integers(-(10**12), 10**12), st.lists(st.integers(0, 1000), min_size=1, max_size=12))
def test_apportion_is_exact_and_fair(total: int, raw: list[int]) -> None:
    if not any(raw):
        raw[0] = 1
    weights = dict(enumerate(raw))
    parts = apportion(total, weights)
    assert sum(parts.values()) == total
    whole = sum(raw)
    for k, w in weights.items():
        assert abs(parts[k] - Fraction(total * w, whole)) < 1  # never a unit off its share
        if w == 0:
            assert parts[k] == 0


@given(expenses())
def test_shares_sum_exactly_to_each_total(expense: Expense) -> None:
    parts = shares(expense)
    assert sum(parts.values()) == expense.total
    assert all(v >= 0 for v in parts.values())


@given(st.lists(expenses(), max_size=12))
def test_balances_sum_to_zero_per_currency(ledger: list[Expense]) -> None:
    for currency, owed in balances(ledger).items():
        assert currency in CURRENCIES
        assert sum(owed.values()) == 0


@given(st.lists(expenses(), max_size=12))
def test_proposed_transfers_settle_everyone_in_at_most_n_minus_1(ledger: list[Expense]) -> None:
    for currency, owed in balances(ledger).items():
        transfers = settle(owed, currency)
        after = dict(owed)
        for t in transfers:
            assert t.amount > 0 and t.debtor != t.creditor and t.currency == currency
            units = to_minor(t.amount, currency)
            after[t.debtor] += units
            after[t.creditor] -= units
        assert set(after.values()) <= {0}
        people = sum(1 for b in owed.values() if b)
        assert len(transfers) <= max(people - 1, 0)


@given(
    st.dictionaries(PEOPLE, st.integers(-(10**9), 10**9), max_size=10),
    st.sampled_from(CURRENCIES),
    st.sampled_from(CURRENCIES),
    st.decimals(min_value=Decimal("0.0001"), max_value=Decimal(1000), places=4),
)
def test_conversion_keeps_balances_summing_to_zero(
    owed: dict[int, int], source: str, target: str, rate: Decimal
) -> None:
    if owed:  # make them a real ledger's balances: summing to zero
        first = next(iter(owed))
        owed[first] -= sum(owed.values())
    converted = convert(owed, source, rate, target)
    assert sum(converted.values()) == 0
    factor = rate * minor_unit(source) / minor_unit(target)
    for person, units in owed.items():
        assert abs(Decimal(converted[person]) - units * factor) <= 1


def test_a_worked_trip() -> None:
    """Alice pays 100.00 for four; Bob 30.00 for himself and Carol; Carol pays Alice back."""
    trip = [
        Expense(1, "CNY", 10000, {1: 1, 2: 1, 3: 1, 4: 1}),
        Expense(2, "CNY", 3000, {2: 1, 3: 1}),
        Expense(3, "CNY", 1000, {1: 1}),  # a payment back: Carol paid Alice 10.00
    ]
    owed = balances(trip)["CNY"]
    assert owed == {1: 6500, 2: -1000, 3: -3000, 4: -2500}
    assert settle_units(owed) == [(3, 1, 3000), (4, 1, 2500), (2, 1, 1000)]


def test_items_with_a_service_charge() -> None:
    """Tea 20 (Alice), cake 30 (Alice and Bob), soup 40 (nobody: all three), and 9.00 of
    service on 90.00 of items: 10% on what each had."""
    expense = Expense(
        1,
        "CNY",
        9900,
        {1: 1, 2: 1, 3: 1},
        ITEMS,
        items=[Item(2000, (1,)), Item(3000, (1, 2)), Item(4000)],
    )
    # Alice 20 + 15 + 13.333…, Bob 15 + 13.333…, Carol 13.333…; then × 1.1
    assert shares(expense) == {1: 5317, 2: 3117, 3: 1466}
    assert is_adjustment("Service charge 10%", Decimal("9")) and is_adjustment("服务费", None)
    assert is_adjustment("Coupon", Decimal("-5")) and not is_adjustment("Iced tea", Decimal(2))


def test_weights_exact_amounts_and_nobody_left() -> None:
    assert shares(Expense(1, "CNY", 10000, {2: 2, 3: 1})) == {2: 6667, 3: 3333}
    exact = Expense(1, "CNY", 8650, {2: 1, 3: 1}, EXACT, amounts={2: 3000, 3: 5650})
    assert shares(exact) == {2: 3000, 3: 5650}
    assert shares(Expense(1, "JPY", 1000, {2: 0})) == {1: 1000}  # the payer's own


def test_rates_fold_currencies_into_the_default() -> None:
    per = {"CNY": {1: 710, 2: -710}, "USD": {1: -100, 2: 100}, "EUR": {1: 5, 2: -5}}
    merged, folded = in_currency(per, "CNY", {"USD": Decimal("7.10")})
    assert merged == {"CNY": {1: 0, 2: 0}, "EUR": {1: 5, 2: -5}} and folded == ["USD"]
    assert in_currency(per, None, {"USD": Decimal("7.10")})[0] == per


def test_leftover_units_go_to_the_first() -> None:
    assert apportion(10, {1: 1, 2: 1, 3: 1}) == {1: 4, 2: 3, 3: 3}
    assert apportion(-10, {1: 1, 2: 1, 3: 1}) == {1: -4, 2: -3, 3: -3}
    with pytest.raises(ValueError):
        apportion(1, {1: 0})


@pytest.mark.parametrize(
    ("currency", "unit"),
    # CLDR (through Babel): the forint and the rupiah are counted in whole units, the new
    # Taiwan dollar in cents; a hand-written table had TWD as whole units.
    [("HUF", "1"), ("TWD", "0.01"), ("IDR", "1"), ("JPY", "1"), ("KWD", "0.001"), ("CNY", "0.01")],
)
def test_minor_units_are_babels(currency: str, unit: str) -> None:
    assert minor_unit(currency) == Decimal(unit)
    assert minor_unit(currency) == Decimal(1).scaleb(-get_currency_precision(currency))
    assert from_minor(to_minor(Decimal("12.345"), currency), currency) <= Decimal("12.345") + 1


def test_a_twd_split_keeps_its_cents() -> None:
    assert to_minor(Decimal("100.01"), "TWD") == 10001
    assert shares(Expense(1, "TWD", 10001, {1: 1, 2: 1})) == {1: 5001, 2: 5000}


def test_balances_of_nothing() -> None:
    assert balances([]) == {}
    assert settle({}, "CNY") == []
    totals: dict[int, int] = defaultdict(int)
    assert settle(totals, "CNY") == []
