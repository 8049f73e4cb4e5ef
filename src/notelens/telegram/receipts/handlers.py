"""PTB callbacks of the receipt ledger: the photos that are receipts (by caption, or every
photo of a chat in auto mode), `/receipt` as a reply, and the wiring of every ledger
command and button.

Like the tasks' handlers, these read the gate's intent, check, and hand work to
`dispatch`; reading lives in `flow`, storage in `..ledger`, texts in `views`, `/receipts`
in `commands`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from telegram import Message, Update
from telegram.ext import CallbackQueryHandler, CommandHandler, filters

from ...i18n import N_
from ...jobs.types import Job, MediaRef
from ..common import (
    answer,
    checked_file,
    file_refusal,
    first_refusal,
    lang_of,
    rate_limit_text,
    rate_limited,
    reply_target,
    say,
)
from ..context import BotApp, CustomContext, Services
from ..dispatch import submit
from ..i18n import t
from ..intake import take_photos
from ..intent import Intent, Who, who_sent
from ..media import Unsupported, too_big
from .cards import CHANGE_PATTERN, DECIDE_PATTERN, ITEMS_PATTERN, PEOPLE_PATTERN, TRANSFER_PATTERN
from .changes import on_change
from .commands import on_receipts
from .housekeeping import CLEAR_PATTERN, FORGET_PATTERN, on_clear, on_decide, on_forget, on_forgetme
from .sharing import on_items, on_people
from .spent import on_spent
from .transfers import on_transfer

log = logging.getLogger(__name__)


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
        "poster_username": None if poster.anonymous else poster.user.username,
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
        if checked is None:
            return True
        meta = receipt_meta(intent.message, intent.who)
        photo = Photo(checked, meta, intent.message.message_id)
    elif _auto_candidate(ctx, intent):
        # Auto mode answers receipts only: everything else is dropped without a word.
        ref = intent.media
        limit = s.settings.telegram_max_download_bytes
        if not isinstance(ref, MediaRef) or too_big(ref, limit):
            return True
        meta = receipt_meta(intent.message, intent.who)
        photo = Photo(ref, meta, intent.message.message_id, quiet=True)
    else:
        return False

    async def prepare() -> list[Job]:
        if photo.quiet:  # auto mode says nothing, even about the limit
            if await s.throttle(intent.who.key):
                log.info("auto mode: skipped a photo in chat %s (rate limit)", intent.chat.id)
                return []
        elif await rate_limited(ctx, intent):
            return []
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
    if wait := await s.throttle(first.who.key):
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

    async def prepare() -> list[Job]:
        if await rate_limited(ctx, intent):
            return []
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


# --- wiring ------------------------------------------------------------------------------------


def register(app: BotApp) -> None:
    """The receipt ledger's commands and buttons; its photo takers go before the tasks'."""
    new_message = filters.UpdateType.MESSAGE
    for callback, pattern in (
        (on_decide, DECIDE_PATTERN),
        (on_people, PEOPLE_PATTERN),
        (on_items, ITEMS_PATTERN),
        (on_transfer, TRANSFER_PATTERN),
        (on_change, CHANGE_PATTERN),
        (on_clear, CLEAR_PATTERN),
        (on_forget, FORGET_PATTERN),
    ):
        app.add_handler(CallbackQueryHandler(callback, pattern=pattern))
    app.add_handler(CommandHandler("receipt", on_receipt, filters=new_message))
    app.add_handler(CommandHandler("receipts", on_receipts, filters=new_message))
    app.add_handler(CommandHandler("spent", on_spent, filters=new_message))
    app.add_handler(CommandHandler("forgetme", on_forgetme, filters=new_message))
    take_photos(take_photo, take_album)
