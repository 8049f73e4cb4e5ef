"""Expenses without a photo: `/spent 45.50 taxi`, `/spent 120 USD dinner @anna @ben`.

The same card as a receipt (confirm, discard, who shares it). Named people share it with
the sender; without names every member of the ledger does. The currency is the one written
(in capitals, or an alias such as 元), else the chat's default, else the last one used.
"""

from __future__ import annotations

from decimal import Decimal

from ..common import in_order_command, say
from ..context import CustomContext
from ..i18n import t
from ..intent import Intent
from ..ledger import MANUAL
from .cards import pending_card, view_of
from .entries import send_card, typed_entry
from .flow import participants
from .parsing import fits, parse_amount, parse_currency
from .people import ME, Mention, Person, person_of, remember, resolve, tokens
from .transfers import default_currency


@in_order_command
async def on_spent(context: CustomContext, intent: Intent, lang: str, arg: str) -> None:
    s, chat_id = context.services, intent.chat.id
    words = tokens(intent.message, context.bot.username)[1:]  # after the command
    value = parse_amount(words[0]) if words and isinstance(words[0], str) else None
    if value is None or value <= 0:
        await say(context, chat_id, t(lang, "spent_usage"))
        return
    payer = person_of(intent.who)
    currency: str | None = None
    named: list[Person] = []
    note: list[str] = []
    for word in words[1:]:
        if isinstance(word, Mention):
            person = await resolve(s, chat_id, word)
            if person is None:
                await say(context, chat_id, t(lang, "people_unknown", names=word.text))
                return
            named.append(person)
        elif word.lower() in ME:
            named.append(payer)
        elif currency is None and (code := parse_currency(word)) is not None:
            currency = code
        else:
            note.append(word)
    currency = currency or await default_currency(s, chat_id)
    if currency is None:
        await say(context, chat_id, t(lang, "spent_currency"))
        return
    if not fits(value, currency):
        await say(context, chat_id, t(lang, "spent_usage"))
        return
    await remember(s, chat_id, payer, member=True)
    for person in named:
        await remember(s, chat_id, person, member=True)
    if named:
        sharing = {p.key: Decimal(1) for p in [payer, *named]}
    else:
        sharing = await participants(s.ledger, chat_id)
    tz = await s.ledger.chats.timezone(chat_id)
    entry = typed_entry(intent, payer.key, payer.name, value, currency, note, tz, kind=MANUAL)
    dup = await s.ledger.duplicate_of(entry)
    await s.ledger.add_pending(entry, sharing, tz)
    assert entry.receipt_id is not None
    card = pending_card(lang, await view_of(s.ledger, entry), dup=dup)
    await s.ledger.set_bot_message(entry.receipt_id, await send_card(context, intent, card))
