"""What people see of the ledger: a receipt's summary, who shares it, the month, balances,
the proposed transfers, an entry's history.

Pure functions of ledger data (no Telegram, no database), so they are easy to test. Texts
are HTML built from `i18n.t`, which escapes every value.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from decimal import Decimal

from babel.numbers import format_currency

from ...i18n import N_
from ...pipeline.tasks.receipt import Receipt
from ...store.ledger_chats import local_day, zone
from ...store.ledger_splits import EXACT, ITEMS, Split
from ...store.receipt_history import HistoryLine
from ..i18n import t
from ..ledger import Duplicate, Entry
from ..replies import escape
from .book import Book, entry_shares
from .money import from_minor, in_currency
from .settlement import settle

MAX_ITEMS_SHOWN = 8
LOCALES = {"zh": "zh_Hans_CN", "en": "en"}
MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")
HISTORY_KEYS = {
    "total": N_("history_total"),
    "date": N_("history_date"),
    "merchant": N_("history_merchant"),
    "currency": N_("history_currency"),
    "joined": N_("history_joined"),
    "left": N_("history_left"),
    "shares": N_("history_shares"),
    "claiming_open": N_("history_claiming_open"),
    "claiming_closed": N_("history_claiming_closed"),
}


# --- numbers, months, names --------------------------------------------------------


def amount(value: Decimal, currency: str, lang: str = "en") -> str:
    """`1,234.50 CNY`: the currency's decimals, more when the amount has them (never rounded);
    the ISO code, not a symbol, since ¥ is both yuan and yen."""
    return format_currency(
        value,
        currency,
        format="#,##0 ¤¤",
        locale=LOCALES.get(lang, "en"),
        currency_digits=True,
        decimal_quantization=False,
    )


def signed(value: Decimal, currency: str, lang: str = "en") -> str:
    """`+65.00 CNY` / `−10.00 CNY` (a balance: who is owed, who owes)."""
    text = amount(abs(value), currency, lang)
    return f"+{text}" if value > 0 else f"−{text}" if value < 0 else text


def number(value: Decimal, currency: str, lang: str = "en") -> str:
    """`1,234.50`: an amount without its currency (in lists that name it once)."""
    return amount(value, currency, lang).rsplit(" ", 1)[0]


def amounts(per_currency: dict[str, Decimal], lang: str = "en") -> str:
    return " · ".join(amount(v, c, lang) for c, v in sorted(per_currency.items()))


def parse_month(text: str) -> str | None:
    """`2026-11` or `2026-1` → `2026-11` / `2026-01`; None when it is not a month."""
    m = MONTH.match(text.strip())
    if not m or not 1 <= int(m.group(2)) <= 12 or int(m.group(1)) < 1900:
        return None
    return f"{int(m.group(1)):04d}-{int(m.group(2)):02d}"


def this_month(now: float | None = None, tz: str | None = None) -> str:
    day = local_day(now if now is not None else dt.datetime.now().timestamp(), tz)
    return f"{day.year:04d}-{day.month:02d}"


def period_name(lang: str, month: str | None) -> str:
    return month if month is not None else t(lang, "period_all")


def local_time(ts: float, tz: str | None = None) -> dt.datetime:
    return dt.datetime.fromtimestamp(ts, zone(tz)).astimezone(zone(tz))


def entry_date(entry: Entry, tz: str | None = None) -> dt.date:
    return entry.receipt.date or local_day(entry.posted_at, tz)


# --- one receipt ----------------------------------------------------------------------


def _item_line(name: str, quantity: Decimal | None, value: Decimal | None) -> str:
    qty = f" ×{quantity.normalize():f}" if quantity is not None and quantity != 1 else ""
    price = f" — {value:,}" if value is not None else ""
    return f"• {name}{qty}{price}"


def receipt_body(lang: str, receipt: Receipt, posted_at: float, tz: str | None = None) -> str:
    """Merchant, date, total and the first items, with warnings worth a second look."""
    r = receipt
    lines = [
        t(
            lang,
            "receipt_head",
            merchant=r.merchant or t(lang, "receipt_no_merchant"),
            date=r.date.isoformat() if r.date else t(lang, "receipt_no_date"),
        ),
        t(lang, "receipt_total", amount=amount(r.total, r.currency, lang)),
    ]
    # Item names come from the model: escape them like any value.
    lines += [escape(_item_line(i.name, i.quantity, i.amount)) for i in r.items[:MAX_ITEMS_SHOWN]]
    if len(r.items) > MAX_ITEMS_SHOWN:
        lines.append(t(lang, "receipt_more_items", n=len(r.items) - MAX_ITEMS_SHOWN))
    items_total = r.items_total
    if items_total is not None and items_total != r.total and len(r.items) > 1:
        lines.append(
            t(
                lang,
                "receipt_items_mismatch",
                items=amount(items_total, r.currency, lang),
                total=amount(r.total, r.currency, lang),
            )
        )
    if r.date is not None and r.date > local_day(posted_at, tz) + dt.timedelta(days=1):
        lines.append(t(lang, "receipt_future_date"))
    return "\n".join(lines)


def paid_by(lang: str, entry: Entry, requester_name: str | None) -> str:
    if requester_name and entry.requester_id != entry.poster_id:
        return t(lang, "receipt_added_by", name=entry.poster_name, requester=requester_name)
    return t(lang, "receipt_paid_by", name=entry.poster_name)


def duplicate_note(lang: str, dup: Duplicate, tz: str | None = None) -> str:
    other = dup.other
    reason = t(lang, f"dup_{dup.reason}")
    when = local_time(other.posted_at, tz).strftime("%Y-%m-%d %H:%M")
    if other.seq is not None:
        return t(lang, "receipt_dup", n=other.seq, name=other.poster_name, when=when, reason=reason)
    return t(lang, "receipt_dup_pending", name=other.poster_name, when=when, reason=reason)


def transfer_text(lang: str, entry: Entry, payee: str) -> str:
    return t(
        lang,
        "paid_line",
        payer=entry.poster_name,
        payee=payee,
        amount=amount(entry.total, entry.currency, lang),
    )


# --- who shares ----------------------------------------------------------------------------


def shares_line(lang: str, entry: Entry, split: Split, names: Mapping[int, str]) -> str:
    """`👥 Alice 7.84 · Bob 7.83` (and how: by weight, exact amounts, by items)."""
    parts = entry_shares(entry, split)
    shown = " · ".join(
        f"{names.get(p) or p} {number(from_minor(v, entry.currency), entry.currency, lang)}"
        for p, v in sorted(parts.items(), key=lambda kv: (names.get(kv[0]) or "").casefold())
    )
    if split.mode == ITEMS:
        return t(lang, "shares_by_items", shares=shown, currency=entry.currency)
    if split.mode == EXACT:
        return t(lang, "shares_exact", shares=shown, currency=entry.currency)
    if len(set(split.weights.values())) > 1:
        return t(lang, "shares_weighted", shares=shown, currency=entry.currency)
    return t(lang, "shares_equal", shares=shown, currency=entry.currency, n=len(parts))


def weights_text(weights: Mapping[int, Decimal], names: Mapping[int, str]) -> str:
    """`Anna ×2, Ben ×1`: for a history line (the same in every language)."""
    return ", ".join(f"{names.get(p) or p} ×{w.normalize():f}" for p, w in weights.items())


def amounts_text(amounts_: Mapping[int, Decimal], names: Mapping[int, str]) -> str:
    return ", ".join(f"{names.get(p) or p} {a:f}" for p, a in amounts_.items())


def history_text(
    lang: str, lines: Sequence[HistoryLine], currency: str, tz: str | None = None
) -> str:
    """An entry's changes, oldest first (totals shown in the entry's currency's units)."""
    if not lines:
        return ""

    def shown(line: HistoryLine, value: str | None) -> str:
        if value is None:
            return "—"
        return number(Decimal(value), currency, lang) if line.field == "total" else value

    out = [t(lang, "history_head")]
    for line in lines:
        key = HISTORY_KEYS.get(line.field)
        if key is None:
            continue
        out.append(
            t(
                lang,
                key,
                when=local_time(line.at, tz).strftime("%Y-%m-%d %H:%M"),
                who=line.actor_name or t(lang, "someone"),
                old=shown(line, line.old),
                new=shown(line, line.new),
            )
        )
    return "\n".join(out)


