"""Small helpers every feature's handlers share: the language to answer in, saying
something in order, refusing a file or a rate, and what a reply points at."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import Any

from telegram import CallbackQuery, Message, Update, User

from ..jobs.types import Job, MediaRef
from . import replies
from .context import CustomContext, Services
from .dispatch import in_order
from .i18n import lang_from_code, plain, t, too_big_text
from .intent import Intent
from .media import Unsupported, media_ref, too_big


async def lang_of(s: Services, key: int, user: User) -> str:
    """The language chosen with /lang (by the person, or for the group), else the app's."""
    prefs = await s.store.user(key)
    return prefs.lang or lang_from_code(user.language_code)


async def say(ctx: CustomContext, chat_id: int, html: str, reply_to: int | None = None) -> None:
    await replies.send_html(ctx.bot, chat_id, html, reply_to=reply_to)


def answer(ctx: CustomContext, intent: Intent, key: str, **values: object) -> None:
    """Say catalogue message `key` in the intent's chat, in order with its sender's jobs."""
    s = ctx.services

    async def step() -> None:
        lang = await lang_of(s, intent.who.key, intent.who.user)
        await say(ctx, intent.chat.id, t(lang, key, **values))

    in_order(ctx, intent.who.key, step)


Answer = Callable[[CustomContext, Intent, str, str], Awaitable[None]]
Handler = Callable[[Update, CustomContext], Coroutine[Any, Any, None]]


def in_order_command(answer_: Answer) -> Handler:
    """A command answered in order with its sender's jobs: `answer_(ctx, intent, lang, arg)`
    runs on the sender's lane with their language and the text after the command."""

    async def handler(update: Update, ctx: CustomContext) -> None:
        intent = ctx.intent
        if intent is None:
            return
        arg = " ".join(ctx.args or []).strip()
        s = ctx.services

        async def step() -> None:
            await answer_(ctx, intent, await lang_of(s, intent.who.key, intent.who.user), arg)

        in_order(ctx, intent.who.key, step)

    return handler


async def alert(query: CallbackQuery, lang: str, key: str, **values: object) -> None:
    """Answer a button press with catalogue message `key` as an alert (plain text)."""
    await query.answer(plain(lang, key, **values), show_alert=True)


def rate_limit_text(s: Services, lang: str, wait: float) -> str:
    return t(lang, "rate_limited", n=s.settings.user_jobs_per_minute, seconds=int(wait) + 1)


def file_refusal(lang: str, ref: MediaRef | Unsupported, limit: int) -> str | None:
    """Why a file is refused before it is downloaded (not an image, or over the download
    limit), or None when it may be read."""
    if isinstance(ref, Unsupported):
        return t(lang, "unsupported_file", name=ref.name)
    if too_big(ref, limit):
        return too_big_text(lang, ref.size, limit)
    return None


def first_refusal(lang: str, refs: Sequence[MediaRef], limit: int) -> str | None:
    return next(filter(None, (file_refusal(lang, ref, limit) for ref in refs)), None)


async def rate_limited(ctx: CustomContext, intent: Intent) -> bool:
    """Count a job for the sender's identity (in the database: every process shares the
    count); when over the limit, tell them and say True. Runs in a job's `prepare`, on
    the sender's lane."""
    s = ctx.services
    wait = await s.throttle(intent.who.key)
    if not wait:
        return False
    lang = await lang_of(s, intent.who.key, intent.who.user)
    await say(ctx, intent.chat.id, rate_limit_text(s, lang, wait))
    return True


def checked_file(ctx: CustomContext, intent: Intent) -> MediaRef | None:
    """The intent's file when it may be read; otherwise say why (in order) and None."""
    ref = intent.media
    limit = ctx.services.settings.telegram_max_download_bytes
    if ref is None or (isinstance(ref, MediaRef) and not too_big(ref, limit)):
        return ref
    s = ctx.services

    async def step() -> None:
        text = file_refusal(await lang_of(s, intent.who.key, intent.who.user), ref, limit)
        if text:
            await say(ctx, intent.chat.id, text, reply_to=intent.message.message_id)

    in_order(ctx, intent.who.key, step)
    return None


async def reply_target(
    s: Services, message: Message, bot_id: int
) -> MediaRef | Job | Unsupported | None:
    """What a message replies to: a photo (or file), or, for a reply to one of our answers,
    the job that answer was about."""
    reply = message.reply_to_message
    if reply is None:
        return None
    ref = media_ref(reply)
    if ref is not None:
        return ref
    if reply.from_user and reply.from_user.id == bot_id:
        return await s.store.job_for_message(message.chat_id, reply.message_id)
    return None
