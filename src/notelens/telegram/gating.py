"""Plumbing every handler shares: is this update for us, may this user use the bot, and
queueing work on the user's lane (synchronously, before the handler's first `await`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from telegram import CallbackQuery, Chat, Message, Update, User
from telegram.constants import ChatID, ChatType
from telegram.ext import ContextTypes

from ..jobs.types import Job, MediaRef
from . import replies
from .errors import report
from .i18n import lang_from_code, plain, t, too_big_text
from .media import Unsupported, media_ref, mentions, parse_command, too_big
from .services import Services, services

Work = Callable[[], Awaitable[None]]


def submit(context: ContextTypes.DEFAULT_TYPE, update: Update, user_id: int, work: Work) -> None:
    app = context.application

    async def on_error(exc: BaseException) -> None:
        await report(app, update, exc)

    services(context).lanes.submit(user_id, work, on_error)


async def user_lang(s: Services, user: User) -> str:
    prefs = await s.store.user(user.id)
    return prefs.lang or lang_from_code(user.language_code)


async def say(
    context: ContextTypes.DEFAULT_TYPE, chat_id: int, html: str, reply_to: int | None = None
) -> None:
    await replies.send_html(context.bot, chat_id, html, reply_to=reply_to)


def is_private(chat: Chat) -> bool:
    return chat.type == ChatType.PRIVATE


def reply_to_bot(message: Message, bot_id: int) -> bool:
    reply = message.reply_to_message
    return bool(reply and reply.from_user and reply.from_user.id == bot_id)


def addressed(message: Message, context: ContextTypes.DEFAULT_TYPE) -> bool:
    """In groups: a command for us, a mention of us, or a reply to one of our messages."""
    bot = context.bot
    command = parse_command(message.text or message.caption, bot.username)
    if command is not None and command.for_us:
        return True
    return mentions(message, bot.username, bot.id) or reply_to_bot(message, bot.id)


def refuse(context: ContextTypes.DEFAULT_TYPE, update: Update, user: User, chat: Chat) -> None:
    s = services(context)

    async def work() -> None:
        lang = await user_lang(s, user)
        await say(context, chat.id, t(lang, "refused", user_id=user.id))

    submit(context, update, user.id, work)


async def alert_refused(query: CallbackQuery, lang: str, user_id: int) -> None:
    """A button pressed by someone the bot does not serve (alerts are plain text)."""
    await query.answer(plain(lang, "refused", user_id=user_id), show_alert=True)


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


def rate_limited(
    context: ContextTypes.DEFAULT_TYPE, update: Update, user: User, chat: Chat
) -> bool:
    """Count a job for the user; when over the limit, tell them and return True."""
    s = services(context)
    wait = s.throttle(user.id)
    if not wait:
        return False

    async def tell() -> None:
        await say(context, chat.id, rate_limit_text(s, await user_lang(s, user), wait))

    # Not queued on the lane: the user should hear it now, not after their running jobs.
    context.application.create_task(tell(), update=update)
    return True


def from_bot(user: User) -> bool:
    """Other bots are not served; GroupAnonymousBot is, as it speaks for an admin who posts
    as the group."""
    return user.is_bot and user.id != ChatID.ANONYMOUS_ADMIN


def gate(update: Update, context: ContextTypes.DEFAULT_TYPE) -> tuple[Message, User, Chat] | None:
    """The message, user and chat when this update is for us and the user may use the bot."""
    message, user, chat = update.effective_message, update.effective_user, update.effective_chat
    if message is None or user is None or chat is None or from_bot(user):
        return None
    if not is_private(chat) and not addressed(message, context):
        return None
    if not services(context).allowed(user.id):
        refuse(context, update, user, chat)
        return None
    return message, user, chat


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


def rate_limited_quiet(s: Services, user: User) -> bool:
    return bool(s.throttle(user.id))


def check_file(
    context: ContextTypes.DEFAULT_TYPE,
    update: Update,
    user: User,
    chat: Chat,
    ref: MediaRef | Unsupported,
    reply_to: int,
) -> MediaRef | None:
    """Refuse unsupported and oversize files before anything is downloaded."""
    s = services(context)
    limit = s.settings.telegram_max_download_bytes
    if isinstance(ref, MediaRef) and not too_big(ref, limit):
        return ref

    async def work() -> None:
        text = file_refusal(await user_lang(s, user), ref, limit)
        if text:
            await say(context, chat.id, text, reply_to=reply_to)

    submit(context, update, user.id, work)
    return None
