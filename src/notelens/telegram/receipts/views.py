"""What people see of the ledger: a receipt's summary, the month, the split, the CSV.

Pure functions of ledger entries (no Telegram, no database), so they are easy to
test. Texts are HTML built from `i18n.t`, which escapes every value.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from decimal import Decimal

from babel.numbers import format_currency

from ...pipeline.tasks.receipt import Receipt
from ..i18n import t
from ..ledger import Duplicate, Entry
from ..replies import escape
from .settlement import balances, settle

MAX_ITEMS_SHOWN = 8
LOCALES = {"zh": "zh_Hans_CN", "en": "en"}
MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")
# Characters that make Excel or LibreOffice run a cell as a formula.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
CSV_COLUMNS = (
    "number",
    "date",
    "posted_at",
    "poster_name",
    "poster_id",
    "merchant",
    "currency",
    "total",
    "items",
    "message_link",
)


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


def amounts(per_currency: dict[str, Decimal], lang: str = "en") -> str:
    return " · ".join(amount(v, c, lang) for c, v in sorted(per_currency.items()))


def parse_month(text: str) -> str | None:
    """`2026-11` or `2026-1` → `2026-11` / `2026-01`; None when it is not a month."""
    m = MONTH.match(text.strip())
    if not m or not 1 <= int(m.group(2)) <= 12 or int(m.group(1)) < 1900:
        return None
    return f"{int(m.group(1)):04d}-{int(m.group(2)):02d}"


def this_month(now: float | None = None) -> str:
    day = dt.datetime.fromtimestamp(now if now is not None else dt.datetime.now().timestamp())
    return f"{day.year:04d}-{day.month:02d}"


def period_name(lang: str, month: str | None) -> str:
    return month if month is not None else t(lang, "period_all")


def local_time(ts: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(ts).astimezone()


def names_by_person(entries: Iterable[Entry]) -> dict[int, str]:
    """Each poster's most recent name (people rename themselves)."""
    names: dict[int, str] = {}
    for e in sorted(entries, key=lambda e: e.posted_at):
        names[e.poster_id] = e.poster_name
    return names


# --- one receipt ----------------------------------------------------------------------


def _item_line(name: str, quantity: Decimal | None, value: Decimal | None) -> str:
    qty = f" ×{quantity.normalize():f}" if quantity is not None and quantity != 1 else ""
    price = f" — {value:,}" if value is not None else ""
    return f"• {name}{qty}{price}"


def receipt_body(lang: str, receipt: Receipt, posted_at: float) -> str:
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
    if r.date is not None and r.date > local_time(posted_at).date() + dt.timedelta(days=1):
        lines.append(t(lang, "receipt_future_date"))
    return "\n".join(lines)


def paid_by(lang: str, entry: Entry, requester_name: str | None) -> str:
    if requester_name and entry.requester_id != entry.poster_id:
        return t(lang, "receipt_added_by", name=entry.poster_name, requester=requester_name)
    return t(lang, "receipt_paid_by", name=entry.poster_name)


def duplicate_note(lang: str, dup: Duplicate) -> str:
    other = dup.other
    reason = t(lang, f"dup_{dup.reason}")
    when = local_time(other.posted_at).strftime("%Y-%m-%d %H:%M")
    if other.seq is not None:
        return t(lang, "receipt_dup", n=other.seq, name=other.poster_name, when=when, reason=reason)
    return t(lang, "receipt_dup_pending", name=other.poster_name, when=when, reason=reason)


# --- the month --------------------------------------------------------------------------


