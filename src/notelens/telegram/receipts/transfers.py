"""Paying back: `/receipts paid @ben 23.25` (or as a reply to Ben's message) records that
the sender paid Ben; it counts once Ben taps "Received" (`tp:`). Only the named receiver
confirms (for a group's anonymous admins: an admin); the payer, the receiver or an admin
may drop it instead.
"""

from __future__ import annotations

import logging
from decimal import Decimal

from telegram import Update

from ..common import say
from ..context import CustomContext, Services
from ..i18n import plain, t
from ..intent import Intent
from ..ledger import PENDING, TRANSFER, Entry
from .buttons import Outcome, apply, in_chat, pressed, seen
from .cards import card_now, transfer_card, view_of
from .entries import send_card, typed_entry
from .parsing import fits, parse_amount, parse_currency
from .people import Mention, Person, Token, person_of, remember, replied_person, resolve
from .views import transfer_text

log = logging.getLogger(__name__)


async def paid(context: CustomContext, intent: Intent, lang: str, words: list[Token]) -> None:
    s, chat_id = context.services, intent.chat.id
    payee: Person | None = None
    value: Decimal | None = None
    currency: str | None = None
    note: list[str] = []
    for word in words:
        if isinstance(word, Mention):
            payee = await resolve(s, chat_id, word)
            if payee is None:
                await say(context, chat_id, t(lang, "people_unknown", names=word.text))
                return
        elif value is None and (amount := parse_amount(word)) is not None:
            value = amount
        elif currency is None and (code := parse_currency(word)) is not None:
            currency = code
        else:
            note.append(word)
    payee = payee or replied_person(intent.message, context.bot.id)
    if payee is None or value is None or value <= 0:
        await say(context, chat_id, t(lang, "paid_usage"))
        return
    payer = person_of(intent.who)
    if payee.key == payer.key:
        await say(context, chat_id, t(lang, "paid_self"))
        return
    currency = currency or await default_currency(s, chat_id)
    if currency is None:
        await say(context, chat_id, t(lang, "paid_currency"))
        return
    if not fits(value, currency):
        await say(context, chat_id, t(lang, "paid_usage"))
        return
    tz = await s.ledger.chats.timezone(chat_id)
    entry = typed_entry(
        intent, payer.key, payer.name, value, currency, note, tz, kind=TRANSFER, payee_id=payee.key
    )
    await remember(s, chat_id, payer, member=True)
    await remember(s, chat_id, payee, member=True)
    await s.ledger.add_pending(entry, {payee.key: Decimal(1)}, tz)
    assert entry.receipt_id is not None
    card = transfer_card(lang, await view_of(s.ledger, entry))
    await s.ledger.set_bot_message(entry.receipt_id, await send_card(context, intent, card))


async def default_currency(s: Services, chat_id: int) -> str | None:
    """The chat's default currency, else the one its ledger used last."""
    chosen = await s.ledger.chats.currency(chat_id)
    if chosen:
        return chosen
    used = await s.ledger.currencies(chat_id)
    return used[0] if used else None


async def on_transfer(update: Update, context: CustomContext) -> None:
    """`tp:<token>:ok|no`: the receiver confirms; payer, receiver or an admin drops it."""
    press = await pressed(update, context)
    s, lang = context.services, press.lang
    token, action = press.groups
    entry = await in_chat(s, token, press.chat_id)
    outcome: Outcome
    if entry is None or not entry.is_transfer or entry.status != PENDING:
        outcome = Outcome(alert=plain(lang, "cb_stale"))
    else:
        await seen(s, press.chat_id, press)
        outcome = await _decide(context, press.user_id, lang, entry, action)
    await apply(context, press, outcome)


async def _decide(
    context: CustomContext, user_id: int, lang: str, entry: Entry, action: str
) -> Outcome:
    s, bot = context.services, context.bot
    assert entry.receipt_id is not None and entry.payee_id is not None
    view = await view_of(s.ledger, entry)
    payee = view.name(entry.payee_id)

    async def is_(person: int) -> bool:  # a group's own identity: its admins act for it
        if user_id == person:
            return True
        return person == entry.chat_id and await s.admins.is_admin(bot, entry.chat_id, user_id)

    if action == "ok":
        if not await is_(entry.payee_id):
            return Outcome(alert=plain(lang, "paid_only_receiver", name=payee))
        done = await s.ledger.confirm(entry.receipt_id)
        if done is None:
            return Outcome(alert=plain(lang, "cb_stale"))
        log.info("payment back confirmed as #%s in chat %s", done.seq, entry.chat_id)
        head = t(lang, "paid_confirmed", n=done.seq, name=payee)
        return Outcome.of(await card_now(s.ledger, lang, done, head))
    if not (
        await is_(entry.payee_id)
        or await is_(entry.poster_id)
        or await s.admins.is_admin(bot, entry.chat_id, user_id)
    ):
        return Outcome(alert=plain(lang, "paid_only_parties"))
    await s.ledger.delete(entry.receipt_id)
    return Outcome(text=t(lang, "paid_dropped") + "\n" + transfer_text(lang, entry, payee))
