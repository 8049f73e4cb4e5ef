"""PTB callbacks of the receipt ledger: `/receipt`, `/receipts …`, `/forgetme`, its buttons,
and the photos that are receipts (by caption, or every photo of a chat in auto mode).

Like the tasks' handlers, these read the gate's intent, check, and hand work to
`dispatch`; reading lives in `flow`, storage in `..ledger`, texts in `views`.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from telegram import (
    CallbackQuery,
    Chat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
)
from telegram.constants import ChatType
from telegram.error import BadRequest
from telegram.ext import CallbackQueryHandler, CommandHandler, filters

from ...archive import telegram_owner
from ...i18n import N_
from ...jobs.types import Job, MediaRef
from .. import replies
from ..common import (
    answer,
    checked_file,
    file_refusal,
    first_refusal,
    in_order_command,
    lang_of,
    rate_limit_text,
    rate_limited,
    reply_target,
    say,
)
from ..context import BotApp, CustomContext, Services
from ..dispatch import submit
from ..errors import redact
from ..i18n import plain, t
from ..intake import take_photos
from ..intent import Intent, Who, who_sent
from ..ledger import Entry
from ..media import Unsupported, too_big
from .flow import Outcome, decide
from .views import (
    amount,
    csv_bytes,
    csv_name,
    ledger_text,
    parse_month,
    period_name,
    split_text,
    this_month,
)

log = logging.getLogger(__name__)

# Receipt ids and user ids are at most 18 digits here: longer numbers are not ours.
DECIDE_PATTERN = r"^rc:(\d{1,18}):(ok|add|no)$"
CLEAR_PATTERN = r"^rl:(\d{1,18}):(yes|no)$"
FORGET_PATTERN = r"^fm:(-?\d{1,18}):(yes|no)$"


@dataclass
class Photo:
    """One photo to read as a receipt: the file, who posted it and when, where to answer."""

    ref: MediaRef
    meta: dict[str, Any]
    reply_to: int | None
    quiet: bool = False  # auto mode: answer only if it is a receipt


def receipt_meta(photo: Message | None, requester: Who) -> dict[str, Any]:
    """The payer is whoever posted the photo (a group, for its anonymous admins); the one
    who asked may be someone else."""
    poster = who_sent(photo, requester.user) if photo is not None else requester
    posted = photo.date.timestamp() if photo is not None and photo.date else time.time()
    return {
        "poster_id": poster.key,
        "poster_name": poster.name,
        "posted_at": posted,
        "requester_name": requester.name,
    }


async def receipt_jobs(s: Services, intent: Intent, photos: list[Photo]) -> list[Job]:
    """One job per photo (an album of receipts is several receipts)."""
    lang = await lang_of(s, intent.who.key, intent.who.user)
    jobs = []
    for photo in photos:
        job = Job(intent.who.key, intent.chat.id, "receipt", [photo.ref], meta=photo.meta)
        job.reply_to = photo.reply_to
        job.quiet = photo.quiet
        job.lang = lang
        jobs.append(job)
    return jobs


def _auto_candidate(ctx: CustomContext, intent: Intent) -> bool:
    """In an auto-mode group, a photo nobody addressed to us or to another bot."""
    return (
        not intent.private
        and ctx.services.ledger.auto(intent.chat.id)
        and not intent.addressed
        and not intent.foreign_command
    )


def take_photo(ctx: CustomContext, intent: Intent) -> bool:
    """A single photo or file: queue it as a receipt when it asks to be one, or when the chat
    is in auto mode and nobody asked for anything else. True when it was taken."""
    s = ctx.services
    if intent.receipt:
        checked = checked_file(ctx, intent)
        if checked is None or rate_limited(ctx, intent):
            return True
        meta = receipt_meta(intent.message, intent.who)
        photo = Photo(checked, meta, intent.message.message_id)
    elif _auto_candidate(ctx, intent):
        # Auto mode answers receipts only: everything else is dropped without a word.
        ref = intent.media
        limit = s.settings.telegram_max_download_bytes
        if not isinstance(ref, MediaRef) or too_big(ref, limit):
            return True
        if s.throttle(intent.who.key):
            log.info("auto mode: skipped a photo in chat %s (rate limit)", intent.chat.id)
            return True
        meta = receipt_meta(intent.message, intent.who)
        photo = Photo(ref, meta, intent.message.message_id, quiet=True)
    else:
        return False

    async def prepare() -> list[Job]:
        return await receipt_jobs(s, intent, [photo])

    submit(ctx, intent.who.key, prepare)
    return True


async def take_album(ctx: CustomContext, items: Sequence[Intent]) -> list[Job] | None:
    """A complete album (on the sender's lane): receipts when captioned so, or in auto mode."""
    s = ctx.services
    first = items[0]
    explicit = any(i.receipt for i in items)
    auto = not explicit and all(_auto_candidate(ctx, i) for i in items)
    if not explicit and not auto:
        return None
    lang = await lang_of(s, first.who.key, first.who.user)
    if not (s.allowed(first.who.user.id) or s.allowed(first.who.key)):
        if explicit:
            await say(ctx, first.chat.id, t(lang, "refused", user_id=first.who.user.id))
        return []
    limit = s.settings.telegram_max_download_bytes
    photos: list[Photo] = []
    for item in items:
        ref = item.media
        if ref is None:
            continue
        if refusal := file_refusal(lang, ref, limit):
            if explicit:
                await say(ctx, item.chat.id, refusal, reply_to=item.message.message_id)
        else:
            assert isinstance(ref, MediaRef)
            meta = receipt_meta(item.message, item.who)
            photos.append(Photo(ref, meta, item.message.message_id, quiet=auto))
    if not photos:
        return []
    if wait := s.throttle(first.who.key):
        if explicit:
            await say(ctx, first.chat.id, rate_limit_text(s, lang, wait))
        return []
    return await receipt_jobs(s, first, photos)


# --- /receipt as a reply ---------------------------------------------------------------


async def _photos_of_reply(
    s: Services, intent: Intent, bot_id: int
) -> list[Photo] | Unsupported | None:
    message = intent.message
    target = await reply_target(s, message, bot_id)
    if target is None or isinstance(target, Unsupported):
        return target
    if isinstance(target, Job):  # a reply to our answer about a photo
        meta = target.meta or receipt_meta(None, intent.who)
        meta = {**meta, "requester_name": intent.who.name}
        return [Photo(r, meta, message.message_id) for r in target.media]
    meta = receipt_meta(message.reply_to_message, intent.who)
    return [Photo(target, meta, message.message_id)]


async def on_receipt(update: Update, ctx: CustomContext) -> None:
    """`/receipt` sent as text: read the photo it replies to."""
    intent = ctx.intent
    if intent is None:
        return
    s = ctx.services
    if intent.message.reply_to_message is None:
        answer(ctx, intent, N_("receipt_usage"))
        return
    if rate_limited(ctx, intent):
        return

    async def prepare() -> list[Job]:
        lang = await lang_of(s, intent.who.key, intent.who.user)
        chat_id = intent.chat.id
        found = await _photos_of_reply(s, intent, ctx.bot.id)
        if found is None:
            await say(ctx, chat_id, t(lang, "receipt_usage"))
            return []
        if isinstance(found, Unsupported):
            await say(ctx, chat_id, t(lang, "unsupported_file", name=found.name))
            return []
        limit = s.settings.telegram_max_download_bytes
        if refusal := first_refusal(lang, [p.ref for p in found], limit):
            await say(ctx, chat_id, refusal)
            return []
        return await receipt_jobs(s, intent, found)

    submit(ctx, intent.who.key, prepare)


# --- /receipts -----------------------------------------------------------------------------


def _period(args: list[str], default: str | None) -> str | bool | None:
    """`[]` → default; `["all"]` → None (everything); `["2026-11"]` → it; anything else False."""
    if not args:
        return default
    if len(args) == 1 and args[0].lower() in ("all", "全部"):
        return None
    month = parse_month(args[0]) if len(args) == 1 else None
    return month if month is not None else False


@in_order_command
async def on_receipts(context: CustomContext, intent: Intent, lang: str, arg: str) -> None:
    """`/receipts [month M | export | split | delete N | clear | auto on|off | help]`."""
    s, chat, key = context.services, intent.chat, intent.who.key
    args = arg.split()
    verb = args[0].lower() if args else ""
    if verb in ("", "month") or parse_month(verb):
        rest = args[1:] if verb == "month" else args
        if verb == "month" and not rest:
            await say(context, chat.id, t(lang, "month_bad"))
            return
        await _report(context, s, chat, lang, rest, ledger_text)
    elif verb == "export":
        await _export(context, s, chat, lang, args[1:], intent.message.message_id)
    elif verb == "split":
        await _report(context, s, chat, lang, args[1:], split_text)
    elif verb in ("delete", "del", "rm", "remove"):
        await _delete(context, s, chat, key, lang, args[1:])
    elif verb == "clear":
        await _ask_clear(context, s, chat, key, lang)
    elif verb == "auto":
        await _auto(context, s, chat, key, lang, args[1:])
    else:
        await say(context, chat.id, t(lang, "receipts_help"))


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


async def _report(
    context: CustomContext,
    s: Services,
    chat: Chat,
    lang: str,
    args: list[str],
    render: Callable[[str, Sequence[Entry], str | None], str],
) -> None:
    """A month's (or all) receipts of the chat as the ledger or the settlement."""
    month = _period(args, this_month())
    if month is False:
        await say(context, chat.id, t(lang, "month_bad"))
        return
    assert not isinstance(month, bool)
    entries = await s.ledger.entries(chat.id, month)
    await send_lines(context, chat.id, render(lang, entries, month))


async def _export(
    context: CustomContext,
    s: Services,
    chat: Chat,
    lang: str,
    args: list[str],
    reply_to: int,
) -> None:
    month = _period(args, None)  # a CSV is for keeping: everything unless a month is given
    if month is False:
        await say(context, chat.id, t(lang, "month_bad"))
        return
    assert not isinstance(month, bool)
    entries = await s.ledger.entries(chat.id, month)
    period = period_name(lang, month)
    if not entries:
        await say(context, chat.id, t(lang, "export_empty", period=period))
        return
    await replies.send_document(
        context.bot,
        chat.id,
        csv_bytes(entries),
        csv_name(month),
        caption_html=t(lang, "export_caption", n=len(entries), period=period),
        reply_to=reply_to,
    )


async def _delete(
    context: CustomContext,
    s: Services,
    chat: Chat,
    key: int,
    lang: str,
    args: list[str],
) -> None:
    number = args[0].lstrip("#") if len(args) == 1 else ""
    if not number.isdigit():
        await say(context, chat.id, t(lang, "delete_usage"))
        return
    entry = await s.ledger.by_seq(chat.id, int(number))
    if entry is None or entry.receipt_id is None:
        await say(context, chat.id, t(lang, "delete_not_found", n=number))
        return
    if key != entry.poster_id and not await s.admins.is_admin(context.bot, chat.id, key):
        text = t(lang, "delete_forbidden", name=entry.poster_name, n=entry.seq)
        await say(context, chat.id, text)
        return
    await s.ledger.delete(entry.receipt_id)
    merchant = entry.receipt.merchant or t(lang, "receipt_no_merchant")
    text = t(lang, "deleted", n=entry.seq, merchant=merchant, amount=amount(*entry.money))
    await say(context, chat.id, text)


async def _ask_clear(context: CustomContext, s: Services, chat: Chat, key: int, lang: str) -> None:
    if not await s.admins.is_admin(context.bot, chat.id, key):
        await say(context, chat.id, t(lang, "admins_only"))
        return
    n = await s.ledger.count(chat.id)
    last = await s.ledger.last_id(chat.id)
    if not n or last is None:
        await say(context, chat.id, t(lang, "clear_empty"))
        return
    # The button clears what was asked about: receipts added after the question stay.
    markup = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(t(lang, "btn_clear_yes"), callback_data=f"rl:{last}:yes"),
                InlineKeyboardButton(t(lang, "btn_cancel"), callback_data=f"rl:{last}:no"),
            ]
        ]
    )
    await replies.send_html(context.bot, chat.id, t(lang, "clear_ask", n=n), reply_markup=markup)


