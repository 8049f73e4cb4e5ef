"""Small helpers the ledger's commands share: the entry a number names, who acts, and
sending a card as a reply."""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, User

from ...pipeline.tasks.receipt import Receipt
from ...store.receipt_history import Actor
from .. import replies
from ..common import say
from ..context import CustomContext
from ..i18n import t
from ..intent import Intent, Who, display_name
from ..ledger import Entry, local_day
from .cards import Card
from .parsing import parse_number

MAX_NOTE = 200  # characters of a typed expense's or payment's note


def typed_entry(
    intent: Intent,
    payer_key: int,
    payer_name: str,
    value: Decimal,
    currency: str,
    note: list[str],
    tz: str | None,
    *,
    kind: str,
    payee_id: int | None = None,
) -> Entry:
    """An expense or a payment typed in rather than photographed (`/spent`, `/receipts
    paid`): dated today in the chat's time zone, its note as the merchant."""
    now = time.time()
    return Entry(
        chat_id=intent.chat.id,
        poster_id=payer_key,
        poster_name=payer_name,
        posted_at=now,
        receipt=Receipt(
            merchant=" ".join(note)[:MAX_NOTE] or None,
            date=local_day(now, tz),
            currency=currency,
            total=value,
        ),
        message_id=intent.message.message_id,
        kind=kind,
        payee_id=payee_id,
    )


def actor_of(who: Who) -> Actor:
    return Actor(who.key, who.name)


def actor_of_user(user: User) -> Actor:
    return Actor(user.id, display_name(user))


async def numbered(
    context: CustomContext, intent: Intent, lang: str, text: str | None, usage: str
) -> Entry | None:
    """The chat's entry #N, or None after saying why (`usage` when N is missing)."""
    chat_id = intent.chat.id
    n = parse_number(text) if text is not None else None
    if n is None:
        await say(context, chat_id, t(lang, usage))
        return None
    entry = await context.services.ledger.by_seq(chat_id, n)
    if entry is None:
        await say(context, chat_id, t(lang, "delete_not_found", n=n))
    return entry


async def send_card(context: CustomContext, intent: Intent, card: Card) -> int:
    """Send a card as a reply to the command; the id of the message (for its buttons)."""
    sent = await replies.send_html(
        context.bot,
        intent.chat.id,
        card.text,
        reply_to=intent.message.message_id,
        reply_markup=card.markup,
    )
    return sent[-1].message_id


async def propose(
    context: CustomContext,
    intent: Intent,
    lang: str,
    entry: Entry,
    kind: str,
    payload: dict[str, Any],
    text: str,
) -> None:
    """Keep a change to #N and ask for it with Apply / Cancel (`rx:<token>:ok|no`): the
    payer or an admin applies it."""
    assert entry.receipt_id is not None
    token = await context.services.ledger.changes.add(
        intent.chat.id, entry.receipt_id, intent.who.key, kind, payload
    )
    markup = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(t(lang, "btn_apply"), callback_data=f"rx:{token}:ok"),
                InlineKeyboardButton(t(lang, "btn_cancel"), callback_data=f"rx:{token}:no"),
            ]
        ]
    )
    await send_card(context, intent, Card(text, markup))
