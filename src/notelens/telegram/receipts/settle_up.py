"""Balances and settling up: `/receipts balance` (each member's net position per currency,
over all time, payments back included), `/receipts split` (the fewest transfers that settle
them), and the chat's settings for it: `/receipts currency CNY`, `/receipts rate USD 7.10`
(no rates are fetched from the internet), `/receipts tz Asia/Shanghai` (which decides
months). Settings are for admins (in a private chat: its owner).
"""

from __future__ import annotations

import asyncio
import datetime as dt

from ...store.ledger_chats import zone
from .. import replies
from ..common import say
from ..context import CustomContext
from ..i18n import t
from ..intent import Intent
from ..ledger import month_of
from .book import open_book
from .parsing import parse_currency, parse_rate
from .views import balance_text, split_text

OFF = frozenset({"off", "none", "-", "关闭", "无"})


async def balance(context: CustomContext, intent: Intent, lang: str) -> None:
    book = await open_book(context.services.ledger, intent.chat.id)
    # A ledger of thousands of entries is CPU work: off the event loop.
    await send_lines(context, intent.chat.id, await asyncio.to_thread(balance_text, lang, book))


async def split(context: CustomContext, intent: Intent, lang: str, args: list[str]) -> None:
    book = await open_book(context.services.ledger, intent.chat.id)
    text = await asyncio.to_thread(split_text, lang, book)
    if args:  # a month or "all" (as before): settling up always takes every month
        text = t(lang, "split_all_time") + "\n\n" + text
    await send_lines(context, intent.chat.id, text)


async def _admin(context: CustomContext, intent: Intent, lang: str) -> bool:
    s = context.services
    if await s.admins.is_admin(context.bot, intent.chat.id, intent.who.key):
        return True
    await say(context, intent.chat.id, t(lang, "admins_only"))
    return False


async def currency(context: CustomContext, intent: Intent, lang: str, args: list[str]) -> None:
    s, chat_id = context.services, intent.chat.id
    if not args:
        current = await s.ledger.chats.currency(chat_id)
        shown = current or t(lang, "currency_none")
        await say(context, chat_id, t(lang, "currency_show", currency=shown))
        return
    choice = None if args[0].lower() in OFF else parse_currency(args[0], strict=False)
    if len(args) != 1 or (choice is None and args[0].lower() not in OFF):
        await say(context, chat_id, t(lang, "currency_usage"))
        return
    if not await _admin(context, intent, lang):
        return
    await s.ledger.chats.set_currency(chat_id, choice)
    text = t(lang, "currency_set", currency=choice) if choice else t(lang, "currency_unset")
    await say(context, chat_id, text)


async def rate(context: CustomContext, intent: Intent, lang: str, args: list[str]) -> None:
    s, chat_id = context.services, intent.chat.id
    base = await s.ledger.chats.currency(chat_id)
    if not args:
        rates = await s.ledger.chats.rates(chat_id)
        if not rates or not base:
            await say(context, chat_id, t(lang, "rates_none"))
            return
        lines = [t(lang, "rates_head", currency=base)]
        lines += [f"• 1 {c} = {r:f} {base}" for c, r in sorted(rates.items())]
        await say(context, chat_id, "\n".join(lines))
        return
    code = parse_currency(args[0], strict=False)
    value = None
    if len(args) == 2 and args[1].lower() not in OFF:
        value = parse_rate(args[1])
    if code is None or len(args) != 2 or (value is None and args[1].lower() not in OFF):
        await say(context, chat_id, t(lang, "rate_usage"))
        return
    if not base:
        await say(context, chat_id, t(lang, "rate_needs_currency"))
        return
    if code == base:
        await say(context, chat_id, t(lang, "rate_same", currency=base))
        return
    if not await _admin(context, intent, lang):
        return
    await s.ledger.chats.set_rate(chat_id, code, value)
    if value is None:
        await say(context, chat_id, t(lang, "rate_unset", currency=code))
    else:
        await say(
            context, chat_id, t(lang, "rate_set", currency=code, rate=f"{value:f}", base=base)
        )


async def timezone(context: CustomContext, intent: Intent, lang: str, args: list[str]) -> None:
    s, chat_id = context.services, intent.chat.id
    if not args:
        current = await s.ledger.chats.timezone(chat_id)
        shown = current or t(lang, "tz_server", offset=_server_offset())
        await say(context, chat_id, t(lang, "tz_show", tz=shown))
        return
    name = None if args[0].lower() in OFF else args[0]
    if len(args) != 1 or (name is not None and zone(name) is None):
        await say(context, chat_id, t(lang, "tz_usage"))
        return
    if not await _admin(context, intent, lang):
        return
    await s.ledger.chats.set_timezone(chat_id, name)
    now = dt.datetime.now().timestamp()
    month = month_of(None, now, name)
    shown = name or t(lang, "tz_server", offset=_server_offset())
    await say(context, chat_id, t(lang, "tz_set", tz=shown, month=month))


def _server_offset() -> str:
    return dt.datetime.now().astimezone().strftime("UTC%z")


async def send_lines(context: CustomContext, chat_id: int, html: str) -> None:
    """HTML made of self-contained lines, packed into messages under Telegram's limit."""
    chunk = ""
    for line in html.split("\n"):
        if chunk and len(chunk) + 1 + len(line) > replies.TEXT_LIMIT:
            await say(context, chat_id, chunk)
            chunk = ""
        chunk = f"{chunk}\n{line}" if chunk else line
    if chunk.strip():
        await say(context, chat_id, chunk)