async def _auto(
    context: CustomContext,
    s: Services,
    chat: Chat,
    key: int,
    lang: str,
    args: list[str],
) -> None:
    if chat.type == ChatType.PRIVATE:
        await say(context, chat.id, t(lang, "auto_private"))
        return
    choice = args[0].lower() if len(args) == 1 else ""
    if choice not in ("on", "off"):
        state = t(lang, "state_on") if s.ledger.auto(chat.id) else t(lang, "state_off")
        await say(context, chat.id, t(lang, "auto_usage", state=state))
        return
    if not await s.admins.is_admin(context.bot, chat.id, key):
        await say(context, chat.id, t(lang, "admins_only"))
        return
    await s.ledger.set_auto(chat.id, choice == "on")
    text = t(lang, "auto_on") if choice == "on" else t(lang, "auto_off")
    if choice == "on" and not context.bot.can_read_all_group_messages:
        text += "\n\n" + t(lang, "auto_privacy")
    await say(context, chat.id, text)


# --- /forgetme -------------------------------------------------------------------------------


@in_order_command
async def on_forgetme(context: CustomContext, intent: Intent, lang: str, arg: str) -> None:
    """Asks first, counting exactly what the yes would delete: the receipts this person
    posted (in every chat), their settings and their jobs."""
    chat_id = intent.chat.id
    if intent.who.anonymous:  # the group's stand-in account: we cannot tell who this is
        await say(context, chat_id, t(lang, "forget_anonymous"))
        return
    user_id = intent.who.key
    n, chats = await context.services.ledger.posted_by(user_id)
    markup = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(t(lang, "btn_forget_yes"), callback_data=f"fm:{user_id}:yes"),
                InlineKeyboardButton(t(lang, "btn_cancel"), callback_data=f"fm:{user_id}:no"),
            ]
        ]
    )
    text = t(lang, "forget_ask", n=n, where=plain(lang, "in_chats", n=chats))
    await replies.send_html(context.bot, chat_id, text, reply_markup=markup)


