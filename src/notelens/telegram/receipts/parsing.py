"""Reading what people type after a ledger command: amounts, currencies, entry numbers,
dates, rates. Each returns None for what it cannot read, so the caller can say why."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation

from babel.numbers import is_currency

from ...pipeline.tasks.receipt import CURRENCY_ALIASES
from .money import digits

MAX_AMOUNT = Decimal("1e12")
PLAIN = re.compile(r"^\d{1,13}(?:\.\d{1,4})?$")
THOUSANDS = re.compile(r"^\d{1,3}(?:,\d{3})+(?:\.\d{1,4})?$")
DECIMAL_COMMA = re.compile(r"^\d{1,13},\d{1,2}$")
NUMBER = re.compile(r"^#?(\d{1,9})$")


def parse_amount(text: str) -> Decimal | None:
    """`45.50`, `1,234.50`, `45,50` (a decimal comma), `86`: a non-negative amount."""
    text = text.strip()
    if THOUSANDS.match(text):
        text = text.replace(",", "")
    elif DECIMAL_COMMA.match(text):
        text = text.replace(",", ".")
    elif not PLAIN.match(text):
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None
    return value if value <= MAX_AMOUNT else None


def fits(value: Decimal, currency: str) -> bool:
    """Whether the amount can be paid in the currency (no finer than its smallest unit)."""
    exponent = value.normalize().as_tuple().exponent
    return not isinstance(exponent, int) or -exponent <= digits(currency)


def parse_currency(text: str, *, strict: bool = True) -> str | None:
    """An ISO 4217 code Babel knows (`USD`), or an alias (`RMB`, `元`). `strict` (in free
    text such as `/spent 12 cup of tea`) takes a code only when written in capitals."""
    text = text.strip()
    alias = CURRENCY_ALIASES.get(text) or CURRENCY_ALIASES.get(text.upper())
    if alias is not None:
        return alias
    if strict and not text.isupper():
        return None
    code = text.upper()
    if re.fullmatch(r"[A-Z]{3}", code) and is_currency(code):
        return code
    return None


def parse_number(text: str) -> int | None:
    """`3` or `#3`: an entry's number in the ledger."""
    m = NUMBER.match(text.strip())
    return int(m.group(1)) if m else None


def parse_date(text: str) -> dt.date | None:
    try:
        day = dt.date.fromisoformat(text.strip())
    except ValueError:
        return None
    return day if day.year >= 1900 else None


def parse_rate(text: str) -> Decimal | None:
    """A positive exchange rate such as `7.10` (at most 10 decimals)."""
    text = text.strip().replace(",", ".")
    if not re.fullmatch(r"\d{1,9}(?:\.\d{1,10})?", text):
        return None
    value = Decimal(text)
    return value if value > 0 else None


def parse_weight(text: str) -> Decimal | None:
    """A share weight: `2`, `1.5`, `0.5` (positive, at most 1000)."""
    text = text.strip().lstrip("×x*")
    if not re.fullmatch(r"\d{1,4}(?:\.\d{1,3})?", text):
        return None
    value = Decimal(text)
    return value if 0 < value <= 1000 else None
