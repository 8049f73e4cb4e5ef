"""The ledger as files: a CSV (UTF-8 with a BOM, so Excel reads Chinese right) and an
`.xlsx` workbook with one sheet per month (openpyxl). Every entry is a row, payments back
included (`kind` transfer: the poster paid the one participant); each row says who shares
it and each person's share.

Pure functions of a `Book` (build them off the event loop: `asyncio.to_thread`).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from ...pipeline.tasks.receipt import Receipt
from ..ledger import Entry, month_of
from .book import Book, entry_shares
from .money import from_minor
from .views import local_time

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
    "kind",
    "participants",
    "shares",
)


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


def _row(book: Book, e: Entry, tz: str | None) -> list[Any]:
    """One entry's values: text as text (defused later), amounts as `Decimal`."""
    r = e.receipt
    parts = entry_shares(e, book.split(e))
    people = sorted(parts, key=lambda p: book.name(p).casefold())
    return [
        e.seq,
        r.date,
        local_time(e.posted_at, tz).replace(microsecond=0, tzinfo=None),
        book.name(e.poster_id),
        e.poster_id,
        r.merchant,
        r.currency,
        r.total,
        _items_cell(r),
        e.link or "",
        e.kind,
        "; ".join(book.name(p) for p in people),
        "; ".join(f"{book.name(p)}: {from_minor(parts[p], r.currency)}" for p in people),
    ]


def csv_bytes(book: Book, entries: Iterable[Entry] | None = None, tz: str | None = None) -> bytes:
    """Amounts as plain decimal strings."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for e in book.entries if entries is None else entries:
        writer.writerow([_text(value) for value in _row(book, e, tz)])
    return buf.getvalue().encode("utf-8-sig")


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal | int):
        return str(value)
    return _cell(str(value))


def xlsx_bytes(book: Book, tz: str | None = None) -> bytes:
    """One sheet per month (oldest first); amounts are numbers, dates are dates. Written
    row by row (openpyxl's write-only mode: memory stays flat however long the ledger)."""
    from openpyxl import Workbook  # only the export needs it
    from openpyxl.cell import WriteOnlyCell

    workbook = Workbook(write_only=True)
    months: dict[str, list[Entry]] = {}
    for e in book.entries:
        months.setdefault(month_of(e.receipt.date, e.posted_at, tz), []).append(e)
    for month in sorted(months) or ["-"]:
        sheet = workbook.create_sheet(month)
        sheet.freeze_panes = "A2"
        sheet.append(list(CSV_COLUMNS))
        for e in months.get(month, []):
            row: list[Any] = []
            for value in _row(book, e, tz):
                if isinstance(value, str) and value.startswith("="):
                    value = WriteOnlyCell(sheet, value=value)
                    value.data_type = "s"  # text, never a formula
                row.append(value)
            sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def file_name(month: str | None, ext: str, today: dt.date | None = None) -> str:
    if month is not None:
        return f"receipts-{month}.{ext}"
    return f"receipts-all-{(today or dt.date.today()).isoformat()}.{ext}"