# --- buttons: each kind its own handler; the pattern admits only well-formed data ---------------


def _pressed(update: Update, context: CustomContext) -> tuple[CallbackQuery, int, str, str]:
    """The query, the chat it was pressed in, and the pattern's two groups."""
    query = update.callback_query
    assert query is not None and context.matches
    match = context.matches[0]
    chat_id = query.message.chat.id if query.message is not None else query.from_user.id
    return query, chat_id, match.group(1), match.group(2)


async def on_decide(update: Update, context: CustomContext) -> None:
    """`rc:<receipt>:ok|add|no`: the payer (or an admin) confirms or discards a reading."""
    query, chat_id, receipt_id, action = _pressed(update, context)
    s, user = context.services, query.from_user
    lang = await lang_of(s, user.id, user)
    outcome = await decide(s, context.bot, chat_id, user.id, int(receipt_id), action, lang)
    await _apply(context, query, chat_id, outcome)


async def on_clear(update: Update, context: CustomContext) -> None:
    """`rl:<last id>:yes|no`: an admin clears the ledger up to what was asked about."""
    query, chat_id, last, action = _pressed(update, context)
    s, user = context.services, query.from_user
    lang = await lang_of(s, user.id, user)
    if not await s.admins.is_admin(context.bot, chat_id, user.id):
        outcome = Outcome(alert=plain(lang, "admins_only"))
    elif action != "yes":
        outcome = Outcome(text=t(lang, "cancelled"))
    else:
        n = await s.ledger.clear(chat_id, up_to=int(last))
        log.info("ledger of chat %s cleared (%s receipts)", chat_id, n)
        outcome = Outcome(text=t(lang, "cleared", n=n))
    await _apply(context, query, chat_id, outcome)


