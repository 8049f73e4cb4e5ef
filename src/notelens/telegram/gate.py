"""The one gate every update passes (a `TypeHandler` in group -1): is it for us, and may
its sender use the bot. What is not for us stops here (`ApplicationHandlerStop`);
what is gets its intent parsed once, for every handler after it.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import ApplicationHandlerStop

from ..i18n import N_
from .common import alert, answer, lang_of
from .context import CustomContext
from .intent import Intent, from_other_bot, parse


def for_us(ctx: CustomContext, intent: Intent) -> bool:
    """Private chats, and in groups: what addresses us, a `#receipt` caption, album items
    (decided when the album is complete), and photos in a chat in receipts auto mode."""
    if intent.private or intent.addressed or intent.receipt or intent.album:
        return True
    auto = intent.media is not None and ctx.services.ledger.auto(intent.chat.id)
    return auto and not intent.foreign_command


async def gate(update: Update, ctx: CustomContext) -> None:
    ctx.current_update = update
    s = ctx.services
    query = update.callback_query
    if query is not None:
        user = query.from_user
        if not s.allowed(user.id):
            lang = await lang_of(s, user.id, user)
            await alert(query, lang, N_("refused"), user_id=user.id)
            raise ApplicationHandlerStop
        if not query.data:  # PTB's patterns let empty data through to every button handler
            await query.answer()
            raise ApplicationHandlerStop
        return
    intent = parse(update, ctx.bot.id, ctx.bot.username)
    if intent is None or from_other_bot(intent.who.user) or not for_us(ctx, intent):
        raise ApplicationHandlerStop
    if not (s.allowed(intent.who.user.id) or s.allowed(intent.who.key)):
        # Album items are refused once, when the album is complete; photos nobody
        # addressed to us (auto mode) are passed over without a word.
        if intent.album:
            ctx.intent = intent
            return
        if intent.private or intent.addressed:
            answer(ctx, intent, N_("refused"), user_id=intent.who.user.id)
        raise ApplicationHandlerStop
    ctx.intent = intent
