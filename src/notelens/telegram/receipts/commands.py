"""`/receipts …`: one command, a verb per part of the ledger. Each verb's work lives in its
module (members in `people`, shares in `sharing`, payments in `transfers`, corrections in
`changes`, balances and settings in `settle_up`, keeping in `housekeeping`); here the month's
ledger, the export files and the help.
"""

from __future__ import annotations

import asyncio

from ...store.receipt_history import changed
from .. import replies
from ..common import in_order_command, say
from ..context import CustomContext
from ..i18n import t
from ..intent import Intent
from . import changes, housekeeping, people, settle_up, sharing, transfers
from .book import open_book
from .export import csv_bytes, file_name, xlsx_bytes
from .people import person_of, remember, tokens
from .views import ledger_text, parse_month, period_name, this_month

ALL = frozenset({"all", "全部"})
XLSX = frozenset({"xlsx", "excel"})


def _period(args: list[str], default: str | None) -> str | bool | None:
    """`[]` → default; `["all"]` → None (everything); `["2026-11"]` → it; anything else False."""
    if not args:
        return default
    if len(args) == 1 and args[0].lower() in ALL:
        return None
    month = parse_month(args[0]) if len(args) == 1 else None
    return month if month is not None else False


@in_order_command
async def on_receipts(context: CustomContext, intent: Intent, lang: str, arg: str) -> None:
    """`/receipts [month M | export | split | balance | paid | share | edit | show | join |
    leave | members | currency | rate | tz | delete N | clear | auto on|off | help]`."""
    s, chat_id = context.services, intent.chat.id
    args = arg.split()
    verb = args[0].lower() if args else ""
    rest = args[1:]
    if not intent.private:  # seen using the ledger: their @username can now be named
        await remember(s, chat_id, person_of(intent.who), member=None)
    if verb in ("", "month") or parse_month(verb):
        if verb == "month" and not rest:
            await say(context, chat_id, t(lang, "month_bad"))
            return
        await _report(context, intent, lang, rest if verb == "month" else args)
    elif verb in ("export", "csv", *XLSX):
        await _export(context, intent, lang, args if verb in XLSX else rest)
    elif verb in ("balance", "balances", "余额"):
        await settle_up.balance(context, intent, lang)
    elif verb in ("split", "settle", "结算"):
        await settle_up.split(context, intent, lang, rest)
    elif verb in ("paid", "pay", "还款"):
        await transfers.paid(context, intent, lang, _words(context, intent))
    elif verb in ("share", "分摊"):
        await sharing.share(context, intent, lang, _words(context, intent))
    elif verb in ("edit", "fix", "修改"):
        await changes.edit(context, intent, lang, rest)
    elif verb in ("show", "查看"):
        await changes.show(context, intent, lang, rest)
    elif verb in ("join", "加入"):
        await people.join(context, intent, lang)
    elif verb in ("leave", "退出"):
        await people.leave(context, intent, lang)
    elif verb in ("members", "成员"):
        await people.members(context, intent, lang)
    elif verb in ("currency", "币种"):
        await settle_up.currency(context, intent, lang, rest)
    elif verb in ("rate", "rates", "汇率"):
        await settle_up.rate(context, intent, lang, rest)
    elif verb in ("tz", "timezone", "时区"):
        await settle_up.timezone(context, intent, lang, rest)
    elif verb in ("delete", "del", "rm", "remove"):
        await housekeeping.delete(context, intent, lang, rest)
    elif verb == "clear":
        await housekeeping.ask_clear(context, intent, lang)
    elif verb == "auto":
        await housekeeping.auto(context, intent, lang, rest)
    else:
        await say(context, chat_id, t(lang, "receipts_help"))


def _words(context: CustomContext, intent: Intent) -> list[people.Token]:
    """The command's words after `/receipts <verb>`, with mentions kept whole."""
    return tokens(intent.message, context.bot.username)[2:]


async def _report(context: CustomContext, intent: Intent, lang: str, args: list[str]) -> None:
    """A month's (or all) entries of the chat."""
    s, chat_id = context.services, intent.chat.id
    tz = await s.ledger.chats.timezone(chat_id)
    month = _period(args, this_month(tz=tz))
    if month is False:
        await say(context, chat_id, t(lang, "month_bad"))
        return
    assert not isinstance(month, bool)
    book = await open_book(s.ledger, chat_id, month)
    edited = await changed(s.store.engine, chat_id)
    text = await asyncio.to_thread(ledger_text, lang, book, month, edited, tz)
    await settle_up.send_lines(context, chat_id, text)


async def _export(context: CustomContext, intent: Intent, lang: str, args: list[str]) -> None:
    """A CSV (or, with `xlsx`, a workbook with a sheet per month): everything by default."""
    s, chat_id = context.services, intent.chat.id
    xlsx = any(a.lower() in XLSX for a in args)
    month = _period([a for a in args if a.lower() not in XLSX], None)
    if month is False:
        await say(context, chat_id, t(lang, "month_bad"))
        return
    assert not isinstance(month, bool)
    book = await open_book(s.ledger, chat_id, month)
    period = period_name(lang, month)
    if not book.entries:
        await say(context, chat_id, t(lang, "export_empty", period=period))
        return
    tz = await s.ledger.chats.timezone(chat_id)
    if xlsx:
        data = await asyncio.to_thread(xlsx_bytes, book, tz)
    else:
        data = await asyncio.to_thread(csv_bytes, book, None, tz)
    await replies.send_document(
        context.bot,
        chat_id,
        data,
        file_name(month, "xlsx" if xlsx else "csv"),
        caption_html=t(lang, "export_caption", n=len(book.entries), period=period),
        reply_to=intent.message.message_id,
    )