async def on_forget(update: Update, context: CustomContext) -> None:
    """`fm:<user>:yes|no`: only the person who asked may answer."""
    query, chat_id, owner, action = _pressed(update, context)
    s, user = context.services, query.from_user
    lang = await lang_of(s, user.id, user)
    if user.id != int(owner):
        outcome = Outcome(alert=plain(lang, "cb_only_you"))
    elif action != "yes":
        outcome = Outcome(text=t(lang, "cancelled"))
    else:
        n = await s.ledger.forget(user.id)
        await s.store.forget_user(user.id)
        await s.archive.forget(telegram_owner(user.id, user.id, private=True))
        s.admins.forget(user.id)
        log.info("user data deleted on request (%s receipts)", n)
        outcome = Outcome(text=t(lang, "forget_done", n=n))
    await _apply(context, query, chat_id, outcome)


async def _apply(
    context: CustomContext, query: CallbackQuery, chat_id: int, outcome: Outcome
) -> None:
    if outcome.alert is not None:
        await query.answer(outcome.alert, show_alert=True)
        return
    await query.answer()
    if outcome.text is None:
        return
    try:  # redacted like every reply: the text holds what the model read
        await query.edit_message_text(redact(outcome.text), reply_markup=outcome.markup)
    except BadRequest as exc:  # too old to edit, or deleted: say it in a new message
        log.info("could not edit a button's message: %s", type(exc).__name__)
        with contextlib.suppress(BadRequest):
            await query.edit_message_reply_markup(reply_markup=None)
        await replies.send_html(context.bot, chat_id, outcome.text, reply_markup=outcome.markup)


# --- wiring ------------------------------------------------------------------------------------


def register(app: BotApp) -> None:
    """The receipt ledger's commands and buttons; its photo takers go before the tasks'."""
    new_message = filters.UpdateType.MESSAGE
    app.add_handler(CallbackQueryHandler(on_decide, pattern=DECIDE_PATTERN))
    app.add_handler(CallbackQueryHandler(on_clear, pattern=CLEAR_PATTERN))
    app.add_handler(CallbackQueryHandler(on_forget, pattern=FORGET_PATTERN))
    app.add_handler(CommandHandler("receipt", on_receipt, filters=new_message))
    app.add_handler(CommandHandler("receipts", on_receipts, filters=new_message))
    app.add_handler(CommandHandler("forgetme", on_forgetme, filters=new_message))
    take_photos(take_photo, take_album)
