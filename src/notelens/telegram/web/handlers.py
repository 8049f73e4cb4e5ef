"""`/web` sends `PUBLIC_URL/web?token=…`, valid ten minutes, that signs its holder in as the
sender. Only in a private chat: in a group anyone could open it and act as the sender."""

from __future__ import annotations

from telegram.ext import CommandHandler, filters

from ...http.web.tokens import LINK_MAX_AGE_S, web_link
from ..common import in_order_command, say
from ..context import BotApp, CustomContext
from ..i18n import t
from ..intent import Intent


@in_order_command
async def on_web(ctx: CustomContext, intent: Intent, lang: str, arg: str) -> None:
    chat_id = intent.chat.id
    if not intent.private:
        await say(ctx, chat_id, t(lang, "web_private_only", bot=ctx.bot.username or ""))
        return
    link = web_link(ctx.services.settings, intent.who.user.id)
    if link is None:
        await say(ctx, chat_id, t(lang, "web_not_configured"))
        return
    await say(ctx, chat_id, t(lang, "web_link", url=link, minutes=LINK_MAX_AGE_S // 60))


def add_web_handlers(app: BotApp) -> None:
    app.add_handler(CommandHandler("web", on_web, filters=filters.UpdateType.MESSAGE))
