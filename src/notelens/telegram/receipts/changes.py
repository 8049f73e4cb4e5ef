"""Corrections: `/receipts edit N total 86.50` (also `date`, `merchant`, `currency`) and
proposed shares, each applied with a button by the payer or an admin and kept as a line
of the entry's history; `/receipts show N` shows an entry with its shares and history.
"""

from __future__ import annotations

import logging

from telegram import Update

from ...i18n import N_
from ...store.ledger_changes import Change
from ...store.receipt_history import Actor, history
from ..common import say
from ..context import CustomContext, Services
from ..i18n import plain, t
from ..intent import Intent
from ..ledger import Entry
from .buttons import Outcome, apply, may_manage, pressed, seen
from .cards import card_now
from .entries import actor_of_user, numbered, propose, send_card
from .parsing import fits, parse_amount, parse_currency, parse_date
from .sharing import apply_share
from .views import amount, history_text

log = logging.getLogger(__name__)

FIELDS = {
    "total": "total",
    "amount": "total",
    "总额": "total",
    "金额": "total",
    "date": "date",
    "日期": "date",
    "merchant": "merchant",
    "shop": "merchant",
    "note": "merchant",
    "商家": "merchant",
    "备注": "merchant",
    "currency": "currency",
    "币种": "currency",
    "货币": "currency",
}
CLEAR = frozenset({"-", "none", "无"})
MAX_MERCHANT = 200


async def edit(context: CustomContext, intent: Intent, lang: str, args: list[str]) -> None:
    """`/receipts edit N <field> <value>`: asks the payer (or an admin) to apply it."""
    s, chat_id = context.services, intent.chat.id
    entry = await numbered(context, intent, lang, args[0] if args else None, N_("edit_usage"))
    if entry is None:
        return
    what = FIELDS.get(args[1].lower()) if len(args) > 1 else None
    raw = " ".join(args[2:]).strip()
    if what is None or not raw:
        await say(context, chat_id, t(lang, "edit_usage"))
        return
    if entry.is_transfer:
        await say(context, chat_id, t(lang, "transfer_fixed"))
        return
    if not await may_manage(s, context.bot, entry, intent.who.key):
        await say(context, chat_id, t(lang, "edit_forbidden", name=entry.poster_name, n=entry.seq))
        return
    value = _value(what, raw, entry)
    if value is False:
        await say(context, chat_id, t(lang, "edit_bad_value"))
        return
    assert not isinstance(value, bool)
    old = _shown(what, _current(what, entry), entry, lang)
    new = _shown(what, value, entry, lang)
    if old == new:
        await say(context, chat_id, t(lang, "edit_same", n=entry.seq))
        return
    text = t(lang, "edit_ask", n=entry.seq, what=_field_name(lang, what), old=old, new=new)
    await propose(context, intent, lang, entry, "edit", {"field": what, "value": value}, text)


def _value(what: str, raw: str, entry: Entry) -> str | bool | None:
    """The new value as stored (None clears it), or False when it cannot be used."""
    if what == "total":
        value = parse_amount(raw)
        return str(value) if value is not None and fits(value, entry.currency) else False
    if what == "date":
        if raw.lower() in CLEAR:
            return None
        day = parse_date(raw)
        return day.isoformat() if day is not None else False
    if what == "currency":
        code = parse_currency(raw, strict=False)
        return code if code is not None and fits(entry.total, code) else False
    if raw.lower() in CLEAR:
        return None
    return raw if len(raw) <= MAX_MERCHANT else False


def _current(what: str, entry: Entry) -> str | None:
    r = entry.receipt
    if what == "total":
        return str(r.total)
    if what == "date":
        return r.date.isoformat() if r.date else None
    if what == "currency":
        return r.currency
    return r.merchant


def _shown(what: str, value: str | None, entry: Entry, lang: str) -> str:
    if value is None:
        return "—"
    if what == "total":
        return amount(parse_amount(value) or entry.total, entry.currency, lang)
    return value


def _field_name(lang: str, what: str) -> str:
    if what == "total":
        return t(lang, "field_total")
    if what == "date":
        return t(lang, "field_date")
    if what == "currency":
        return t(lang, "field_currency")
    return t(lang, "field_merchant")


# --- the Apply / Cancel buttons -------------------------------------------------------------


async def on_change(update: Update, context: CustomContext) -> None:
    """`rx:<token>:ok|no`: the payer (or an admin) applies or drops a proposed change."""
    press = await pressed(update, context)
    s, lang = context.services, press.lang
    token, action = press.groups
    change = await s.ledger.changes.get(token)
    entry = await s.ledger.get(change.receipt_id) if change is not None else None
    outcome: Outcome
    if change is None or entry is None or change.chat_id != press.chat_id:
        outcome = Outcome(alert=plain(lang, "cb_stale"))
    elif not await may_manage(s, context.bot, entry, press.user_id):
        outcome = Outcome(alert=plain(lang, "cb_not_yours", name=entry.poster_name))
    elif not await s.ledger.changes.take(token):  # a double tap applies it once
        outcome = Outcome(alert=plain(lang, "cb_stale"))
    elif action != "ok":
        outcome = Outcome(text=t(lang, "change_cancelled", n=entry.seq))
    else:
        await seen(s, press.chat_id, press)
        outcome = await _apply(s, lang, change, entry, actor_of_user(press.query.from_user))
    await apply(context, press, outcome)


async def _apply(s: Services, lang: str, change: Change, entry: Entry, actor: Actor) -> Outcome:
    receipt_id = entry.receipt_id
    assert receipt_id is not None
    if change.kind == "share":
        await apply_share(s, change, entry, actor)
    else:
        await s.ledger.edit(
            receipt_id, str(change.payload["field"]), change.payload["value"], actor
        )
    log.info("entry #%s of chat %s changed (%s)", entry.seq, entry.chat_id, change.kind)
    fresh = await s.ledger.get(receipt_id)
    if fresh is None:  # deleted meanwhile
        return Outcome(alert=plain(lang, "cb_stale"))
    head = t(lang, "change_applied", n=entry.seq)
    return Outcome.of(await card_now(s.ledger, lang, fresh, head))


# --- /receipts show N --------------------------------------------------------------------------


async def show(context: CustomContext, intent: Intent, lang: str, args: list[str]) -> None:
    """An entry's card (with its buttons), its shares and its history."""
    s = context.services
    entry = await numbered(context, intent, lang, args[0] if args else None, N_("show_usage"))
    if entry is None or entry.receipt_id is None:
        return
    card = await card_now(s.ledger, lang, entry, t(lang, "show_head", n=entry.seq))
    tz = await s.ledger.chats.timezone(entry.chat_id)
    lines = history_text(lang, await history(s.store.engine, entry.receipt_id), entry.currency, tz)
    if lines:
        card.text = f"{card.text}\n\n{lines}"
    await send_card(context, intent, card)