def totals(entries: Iterable[Entry]) -> dict[int, dict[str, Decimal]]:
    """person → currency → what they paid."""
    paid: dict[int, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for e in entries:
        paid[e.poster_id][e.currency] += e.total
    return paid


def ledger_text(lang: str, entries: Sequence[Entry], month: str | None) -> str:
    period = period_name(lang, month)
    if not entries:
        return t(lang, "ledger_empty", period=period)
    names = names_by_person(entries)
    paid = totals(entries)
    counts: dict[int, int] = defaultdict(int)
    grand: dict[str, Decimal] = defaultdict(Decimal)
    for e in entries:
        counts[e.poster_id] += 1
        grand[e.currency] += e.total
    lines = [t(lang, "ledger_head", period=period, n=len(entries)), "", t(lang, "ledger_people")]
    for person in sorted(paid, key=lambda p: (names[p].casefold(), p)):
        lines.append(
            t(
                lang,
                "ledger_person",
                name=names[person],
                n=counts[person],
                amounts=amounts(paid[person], lang),
            )
        )
    lines += [t(lang, "ledger_total", amounts=amounts(grand, lang)), "", t(lang, "ledger_list")]
    for e in entries:
        lines.append(
            t(
                lang,
                "ledger_line",
                n=e.seq,
                date=(e.receipt.date or local_time(e.posted_at).date()).isoformat(),
                merchant=e.receipt.merchant or t(lang, "receipt_no_merchant"),
                amount=amount(e.total, e.currency, lang),
                name=e.poster_name,
            )
        )
    lines += ["", t(lang, "ledger_foot")]
    return "\n".join(lines)


# --- settling up ---------------------------------------------------------------------------


def split_text(lang: str, entries: Sequence[Entry], month: str | None) -> str:
    """Per currency: equal shares among those who paid in it; the fewest transfers to get there."""
    period = period_name(lang, month)
    if not entries:
        return t(lang, "split_empty", period=period)
    names = names_by_person(entries)
    by_currency: dict[str, dict[int, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for e in entries:
        by_currency[e.currency][e.poster_id] += e.total
    lines = [t(lang, "split_head", period=period)]
    for currency in sorted(by_currency):
        paid = by_currency[currency]
        total = sum(paid.values(), Decimal(0))
        shares = [paid[p] - b for p, b in balances(paid, currency).items()]
        lines += [
            "",
            t(
                lang,
                "split_currency",
                currency=currency,
                total=amount(total, currency, lang),
                n=len(paid),
                share=amount(max(shares), currency, lang),
            ),
        ]
        transfers = settle(paid, currency)
        if not transfers:
            lines.append(t(lang, "split_even"))
        for tr in transfers:
            lines.append(
                t(
                    lang,
                    "split_transfer",
                    debtor=names[tr.debtor],
                    creditor=names[tr.creditor],
                    amount=amount(tr.amount, currency, lang),
                )
            )
    return "\n".join(lines)


# --- export --------------------------------------------------------------------------------


def _cell(text: str | None) -> str:
    """Text from people or the model, defused so a spreadsheet never runs it as a formula."""
    text = text or ""
    return "'" + text if text.startswith(FORMULA_START) else text


def _items_cell(receipt: Receipt) -> str:
    parts = []
    for i in receipt.items:
        part = i.name
        if i.quantity is not None:
            part += f" x{i.quantity}"
        if i.amount is not None:
            part += f" = {i.amount}"
        parts.append(part)
    return "; ".join(parts)


def csv_bytes(entries: Iterable[Entry]) -> bytes:
    """UTF-8 with a BOM (so Excel reads Chinese right); amounts as plain decimal strings."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for e in entries:
        r = e.receipt
        writer.writerow(
            [
                e.seq,
                r.date.isoformat() if r.date else "",
                local_time(e.posted_at).isoformat(timespec="seconds"),
                _cell(e.poster_name),
                e.poster_id,
                _cell(r.merchant),
                r.currency,
                str(r.total),
                _cell(_items_cell(r)),
                e.link or "",
            ]
        )
    return buf.getvalue().encode("utf-8-sig")


def csv_name(month: str | None, today: dt.date | None = None) -> str:
    if month is not None:
        return f"receipts-{month}.csv"
    return f"receipts-all-{(today or dt.date.today()).isoformat()}.csv"
