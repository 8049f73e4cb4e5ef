"""PTB callbacks of the receipt ledger: `/receipt`, `/receipts …`, `/forgetme`, its buttons,
and the photos that are receipts (by caption, or every photo of a chat in auto mode).

Like `handlers`, these only check and translate, then queue work on the user's lane;
reading lives in `receipt_flow`, storage in `ledger`, texts in `receipt_views`.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from telegram import Chat, InlineKeyboardButton, InlineKeyboardMarkup, Message, Update, User
from telegram.error import BadRequest
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes, filters

from ..jobs.types import Job, MediaRef
from . import replies
from .gating import (
    addressed,
    alert_refused,
    check_file,
    file_refusal,
    first_refusal,
    gate,
    is_private,
    rate_limit_text,
    rate_limited,
    rate_limited_quiet,
    refuse,
    reply_target,
    say,
    submit,
    user_lang,
)
from .i18n import plain, t
from .ledger import Entry
from .media import Unsupported, is_receipt_caption, media_ref, parse_command, too_big
from .receipt_flow import Outcome, decide
from .receipt_views import (
    amount,
    csv_bytes,
    csv_name,
    ledger_text,
    parse_month,
    period_name,
    split_text,
    this_month,
)
from .runner import run_job
from .services import Services, services

log = logging.getLogger(__name__)

CALLBACK_PATTERN = r"^(rc|rl|fm):"


@dataclass
class Photo:
    """One photo to read as a receipt: the file, who posted it and when, where to answer."""

    ref: MediaRef
    meta: dict[str, Any]
    reply_to: int | None
    quiet: bool = False  # auto mode: answer only if it is a receipt


def display_name(user: User) -> str:
    return user.full_name or (f"@{user.username}" if user.username else str(user.id))


def receipt_meta(photo: Message | None, requester: User) -> dict[str, Any]:
    """The payer is whoever posted the photo; the one who asked may be someone else."""
    poster = (photo.from_user if photo is not None else None) or requester
    posted = photo.date.timestamp() if photo is not None and photo.date else time.time()
    return {
        "poster_id": poster.id,
        "poster_name": display_name(poster),
        "posted_at": posted,
        "requester_name": display_name(requester),
    }


async def run_receipts(
    s: Services, context: ContextTypes.DEFAULT_TYPE, user: User, chat: Chat, photos: list[Photo]
) -> None:
    """One job per photo (an album of receipts is several receipts)."""
    lang = await user_lang(s, user)
    for photo in photos:
        job = Job(user.id, chat.id, "receipt", [photo.ref], meta=photo.meta)
        job.reply_to = photo.reply_to
        job.quiet = photo.quiet
        await run_job(s, context.bot, job, lang)


def _auto_candidate(message: Message, context: ContextTypes.DEFAULT_TYPE, chat: Chat) -> bool:
    """In an auto-mode group, a photo nobody addressed to us or to another bot."""
    return (
        not is_private(chat)
        and services(context).ledger.auto(chat.id)
        and not addressed(message, context)
        and parse_command(message.caption, context.bot.username) is None
    )


def take_photo(
    update: Update, context: ContextTypes.DEFAULT_TYPE, message: Message, user: User, chat: Chat
) -> bool:
    """A single photo or file: queue it as a receipt when it asks to be one, or when the chat
    is in auto mode and nobody asked for anything else. True when it was taken."""
    s = services(context)
    bot = context.bot
    if is_receipt_caption(message, bot.username, bot.id):
        if not s.allowed(user.id):
            refuse(context, update, user, chat)
            return True
        ref = media_ref(message)
        if ref is None:
            return True
        checked = check_file(context, update, user, chat, ref, message.message_id)
        if checked is None or rate_limited(context, update, user, chat):
            return True
        photo = Photo(checked, receipt_meta(message, user), message.message_id)
    elif _auto_candidate(message, context, chat):
        # Auto mode answers receipts only: everything else is dropped without a word.
        ref = media_ref(message)
        limit = s.settings.telegram_max_download_bytes
        if not s.allowed(user.id) or not isinstance(ref, MediaRef) or too_big(ref, limit):
            return True
        if rate_limited_quiet(s, user):
            log.info("auto mode: skipped a photo in chat %s (rate limit)", chat.id)
            return True
        photo = Photo(ref, receipt_meta(message, user), message.message_id, quiet=True)
    else:
        return False

    async def work() -> None:
        await run_receipts(s, context, user, chat, [photo])

    submit(context, update, user.id, work)
    return True


async def take_album(
    context: ContextTypes.DEFAULT_TYPE, user: User, chat: Chat, items: Sequence[Message]
) -> bool:
    """A complete album (on the user's lane): receipts when captioned so, or in auto mode."""
    s = services(context)
    bot = context.bot
    explicit = any(is_receipt_caption(m, bot.username, bot.id) for m in items)
    auto = not explicit and all(_auto_candidate(m, context, chat) for m in items)
    if not explicit and not auto:
        return False
    lang = await user_lang(s, user)
    if not s.allowed(user.id):
        if explicit:
            await say(context, chat.id, t(lang, "refused", user_id=user.id))
        return True
    limit = s.settings.telegram_max_download_bytes
    photos: list[Photo] = []
    for item in items:
        ref = media_ref(item)
        if ref is None:
            continue
        if refusal := file_refusal(lang, ref, limit):
            if explicit:
                await say(context, chat.id, refusal, reply_to=item.message_id)
        else:
            assert isinstance(ref, MediaRef)
            photos.append(Photo(ref, receipt_meta(item, user), item.message_id, quiet=auto))
    if not photos:
        return True
    if wait := s.throttle(user.id):
        if explicit:
            await say(context, chat.id, rate_limit_text(s, lang, wait))
        return True
    await run_receipts(s, context, user, chat, photos)
    return True


# --- /receipt as a reply ---------------------------------------------------------------


async def _photos_of_reply(
    s: Services, message: Message, user: User, bot_id: int
) -> list[Photo] | Unsupported | None:
    target = await reply_target(s, message, bot_id)
    if target is None or isinstance(target, Unsupported):
        return target
    if isinstance(target, Job):  # a reply to our answer about a photo
        meta = target.meta or receipt_meta(None, user)
        meta = {**meta, "requester_name": display_name(user)}
        return [Photo(r, meta, message.message_id) for r in target.media]
    return [Photo(target, receipt_meta(message.reply_to_message, user), message.message_id)]


async def on_receipt(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """`/receipt` sent as text: read the photo it replies to."""
    gated = gate(update, context)
    if gated is None:
        return
    message, user, chat = gated
    s = services(context)
    if message.reply_to_message is None:

        async def usage() -> None:
            await say(context, chat.id, t(await user_lang(s, user), "receipt_usage"))

        submit(context, update, user.id, usage)
        return
    if rate_limited(context, update, user, chat):
        return

    async def work() -> None:
        lang = await user_lang(s, user)
        found = await _photos_of_reply(s, message, user, context.bot.id)
        if found is None:
            await say(context, chat.id, t(lang, "receipt_usage"))
            return
        if isinstance(found, Unsupported):
            await say(context, chat.id, t(lang, "unsupported_file", name=found.name))
            return
        limit = s.settings.telegram_max_download_bytes
        if refusal := first_refusal(lang, [p.ref for p in found], limit):
            await say(context, chat.id, refusal)
            return
        await run_receipts(s, context, user, chat, found)

    submit(context, update, user.id, work)


# --- /receipts -----------------------------------------------------------------------------


def _period(args: list[str], default: str | None) -> str | bool | None:
    """`[]` → default; `["all"]` → None (everything); `["2026-11"]` → it; anything else False."""
    if not args:
        return default
    if len(args) == 1 and args[0].lower() in ("all", "全部"):
        return None
    month = parse_month(args[0]) if len(args) == 1 else None
    return month if month is not None else False


async def on_receipts(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """`/receipts [month M | export | split | delete N | clear | auto on|off | help]`."""
    gated = gate(update, context)
    if gated is None:
        return
    message, user, chat = gated
    s = services(context)
    args = [a for a in (context.args or []) if a]
    verb = args[0].lower() if args else ""

    async def work() -> None:
        lang = await user_lang(s, user)
        if verb in ("", "month") or parse_month(verb):
            rest = args[1:] if verb == "month" else args
            if verb == "month" and not rest:
                await say(context, chat.id, t(lang, "month_bad"))
                return
            await _report(context, s, chat, lang, rest, ledger_text)
        elif verb == "export":
            await _export(context, s, chat, lang, args[1:], message.message_id)
        elif verb == "split":
            await _report(context, s, chat, lang, args[1:], split_text)
        elif verb in ("delete", "del", "rm", "remove"):
            await _delete(context, s, chat, user, lang, args[1:])
        elif verb == "clear":
            await _ask_clear(context, s, chat, user, lang)
        elif verb == "auto":
            await _auto(context, s, chat, user, lang, args[1:])
        else:
            await say(context, chat.id, t(lang, "receipts_help"))

    submit(context, update, user.id, work)


async def send_lines(context: ContextTypes.DEFAULT_TYPE, chat_id: int, html: str) -> None:
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
    context: ContextTypes.DEFAULT_TYPE,
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
    context: ContextTypes.DEFAULT_TYPE,
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
    context: ContextTypes.DEFAULT_TYPE,
    s: Services,
    chat: Chat,
    user: User,
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
    if user.id != entry.poster_id and not await s.admins.is_admin(context.bot, chat.id, user.id):
        text = t(lang, "delete_forbidden", name=entry.poster_name, n=entry.seq)
        await say(context, chat.id, text)
        return
    await s.ledger.delete(entry.receipt_id)
    merchant = entry.receipt.merchant or t(lang, "receipt_no_merchant")
    text = t(lang, "deleted", n=entry.seq, merchant=merchant, amount=amount(*entry.money))
    await say(context, chat.id, text)


async def _ask_clear(
    context: ContextTypes.DEFAULT_TYPE, s: Services, chat: Chat, user: User, lang: str
) -> None:
    if not await s.admins.is_admin(context.bot, chat.id, user.id):
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
    context: ContextTypes.DEFAULT_TYPE,
    s: Services,
    chat: Chat,
    user: User,
    lang: str,
    args: list[str],
) -> None:
    if is_private(chat):
        await say(context, chat.id, t(lang, "auto_private"))
        return
    choice = args[0].lower() if len(args) == 1 else ""
    if choice not in ("on", "off"):
        state = t(lang, "state_on") if s.ledger.auto(chat.id) else t(lang, "state_off")
        await say(context, chat.id, t(lang, "auto_usage", state=state))
        return
    if not await s.admins.is_admin(context.bot, chat.id, user.id):
        await say(context, chat.id, t(lang, "admins_only"))
        return
    await s.ledger.set_auto(chat.id, choice == "on")
    text = t(lang, "auto_on") if choice == "on" else t(lang, "auto_off")
    if choice == "on" and not context.bot.can_read_all_group_messages:
        text += "\n\n" + t(lang, "auto_privacy")
    await say(context, chat.id, text)


# --- /forgetme -------------------------------------------------------------------------------


async def on_forgetme(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    gated = gate(update, context)
    if gated is None:
        return
    _message, user, chat = gated
    s = services(context)

    async def work() -> None:
        lang = await user_lang(s, user)
        n, chats = await s.ledger.posted_by(user.id)
        markup = InlineKeyboardMarkup(
            [
                [
                    InlineKeyboardButton(
                        t(lang, "btn_forget_yes"), callback_data=f"fm:{user.id}:yes"
                    ),
                    InlineKeyboardButton(t(lang, "btn_cancel"), callback_data=f"fm:{user.id}:no"),
                ]
            ]
        )
        text = t(lang, "forget_ask", n=n, where=plain(lang, "in_chats", n=chats))
        await replies.send_html(context.bot, chat.id, text, reply_markup=markup)

    submit(context, update, user.id, work)


# --- buttons -----------------------------------------------------------------------------------


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """`rc:<receipt>:ok|add|no`, `rl:<last id>:yes|no` (clear), `fm:<user>:yes|no` (forget)."""
    query, user = update.callback_query, update.effective_user
    if query is None or user is None:
        return
    s = services(context)
    lang = await user_lang(s, user)
    if not s.allowed(user.id):
        await alert_refused(query, lang, user.id)
        return
    kind, _, rest = (query.data or "").partition(":")
    arg, _, action = rest.partition(":")
    chat_id = query.message.chat.id if query.message is not None else user.id
    if not arg.lstrip("-").isdigit():
        await query.answer()
        return
    if kind == "rc" and action in ("ok", "add", "no"):
        outcome = await decide(s, context.bot, chat_id, user.id, int(arg), action, lang)
    elif kind == "rl" and action in ("yes", "no"):
        outcome = await _clear(context, s, chat_id, user, lang, int(arg), action == "yes")
    elif kind == "fm" and action in ("yes", "no"):
        outcome = await _forget(s, user, lang, int(arg), action == "yes")
    else:
        await query.answer()
        return
    await _apply(context, query, chat_id, outcome)


async def _apply(
    context: ContextTypes.DEFAULT_TYPE, query: Any, chat_id: int, outcome: Outcome
) -> None:
    if outcome.alert is not None:
        await query.answer(outcome.alert, show_alert=True)
        return
    await query.answer()
    if outcome.text is None:
        return
    try:
        await query.edit_message_text(outcome.text, reply_markup=outcome.markup)
    except BadRequest as exc:  # too old to edit, or deleted: say it in a new message
        log.info("could not edit a button's message: %s", type(exc).__name__)
        with contextlib.suppress(BadRequest):
            await query.edit_message_reply_markup(reply_markup=None)
        await replies.send_html(context.bot, chat_id, outcome.text, reply_markup=outcome.markup)


async def _clear(
    context: ContextTypes.DEFAULT_TYPE,
    s: Services,
    chat_id: int,
    user: User,
    lang: str,
    last: int,
    yes: bool,
) -> Outcome:
    if not await s.admins.is_admin(context.bot, chat_id, user.id):
        return Outcome(alert=plain(lang, "admins_only"))
    if not yes:
        return Outcome(text=t(lang, "cancelled"))
    n = await s.ledger.clear(chat_id, up_to=last)
    log.info("ledger of chat %s cleared (%s receipts)", chat_id, n)
    return Outcome(text=t(lang, "cleared", n=n))


async def _forget(s: Services, user: User, lang: str, owner: int, yes: bool) -> Outcome:
    if user.id != owner:
        return Outcome(alert=plain(lang, "cb_only_you"))
    if not yes:
        return Outcome(text=t(lang, "cancelled"))
    n = await s.ledger.forget(user.id)
    await s.store.forget_user(user.id)
    s.admins.forget(user.id)
    log.info("user data deleted on request (%s receipts)", n)
    return Outcome(text=t(lang, "forget_done", n=n))


# --- wiring ------------------------------------------------------------------------------------


def add_receipt_handlers(app: Application) -> None:
    """Before the generic handlers: their button handler takes every other callback."""
    new_message = filters.UpdateType.MESSAGE
    app.add_handler(CallbackQueryHandler(on_button, pattern=CALLBACK_PATTERN))
    app.add_handler(CommandHandler("receipt", on_receipt, filters=new_message))
    app.add_handler(CommandHandler("receipts", on_receipts, filters=new_message))
    app.add_handler(CommandHandler("forgetme", on_forgetme, filters=new_message))
