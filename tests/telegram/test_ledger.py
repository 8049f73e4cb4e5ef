"""The ledger's pure parts: storage and numbering, duplicates, texts, CSV, captions, admins."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from telegram import Chat, Message, MessageEntity, User
from telegram.error import NetworkError

from notelens.pipeline.tasks.receipt import LineItem, Receipt
from notelens.store import Store
from notelens.store.ledger_splits import Split
from notelens.telegram.admins import AdminCache
from notelens.telegram.ledger import TRANSFER, Entry, Ledger, message_link, month_of
from notelens.telegram.media import is_receipt_caption
from notelens.telegram.receipts.book import Book
from notelens.telegram.receipts.export import csv_bytes, xlsx_bytes
from notelens.telegram.receipts.people import Mention, Person, tokens
from notelens.telegram.receipts.views import (
    amount,
    balance_text,
    ledger_text,
    parse_month,
    split_text,
)

GROUP, OTHER = -1001234567890, -1009876543210
BOT = "notelens_test_bot"


def entry(chat: int, poster: int, total: str, currency: str = "CNY", **kw: Any) -> Entry:
    day = kw.pop("date", dt.date(2026, 10, 5))
    receipt = Receipt(
        merchant=kw.pop("merchant", "Shop"),
        date=day,
        currency=currency,
        total=Decimal(total),
        items=kw.pop("items", [LineItem(name="x", amount=Decimal(total))]),
    )
    return Entry(
        chat_id=chat,
        poster_id=poster,
        poster_name=f"P{poster}",
        posted_at=kw.pop("posted_at", 1_790_000_000.0),
        receipt=receipt,
        message_id=kw.pop("message_id", 7),
        **kw,
    )


@pytest.fixture
async def ledger(tmp_path: Path) -> AsyncIterator[Ledger]:
    store = await Store(tmp_path / "l.db").open()
    ledger = Ledger(store)
    await ledger.load()
    yield ledger
    await store.close()


async def confirmed(ledger: Ledger, e: Entry) -> Entry:
    await ledger.add_pending(e)
    assert e.receipt_id is not None
    done = await ledger.confirm(e.receipt_id)
    assert done is not None
    return done


async def test_numbers_are_per_chat_and_never_reused(ledger: Ledger) -> None:
    a1 = await confirmed(ledger, entry(GROUP, 1, "10.00"))
    b1 = await confirmed(ledger, entry(OTHER, 1, "10.00"))
    a2 = await confirmed(ledger, entry(GROUP, 2, "20.00"))
    assert (a1.seq, b1.seq, a2.seq) == (1, 1, 2)
    assert a2.receipt_id is not None
    assert await ledger.confirm(a2.receipt_id) is None  # only once
    await ledger.delete(a2.receipt_id)
    assert (await confirmed(ledger, entry(GROUP, 2, "30.00"))).seq == 3
    last = await ledger.last_id(GROUP)
    assert last is not None and await ledger.clear(GROUP, up_to=last) == 2
    assert (await confirmed(ledger, entry(GROUP, 2, "1.00"))).seq == 4
    assert [e.total for e in await ledger.entries(OTHER)] == [Decimal("10.00")]


async def test_amounts_stay_exact_decimals(ledger: Ledger) -> None:
    await confirmed(ledger, entry(GROUP, 1, "0.10"))
    await confirmed(ledger, entry(GROUP, 1, "0.20"))
    got = await ledger.entries(GROUP, "2026-10")
    assert sum((e.total for e in got), Decimal(0)) == Decimal("0.30")
    assert all(isinstance(e.total, Decimal) for e in got)


async def test_duplicates(ledger: Ledger) -> None:
    first = await confirmed(
        ledger, entry(GROUP, 1, "58.00", file_unique_id="U1", phash="ffff0000ffff0000")
    )
    same = entry(GROUP, 2, "1.00", file_unique_id="U1")
    dup = await ledger.duplicate_of(same)
    assert dup is not None and (dup.reason, dup.other.seq) == ("same_photo", first.seq)
    near = entry(GROUP, 2, "1.00", phash="ffff0000ffff0007", date=dt.date(2026, 1, 1))
    dup = await ledger.duplicate_of(near)
    assert dup is not None and dup.reason == "similar_photo"
    far = entry(GROUP, 2, "1.00", phash="0000ffff0000ffff")
    assert await ledger.duplicate_of(far) is None
    details = entry(GROUP, 2, "58.00", merchant=" shop ")
    dup = await ledger.duplicate_of(details)
    assert dup is not None and dup.reason == "same_details"
    assert await ledger.duplicate_of(entry(GROUP, 2, "58.00", merchant="Other")) is None
    # Another chat's receipts are never compared.
    assert await ledger.duplicate_of(entry(OTHER, 2, "58.00", file_unique_id="U1")) is None


async def test_forget_removes_only_the_posters_receipts(ledger: Ledger) -> None:
    await confirmed(ledger, entry(GROUP, 1, "1.00"))
    await confirmed(ledger, entry(OTHER, 1, "2.00"))
    theirs = entry(GROUP, 2, "3.00", requester_id=1)
    await confirmed(ledger, theirs)
    assert await ledger.posted_by(1) == (2, 2)
    assert await ledger.forget(1) == 2
    [left] = await ledger.entries(GROUP)
    assert (left.poster_id, left.requester_id) == (2, 2)
    assert await ledger.entries(OTHER) == []


async def test_auto_mode_is_cached_and_persisted(ledger: Ledger) -> None:
    assert not ledger.auto(GROUP)
    await ledger.set_auto(GROUP, True)
    again = Ledger(ledger.store)
    await again.load()
    assert again.auto(GROUP) and not again.auto(OTHER)
    await again.set_auto(GROUP, False)
    assert not again.auto(GROUP)


def test_months_links_and_amounts() -> None:
    assert month_of(dt.date(2026, 3, 31), 0) == "2026-03"
    posted = dt.datetime(2026, 7, 15, 12).timestamp()
    assert month_of(None, posted) == "2026-07"
    assert message_link(-1001234567890, 42) == "https://t.me/c/1234567890/42"
    assert message_link(-4567, 42) is None and message_link(1001, 42) is None
    assert parse_month("2026-3") == "2026-03" and parse_month("2026-13") is None
    assert parse_month("11/2026") is None
    assert amount(Decimal("1234.5"), "CNY") == "1,234.50 CNY"
    assert amount(Decimal("1000"), "JPY") == "1,000 JPY"
    assert amount(Decimal("0.125"), "USD") == "0.125 USD"  # never rounded away


def test_amounts_follow_babels_currency_digits() -> None:
    assert amount(Decimal("12"), "TWD") == "12.00 TWD"  # cents, as CLDR says
    assert amount(Decimal("1234567"), "HUF") == "1,234,567 HUF"
    assert amount(Decimal("15000"), "IDR", "zh") == "15,000 IDR"
    assert amount(Decimal("-3.5"), "KWD") == "-3.500 KWD"


def _book(entries: list[Entry], **kw: Any) -> Book:
    """Entries shared equally by everyone who posted one (each id named P<id>)."""
    people = {e.poster_id: Decimal(1) for e in entries}
    splits = {e.receipt_id: Split(weights=dict(people)) for e in entries}
    names = {p: f"P{p}" for p in people}
    return Book(GROUP, entries, splits, names, **kw)  # type: ignore[arg-type]


def test_csv_is_excel_friendly_and_defused() -> None:
    e = entry(GROUP, 1, "12.30", merchant="=HYPERLINK(1)", receipt_id=1, seq=5)
    book = _book([e])
    book.names[1] = "@bob"
    data = csv_bytes(book)
    assert data.startswith(b"\xef\xbb\xbf")
    [row] = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert row["merchant"] == "'=HYPERLINK(1)" and row["poster_name"] == "'@bob"
    assert row["total"] == "12.30" and row["number"] == "5"
    assert row["message_link"] == "https://t.me/c/1234567890/7"
    assert row["kind"] == "receipt" and row["shares"] == "'@bob: 12.30"


def test_xlsx_has_a_sheet_per_month_with_numbers_and_no_formulas() -> None:
    from openpyxl import load_workbook

    october = entry(GROUP, 1, "90.00", merchant="=1+1", receipt_id=1, seq=1)
    november = entry(GROUP, 2, "30.00", receipt_id=2, seq=2, date=dt.date(2026, 11, 2))
    back = entry(GROUP, 2, "15.00", receipt_id=3, seq=3, kind=TRANSFER, payee_id=1)
    book = _book([october, back])
    workbook = load_workbook(io.BytesIO(xlsx_bytes(book)))
    assert workbook.sheetnames == ["2026-10"]  # the payment back is dated in October too
    rows = list(workbook["2026-10"].iter_rows(values_only=True))
    header, first, payment = rows[0], rows[1], rows[2]
    assert header[:3] == ("number", "date", "posted_at") and header[-1] == "shares"
    assert first[5] == "=1+1" and workbook["2026-10"]["F2"].data_type == "s"  # text, not a formula
    assert first[7] == 90 and first[12] == "P1: 45.00; P2: 45.00"  # P2 paid one back
    assert payment[10] == "transfer" and payment[11] == "P1" and payment[12] == "P1: 15.00"
    book = _book([october, november])
    assert load_workbook(io.BytesIO(xlsx_bytes(book))).sheetnames == ["2026-10", "2026-11"]


def test_texts_escape_and_split_in_few_transfers() -> None:
    people = [
        entry(GROUP, p, str(10 * p), seq=p, receipt_id=p, merchant="<b>&</b>") for p in range(1, 6)
    ]
    text = ledger_text("en", _book(people), "2026-10")
    assert "&lt;b&gt;&amp;&lt;/b&gt;" in text and "<b>&</b>" not in text
    assert "#1 · 2026-10-05 · &lt;b&gt;&amp;&lt;/b&gt; · 10.00 CNY · P1 · 👥5" in text
    split = split_text("en", _book(people))
    assert 1 <= split.count("→") <= 4  # 150 among five: 30 each
    assert "• P1 → P5: <b>20.00 CNY</b>" in split
    assert "No receipts" in ledger_text("en", _book([]), None)
    balance = balance_text("en", _book(people))
    assert "• P5: <b>+20.00 CNY</b> (is owed)" in balance
    assert "• P1: <b>−20.00 CNY</b> (owes)" in balance


def test_rates_settle_other_currencies_in_the_default() -> None:
    cny = entry(GROUP, 1, "71.00", seq=1, receipt_id=1)
    usd = entry(GROUP, 2, "10.00", "USD", seq=2, receipt_id=2)
    plain = split_text("en", _book([cny, usd]))
    assert "• P2 → P1: <b>35.50 CNY</b>" in plain and "• P1 → P2: <b>5.00 USD</b>" in plain
    folded = split_text("en", _book([cny, usd], currency="CNY", rates={"USD": Decimal("7.10")}))
    assert "USD</b>" not in folded and "1 USD = 7.10 CNY" in folded
    assert "Everyone is even" in folded  # 71.00 CNY against 10 USD = 71.00 CNY


def test_words_keep_mentions_whole_with_utf16_offsets() -> None:
    text = "/receipts share 3 😀 @anna 2 Dave Smith 1 @notelens_test_bot"
    dave = User(77, "Dave", False, last_name="Smith")
    units = [len(text[:i].encode("utf-16-le")) // 2 for i in range(len(text) + 1)]
    at_anna, at_dave, at_bot = text.index("@anna"), text.index("Dave"), text.index("@notelens")
    entities = [
        MessageEntity(MessageEntity.BOT_COMMAND, 0, 9),
        MessageEntity(MessageEntity.MENTION, units[at_anna], 5),
        MessageEntity(MessageEntity.TEXT_MENTION, units[at_dave], 10, user=dave),
        MessageEntity(MessageEntity.MENTION, units[at_bot], 18),
    ]
    message = Message(
        1, dt.datetime.now(dt.UTC), Chat(GROUP, "supergroup"), text=text, entities=entities
    )
    words = tokens(message, BOT)
    assert words[:4] == ["/receipts", "share", "3", "😀"]
    assert words[4] == Mention("@anna") and words[5] == "2"
    assert words[6] == Mention("Dave Smith", Person(77, "Dave Smith", None)) and words[7] == "1"
    assert len(words) == 8  # the bot's own mention is not a person


def _message(caption: str, chat_type: str = "supergroup", mention: bool = False) -> Message:
    entities = []
    at = caption.find(f"@{BOT}")
    if mention and at >= 0:
        entities.append(MessageEntity(MessageEntity.MENTION, at, len(BOT) + 1))
    if caption.startswith("/"):
        entities.append(MessageEntity(MessageEntity.BOT_COMMAND, 0, len(caption.split()[0])))
    chat = Chat(GROUP if chat_type != "private" else 1, chat_type)
    return Message(
        1,
        dt.datetime.now(dt.UTC),
        chat,
        from_user=User(1, "A", False),
        caption=caption,
        caption_entities=entities,
    )


@pytest.mark.parametrize(
    ("caption", "chat_type", "expected"),
    [
        ("/receipt", "supergroup", True),
        (f"/receipt@{BOT}", "supergroup", True),
        ("/receipt@other_bot", "supergroup", False),
        ("/ocr", "supergroup", False),
        ("dinner #receipt", "supergroup", True),
        ("#小票 午饭", "private", True),
        ("#receipts2", "supergroup", False),
        (f"@{BOT}", "supergroup", True),
        (f"@{BOT}", "private", False),
        (f"@{BOT} receipt", "supergroup", True),
        (f"@{BOT} 发票", "supergroup", True),
        (f"@{BOT} what is this?", "supergroup", False),
        (f"@{BOT} Lecture 3", "supergroup", False),
        ("just a photo", "supergroup", False),
    ],
)
def test_receipt_captions(caption: str, chat_type: str, expected: bool) -> None:
    message = _message(caption, chat_type, mention=True)
    assert is_receipt_caption(message, BOT, 999) is expected


class _Bot:
    def __init__(self, status: str | Exception) -> None:
        self.status, self.calls = status, 0

    async def get_chat_member(self, chat_id: int, user_id: int) -> Any:
        self.calls += 1
        if isinstance(self.status, Exception):
            raise self.status
        return type("Member", (), {"status": self.status})()


async def test_admin_lookups_are_cached_briefly() -> None:
    now = [0.0]
    cache = AdminCache(bot_admins=[42], ttl=60, clock=lambda: now[0])
    bot = _Bot("administrator")
    assert await cache.is_admin(bot, GROUP, 1)  # type: ignore[arg-type]
    assert await cache.is_admin(bot, GROUP, 1)  # type: ignore[arg-type]
    assert bot.calls == 1
    bot.status = "member"
    now[0] = 61
    assert not await cache.is_admin(bot, GROUP, 1)  # type: ignore[arg-type]
    assert await cache.is_admin(bot, GROUP, 42)  # type: ignore[arg-type]  # a bot admin
    assert await cache.is_admin(bot, 7, 7)  # type: ignore[arg-type]  # their own private chat
    anonymous = 1087968824  # GroupAnonymousBot: an admin posting as the group
    assert await cache.is_admin(bot, GROUP, anonymous)  # type: ignore[arg-type]
    assert not await cache.is_admin(bot, 7, anonymous)  # type: ignore[arg-type]
    failing = _Bot(NetworkError("down"))
    assert not await cache.is_admin(failing, GROUP, 2)  # type: ignore[arg-type]
    assert not await cache.is_admin(failing, GROUP, 2)  # type: ignore[arg-type]
    assert failing.calls == 2  # a failure is not cached
