"""What every ledger button shares: reading a press, who may act on an entry, and answering.

A press is checked against the entry its token names: it counts only in that entry's
chat (callback data can be replayed anywhere), and only for the people the button is for.
Changes are committed before the press is answered; a refusal is a polite alert.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass

from telegram import Bot, CallbackQuery, InlineKeyboardMarkup, Update
from telegram.error import BadRequest

from .. import replies
from ..common import lang_of
from ..context import CustomContext, Services
from ..errors import redact
from ..intent import display_name
from ..ledger import Entry
from .cards import Card

log = logging.getLogger(__name__)


@dataclass
class Outcome:
    """What a button press does: an alert for the presser, or a new text (and buttons)."""

    alert: str | None = None
    text: str | None = None
    markup: InlineKeyboardMarkup | None = None

    @classmethod
    def of(cls, card: Card) -> Outcome:
        return cls(text=card.text, markup=card.markup)


@dataclass
class Press:
    query: CallbackQuery
    chat_id: int
    groups: tuple[str, ...]
    lang: str

    @property
    def user_id(self) -> int:
        return self.query.from_user.id


async def pressed(update: Update, context: CustomContext) -> Press:
    """The query, the chat it was pressed in, the pattern's groups, the presser's language;
    the presser is remembered in that chat's ledger (so their @username can be named)."""
    query = update.callback_query
    assert query is not None and context.matches
    match = context.matches[0]
    chat_id = query.message.chat.id if query.message is not None else query.from_user.id
    user = query.from_user
    lang = await lang_of(context.services, user.id, user)
    return Press(query, chat_id, match.groups(), lang)


async def seen(s: Services, chat_id: int, press: Press) -> None:
    user = press.query.from_user
    await s.ledger.members.seen(chat_id, user.id, display_name(user), user.username)


async def in_chat(s: Services, token: str, chat_id: int, *, old_ids: bool = False) -> Entry | None:
    """The entry a button names, if it belongs to the chat the button was pressed in.
    `old_ids`: digits are the id a card sent before tokens carried (a token never is)."""
    if old_ids and token.isdigit():
        entry = await s.ledger.get(int(token))
    else:
        entry = await s.ledger.by_token(token)
    return entry if entry is not None and entry.chat_id == chat_id else None


async def may_manage(s: Services, bot: Bot, entry: Entry, user_id: int) -> bool:
    """The payer decides about an entry, or an admin of its chat (which covers a group's
    anonymous admins: the entries they post are the group's, their presses their own)."""
    return user_id == entry.poster_id or await s.admins.is_admin(bot, entry.chat_id, user_id)


async def apply(context: CustomContext, press: Press, outcome: Outcome) -> None:
    """Answer the press: an alert, or an edit of its message (a new message when that
    message is too old to edit)."""
    query = press.query
    if outcome.alert is not None:
        await query.answer(outcome.alert, show_alert=True)
        return
    await query.answer()
    if outcome.text is None:
        return
    try:  # redacted like every reply: the text holds what the model read
        await query.edit_message_text(redact(outcome.text), reply_markup=outcome.markup)
    except BadRequest as exc:  # too old to edit, or deleted: say it in a new message
        if "not modified" in str(exc).lower():
            return
        log.info("could not edit a button's message: %s", type(exc).__name__)
        with contextlib.suppress(BadRequest):
            await query.edit_message_reply_markup(reply_markup=None)
        await replies.send_html(
            context.bot, press.chat_id, outcome.text, reply_markup=outcome.markup
        )
