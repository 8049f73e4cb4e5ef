"""The message under each ledger entry and its buttons: waiting for the payer's yes, saved
(who shares it, tap names to change), split by items (tap what you had), a payment back
waiting for its receiver.

Every button carries the entry's random token, never its id: data that cannot be guessed;
and a press counts only in the entry's own chat (checked where it is handled).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from ...store.ledger_members import Member
from ...store.ledger_splits import Split
from ..i18n import t
from ..ledger import CONFIRMED, PENDING, Duplicate, Entry, Ledger
from .book import MAX_CLAIM_ITEMS, claimable, names_in
from .views import (
    duplicate_note,
    number,
    paid_by,
    receipt_body,
    shares_line,
    transfer_text,
)

TOKEN = r"[A-Za-z0-9_-]{12}"
# Cards sent before tokens carry the receipt's id (still pending readings, for a week).
DECIDE_PATTERN = rf"^rc:({TOKEN}|\d{{1,18}}):(ok|add|no)$"
PEOPLE_PATTERN = rf"^rp:({TOKEN}):(-?\d{{1,19}})$"
ITEMS_PATTERN = rf"^ri:({TOKEN}):(open|close|\d{{1,3}})$"
TRANSFER_PATTERN = rf"^tp:({TOKEN}):(ok|no)$"
CHANGE_PATTERN = rf"^rx:({TOKEN}):(ok|no)$"
# Beyond these, shares are set with `/receipts share` (the card would be all buttons).
MAX_PEOPLE_BUTTONS = 24
LABEL_CHARS = 18


@dataclass
class View:
    """An entry with what its card shows: who shares it, names, who could."""

    entry: Entry
    split: Split
    names: dict[int, str] = field(default_factory=dict)
    candidates: list[Member] = field(default_factory=list)
    tz: str | None = None

    @property
    def token(self) -> str:
        assert self.entry.token is not None
        return self.entry.token

    def name(self, person: int) -> str:
        return self.names.get(person) or str(person)

    @property
    def shared(self) -> bool:
        """Worth showing who shares it: more than one person could."""
        others = set(self.split.weights) | {c.member_id for c in self.candidates}
        return len(others | {self.entry.poster_id}) > 1


@dataclass
class Card:
    text: str
    markup: InlineKeyboardMarkup | None = None


async def view_of(ledger: Ledger, entry: Entry) -> View:
    assert entry.receipt_id is not None
    split = await ledger.splits.get(entry.receipt_id)
    names = await names_in(ledger, entry.chat_id, [entry])
    members = await ledger.members.active(entry.chat_id)
    known = {m.member_id for m in members}
    extra = [Member(p, names.get(p) or str(p)) for p in split.weights if p not in known]
    tz = await ledger.chats.timezone(entry.chat_id)
    return View(entry, split, names, members + extra, tz)


def _label(text: str) -> str:
    return text if len(text) <= LABEL_CHARS else text[: LABEL_CHARS - 1] + "…"


def people_rows(lang: str, view: View) -> list[list[InlineKeyboardButton]]:
    """A toggle per person who could share the entry, three to a row."""
    if not view.shared:
        return []
    buttons = []
    for member in view.candidates[:MAX_PEOPLE_BUTTONS]:
        mark = "✅" if member.member_id in view.split.weights else "▫️"
        buttons.append(
            InlineKeyboardButton(
                f"{mark} {_label(member.name)}",
                callback_data=f"rp:{view.token}:{member.member_id}",
            )
        )
    return [buttons[i : i + 3] for i in range(0, len(buttons), 3)]


def _shares(lang: str, view: View) -> str:
    if not view.shared:  # a personal ledger: nobody to share with
        return ""
    return shares_line(lang, view.entry, view.split, view.names)


def pending_card(
    lang: str,
    view: View,
    *,
    dup: Duplicate | None = None,
    requester_name: str | None = None,
    head: str = "",
) -> Card:
    """A reading (or a `/spent`) waiting for the payer: confirm or discard, who shares."""
    entry = view.entry
    parts = [
        head,
        receipt_body(lang, entry.receipt, entry.posted_at, view.tz),
        paid_by(lang, entry, requester_name),
        _shares(lang, view),
    ]
    if view.shared:
        parts.append(t(lang, "card_people_hint"))
    parts.append(duplicate_note(lang, dup, view.tz) if dup is not None else t(lang, "receipt_ask"))
    first = (
        InlineKeyboardButton(t(lang, "btn_add_anyway"), callback_data=f"rc:{view.token}:add")
        if dup is not None
        else InlineKeyboardButton(t(lang, "btn_confirm"), callback_data=f"rc:{view.token}:ok")
    )
    discard = InlineKeyboardButton(t(lang, "btn_discard"), callback_data=f"rc:{view.token}:no")
    rows = [[first, discard], *people_rows(lang, view)]
    return Card("\n".join(p for p in parts if p), InlineKeyboardMarkup(rows))


def closed_card(lang: str, view: View, head: str) -> Card:
    """An entry that is no more (discarded): what it was, without buttons."""
    entry = view.entry
    parts = [head, receipt_body(lang, entry.receipt, entry.posted_at, view.tz)]
    return Card("\n".join([*parts, paid_by(lang, entry, None)]))


def saved_card(lang: str, view: View, head: str = "") -> Card:
    """A confirmed entry: who shares it, with buttons to change that and to split by items."""
    if view.split.claiming:
        return claim_card(lang, view, head)
    entry = view.entry
    parts = [
        head,
        receipt_body(lang, entry.receipt, entry.posted_at, view.tz),
        paid_by(lang, entry, None),
        _shares(lang, view),
    ]
    rows = people_rows(lang, view)
    if rows and claimable(entry.receipt):
        label = t(lang, "btn_split_items")
        rows.append([InlineKeyboardButton(label, callback_data=f"ri:{view.token}:open")])
    if rows:
        parts.append(t(lang, "card_saved_hint"))
    return Card("\n".join(p for p in parts if p), InlineKeyboardMarkup(rows) if rows else None)


def claim_card(lang: str, view: View, head: str = "") -> Card:
    """Split by items: each item a button; members tap what they had."""
    entry = view.entry
    currency = entry.currency
    every = claimable(entry.receipt, limit=None)
    items = every[:MAX_CLAIM_ITEMS]
    lines = [
        head,
        t(
            lang,
            "claim_head",
            n=entry.seq,
            merchant=entry.receipt.merchant or t(lang, "receipt_no_merchant"),
            total=number(entry.total, currency, lang) + f" {currency}",
        ),
        t(lang, "claim_help"),
    ]
    items_total = sum((item.amount or Decimal(0) for _, item in every), Decimal(0))
    rest = entry.total - items_total
    for index, item in items:
        who = view.split.claims.get(index, [])
        lines.append(
            t(
                lang,
                "claim_item",
                name=item.name,
                amount=number(item.amount or Decimal(0), currency, lang),
                who=", ".join(view.name(p) for p in who) if who else t(lang, "claim_everyone"),
            )
        )
    if len(every) > len(items):  # no buttons left for these: shared by everyone
        lines.append(t(lang, "receipt_more_items", n=len(every) - len(items)))
    if rest:
        lines.append(t(lang, "claim_rest", amount=number(rest, currency, lang) + f" {currency}"))
    lines += [shares_line(lang, entry, view.split, view.names), t(lang, "claim_close_hint")]
    buttons = [
        InlineKeyboardButton(
            _label(f"{item.name} · {number(item.amount or Decimal(0), currency, lang)}")
            + (f" ({len(view.split.claims[i])})" if view.split.claims.get(i) else ""),
            callback_data=f"ri:{view.token}:{i}",
        )
        for i, item in items
    ]
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    rows.append(
        [
            InlineKeyboardButton(
                t(lang, "btn_close_claiming"), callback_data=f"ri:{view.token}:close"
            )
        ]
    )
    return Card("\n".join(p for p in lines if p), InlineKeyboardMarkup(rows))


def transfer_card(lang: str, view: View, head: str = "") -> Card:
    """A payment back: waiting for its receiver's button, or recorded."""
    entry = view.entry
    payee = view.name(entry.payee_id or 0)
    line = transfer_text(lang, entry, payee)
    if entry.status == CONFIRMED:
        return Card("\n".join(p for p in (head, line) if p))
    ask = t(lang, "paid_ask", payee=payee)
    rows = [
        [
            InlineKeyboardButton(t(lang, "btn_received"), callback_data=f"tp:{view.token}:ok"),
            InlineKeyboardButton(t(lang, "btn_not_received"), callback_data=f"tp:{view.token}:no"),
        ]
    ]
    return Card("\n".join(p for p in (head, line, ask) if p), InlineKeyboardMarkup(rows))


async def card_now(ledger: Ledger, lang: str, entry: Entry, head: str = "") -> Card:
    """The card an entry shows now (after a change), read afresh."""
    view = await view_of(ledger, entry)
    if entry.is_transfer:
        return transfer_card(lang, view, head)
    if entry.status == PENDING:
        dup = await ledger.duplicate_of(entry)
        asked = entry.requester_id != entry.poster_id
        requester = view.names.get(entry.requester_id) if asked else None
        return pending_card(lang, view, dup=dup, requester_name=requester, head=head)
    return saved_card(lang, view, head)