# --- the month --------------------------------------------------------------------------


def ledger_text(
    lang: str, book: Book, month: str | None, edited: set[int] | None = None, tz: str | None = None
) -> str:
    """A month's (or all) expenses per person and currency, each entry, the payments back."""
    period = period_name(lang, month)
    expenses = [e for e in book.entries if not e.is_transfer]
    transfers = [e for e in book.entries if e.is_transfer]
    if not book.entries:
        return t(lang, "ledger_empty", period=period)
    edited = edited or set()
    paid: dict[int, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    counts: dict[int, int] = defaultdict(int)
    grand: dict[str, Decimal] = defaultdict(Decimal)
    for e in expenses:
        paid[e.poster_id][e.currency] += e.total
        counts[e.poster_id] += 1
        grand[e.currency] += e.total
    lines = [t(lang, "ledger_head", period=period, n=len(expenses))]
    if expenses:
        lines += ["", t(lang, "ledger_people")]
        for person in sorted(paid, key=lambda p: (book.name(p).casefold(), p)):
            lines.append(
                t(
                    lang,
                    "ledger_person",
                    name=book.name(person),
                    n=counts[person],
                    amounts=amounts(paid[person], lang),
                )
            )
        lines += [t(lang, "ledger_total", amounts=amounts(grand, lang)), "", t(lang, "ledger_list")]
    for e in expenses:
        split = book.split(e)
        line = t(
            lang,
            "ledger_line",
            n=e.seq,
            date=entry_date(e, tz).isoformat(),
            merchant=e.receipt.merchant or t(lang, "receipt_no_merchant"),
            amount=amount(e.total, e.currency, lang),
            name=book.name(e.poster_id),
        )
        line += t(lang, "ledger_line_people", n=len(entry_shares(e, split)))
        if e.receipt_id in edited:
            line += t(lang, "ledger_line_edited")
        lines.append(line)
    if transfers:
        lines += ["", t(lang, "ledger_transfers")]
        for e in transfers:
            lines.append(
                t(
                    lang,
                    "ledger_transfer",
                    n=e.seq,
                    date=entry_date(e, tz).isoformat(),
                    payer=book.name(e.poster_id),
                    payee=book.name(e.payee_id or 0),
                    amount=amount(e.total, e.currency, lang),
                )
            )
    lines += ["", t(lang, "ledger_foot")]
    return "\n".join(lines)


# --- balances and settling up ----------------------------------------------------------------


def balance_text(lang: str, book: Book) -> str:
    """Each person's net position per currency, over all time (payments back included)."""
    per_currency = book.balances()
    if not any(any(v for v in owed.values()) for owed in per_currency.values()):
        return t(lang, "balance_even") if book.entries else t(lang, "balance_empty")
    lines = [t(lang, "balance_head")]
    for currency in sorted(per_currency):
        owed = {p: v for p, v in per_currency[currency].items() if v}
        if not owed:
            continue
        lines += ["", f"<b>{escape(currency)}</b>"]
        for person in sorted(owed, key=lambda p: (-owed[p], book.name(p).casefold())):
            value = from_minor(owed[person], currency)
            name, shown = book.name(person), signed(value, currency, lang)
            if value > 0:
                lines.append(t(lang, "balance_owed", name=name, amount=shown))
            else:
                lines.append(t(lang, "balance_owes", name=name, amount=shown))
    lines += ["", t(lang, "balance_foot")]
    return "\n".join(lines)


def split_text(lang: str, book: Book) -> str:
    """The fewest transfers (at most n − 1 per currency) that settle current balances; with
    a default currency and rates, currencies with a rate are settled in the default one."""
    merged, folded = in_currency(book.balances(), book.currency, book.rates)
    if not book.entries:
        return t(lang, "split_empty")
    lines = [t(lang, "split_head")]
    any_transfer = False
    for currency in sorted(merged):
        transfers = settle(merged[currency], currency)
        if not transfers:
            continue
        any_transfer = True
        lines += ["", f"<b>{escape(currency)}</b>"]
        for tr in transfers:
            lines.append(
                t(
                    lang,
                    "split_transfer",
                    debtor=book.name(tr.debtor),
                    creditor=book.name(tr.creditor),
                    amount=amount(tr.amount, currency, lang),
                )
            )
    if not any_transfer:
        lines.append(t(lang, "split_even"))
    if folded and book.currency:
        rates = ", ".join(f"1 {c} = {book.rates[c]:f} {book.currency}" for c in folded)
        lines += ["", t(lang, "split_rates", rates=rates)]
    lines += ["", t(lang, "split_foot")]
    return "\n".join(lines)
