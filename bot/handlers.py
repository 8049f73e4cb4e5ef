"""PTB callbacks: translate an update into a job and queue it on the user's lane.

Every callback does its checks synchronously and calls `_submit` before its
first `await`, which is what keeps each user's messages answered in order while
updates are processed concurrently. The work itself lives in `runner`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable

from telegram import BotCommand, Chat, Message, Update, User
from telegram.constants import ChatType
from telegram.error import TelegramError
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from pipeline.config import split_list

from . import replies
from .errors import report
from .i18n import LANGS, MENU_COMMANDS, TASKS, lang_from_code, mode_name, t
from .jobs import Album
from .media import (
    Unsupported,
    looks_like_question,
    media_ref,
    mentions,
    parse_command,
    strip_mention,
    too_big,
)
from .runner import run_job
from .services import Services, services
from .store import Job, MediaRef

TASK_COMMANDS = (*TASKS, "ask")
MAX_CATEGORIES, MAX_CATEGORY_LEN = 30, 40
Work = Callable[[], Awaitable[None]]


# --- plumbing ---------------------------------------------------------------


def _submit(context: ContextTypes.DEFAULT_TYPE, update: Update, user_id: int, work: Work) -> None:
    app = context.application

    async def on_error(exc: BaseException) -> None:
        await report(app, update, exc)

    services(context).lanes.submit(user_id, work, on_error)


async def _lang(s: Services, user: User) -> str:
    prefs = await s.store.user(user.id)
    return prefs.lang or lang_from_code(user.language_code)


async def _say(
    context: ContextTypes.DEFAULT_TYPE, chat_id: int, html: str, reply_to: int | None = None
) -> None:
    await replies.send_html(context.bot, chat_id, html, reply_to=reply_to)


def _private(chat: Chat) -> bool:
    return chat.type == ChatType.PRIVATE


def _reply_to_bot(message: Message, bot_id: int) -> bool:
    reply = message.reply_to_message
    return bool(reply and reply.from_user and reply.from_user.id == bot_id)


def _addressed(message: Message, context: ContextTypes.DEFAULT_TYPE) -> bool:
    """In groups: a command for us, a mention of us, or a reply to one of our messages."""
    bot = context.bot
    command = parse_command(message.text or message.caption, bot.username)
    if command is not None and command.for_us:
        return True
    return mentions(message, bot.username, bot.id) or _reply_to_bot(message, bot.id)


def _refuse(context: ContextTypes.DEFAULT_TYPE, update: Update, user: User, chat: Chat) -> None:
    s = services(context)

    async def work() -> None:
        lang = await _lang(s, user)
        await _say(context, chat.id, t(lang, "refused", user_id=user.id))

    _submit(context, update, user.id, work)


def _rate_limited(
    context: ContextTypes.DEFAULT_TYPE, update: Update, user: User, chat: Chat
) -> bool:
    """Count a job for the user; when over the limit, tell them and return True."""
    s = services(context)
    if s.is_admin(user.id):
        return False
    wait = s.limiter.try_acquire(user.id)
    if not wait:
        return False

    async def tell() -> None:
        lang = await _lang(s, user)
        text = t(lang, "rate_limited", n=s.settings.user_jobs_per_minute, seconds=int(wait) + 1)
        await _say(context, chat.id, text)

    # Not queued on the lane: the user should hear it now, not after their running jobs.
    context.application.create_task(tell(), update=update)
    return True


def _gate(update: Update, context: ContextTypes.DEFAULT_TYPE) -> tuple[Message, User, Chat] | None:
    """The message, user and chat when this update is for us and the user may use the bot."""
    message, user, chat = update.effective_message, update.effective_user, update.effective_chat
    if message is None or user is None or chat is None or user.is_bot:
        return None
    if not _private(chat) and not _addressed(message, context):
        return None
    if not services(context).allowed(user.id):
        _refuse(context, update, user, chat)
        return None
    return message, user, chat


# --- settings commands ---------------------------------------------------------


async def on_help(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    gate = _gate(update, context)
    if gate is None:
        return
    _message, user, chat = gate
    s = services(context)

    async def work() -> None:
        lang = await _lang(s, user)
        if _private(chat):
            mode = (await s.store.user(user.id)).mode
            text = t(lang, "help", mode=mode_name(lang, mode))
        else:
            text = t(lang, "help_group", bot=context.bot.username or "")
        await _say(context, chat.id, text)

    _submit(context, update, user.id, work)


async def on_lang(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    gate = _gate(update, context)
    if gate is None:
        return
    _message, user, chat = gate
    s = services(context)
    arg = " ".join(context.args or []).strip().lower()

    async def work() -> None:
        if arg in LANGS:
            await s.store.set_lang(user.id, arg)
            await _say(context, chat.id, t(arg, "lang_set"))
        else:
            await _say(context, chat.id, t(await _lang(s, user), "lang_usage"))

    _submit(context, update, user.id, work)


async def on_mode(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    gate = _gate(update, context)
    if gate is None:
        return
    _message, user, chat = gate
    s = services(context)
    arg = " ".join(context.args or []).strip().lower()

    async def work() -> None:
        lang = await _lang(s, user)
        if arg in TASKS:
            await s.store.set_mode(user.id, arg)
            await _say(context, chat.id, t(lang, "mode_set", mode=mode_name(lang, arg)))
        else:
            mode = (await s.store.user(user.id)).mode
            await _say(context, chat.id, t(lang, "mode_usage", mode=mode_name(lang, mode)))

    _submit(context, update, user.id, work)


def edit_categories(current: list[str], arg: str) -> tuple[list[str] | None, str | None]:
    """Apply `/categories <arg>` to `current`: (new list or None for defaults, error key)."""
    verb, _, rest = arg.strip().partition(" ")
    verb = verb.lower()
    names = [str(n) for n in split_list(rest)]  # type: ignore[union-attr]
    if verb == "reset":
        return None, None
    if verb == "set":
        new = list(dict.fromkeys(names))
    elif verb == "add":
        new = list(dict.fromkeys([*current, *names]))
    elif verb in ("remove", "rm", "del", "delete"):
        missing = [n for n in names if n not in current]
        if missing or not names:
            return current, "categories_not_found:" + (missing[0] if missing else "")
        new = [c for c in current if c not in names]
    else:
        return current, "usage"
    if not new:
        return current, "categories_empty"
    if len(new) > MAX_CATEGORIES or any(len(n) > MAX_CATEGORY_LEN for n in new):
        return current, "categories_too_many"
    return new, None


async def on_categories(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    gate = _gate(update, context)
    if gate is None:
        return
    _message, user, chat = gate
    s = services(context)
    arg = " ".join(context.args or []).strip()

    async def work() -> None:
        lang = await _lang(s, user)
        current = s.categories_for((await s.store.user(user.id)).categories)
        if arg:
            new, error = edit_categories(current, arg)
            if error and error.startswith("categories_not_found"):
                name = error.partition(":")[2]
                await _say(context, chat.id, t(lang, "categories_not_found", name=name))
                return
            if error in ("categories_empty", "categories_too_many"):
                text = t(lang, error, n=MAX_CATEGORIES, m=MAX_CATEGORY_LEN)
                await _say(context, chat.id, text)
                return
            if error is None:
                await s.store.set_categories(user.id, new)
                current = s.categories_for(new)
        listing = "\n".join(f"• {c}" for c in current)
        await _say(context, chat.id, t(lang, "categories_show", list=listing))

    _submit(context, update, user.id, work)


# --- photos, documents and questions ------------------------------------------


def _intent(
    text: str | None, bot_username: str | None
) -> tuple[str | None, str | None, list[str] | None]:
    """A caption or command text → (task or None for the default mode, question, categories)."""
    command = parse_command(text, bot_username)
    if command is not None:
        if command.name in TASKS:
            cats = [str(c) for c in split_list(command.arg)] if command.name == "classify" else []  # type: ignore[union-attr]
            return command.name, None, cats or None
        if command.name == "ask":
            return "ask", command.arg or None, None
        return None, None, None
    question = strip_mention(text or "", bot_username)
    if looks_like_question(question):
        return "ask", question, None
    return None, None, None


def _queue_job(
    context: ContextTypes.DEFAULT_TYPE,
    update: Update,
    user: User,
    chat: Chat,
    task: str | None,
    media: list[MediaRef],
    *,
    question: str | None = None,
    categories: list[str] | None = None,
    reply_to: int | None = None,
) -> None:
    s = services(context)

    async def work() -> None:
        prefs = await s.store.user(user.id)
        lang = prefs.lang or lang_from_code(user.language_code)
        job = Job(user.id, chat.id, task or prefs.mode, media, question, categories)
        job.reply_to = reply_to
        await run_job(s, context.bot, job, lang)

    _submit(context, update, user.id, work)


def _check_file(
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
        lang = await _lang(s, user)
        if isinstance(ref, Unsupported):
            text = t(lang, "unsupported_file", name=ref.name)
        else:
            size = f"{(ref.size or 0) / 1e6:.1f}"
            text = t(lang, "file_too_big", size=size, limit=f"{limit / 1e6:.0f}")
        await _say(context, chat.id, text, reply_to=reply_to)

    _submit(context, update, user.id, work)
    return None


async def on_media(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message, user, chat = update.effective_message, update.effective_user, update.effective_chat
    if message is None or user is None or chat is None or user.is_bot:
        return
    s = services(context)
    if message.media_group_id:
        album = s.albums.add(message)
        if album is not None:
            _queue_album(context, update, user, chat, album)
        return
    gate = _gate(update, context)
    if gate is None:
        return
    command = parse_command(message.caption, context.bot.username)
    if command is not None and not command.for_us:
        return
    ref = media_ref(message)
    if ref is None:
        return
    checked = _check_file(context, update, user, chat, ref, message.message_id)
    if checked is None or _rate_limited(context, update, user, chat):
        return
    task, question, cats = _intent(message.caption, context.bot.username)
    _queue_job(
        context,
        update,
        user,
        chat,
        task,
        [checked],
        question=question,
        categories=cats,
        reply_to=message.message_id,
    )


def _queue_album(
    context: ContextTypes.DEFAULT_TYPE, update: Update, user: User, chat: Chat, album: Album
) -> None:
    """Hold the user's lane until the album is complete, then run one job over all of it."""
    s = services(context)

    async def work() -> None:
        items = await album.done
        if not _private(chat) and not any(_addressed(m, context) for m in items):
            return
        lang = await _lang(s, user)
        if not s.allowed(user.id):
            await _say(context, chat.id, t(lang, "refused", user_id=user.id))
            return
        caption = next((m.caption for m in items if m.caption), None)
        media: list[MediaRef] = []
        limit = s.settings.telegram_max_download_bytes
        for item in items:
            ref = media_ref(item)
            if isinstance(ref, Unsupported):
                text = t(lang, "unsupported_file", name=ref.name)
                await _say(context, chat.id, text, reply_to=item.message_id)
            elif ref is not None and too_big(ref, limit):
                size = f"{(ref.size or 0) / 1e6:.1f}"
                text = t(lang, "file_too_big", size=size, limit=f"{limit / 1e6:.0f}")
                await _say(context, chat.id, text, reply_to=item.message_id)
            elif ref is not None:
                media.append(ref)
        if not media:
            return
        if not s.is_admin(user.id) and (wait := s.limiter.try_acquire(user.id)):
            text = t(lang, "rate_limited", n=s.settings.user_jobs_per_minute, seconds=int(wait) + 1)
            await _say(context, chat.id, text)
            return
        task, question, cats = _intent(caption, context.bot.username)
        prefs = await s.store.user(user.id)
        job = Job(user.id, chat.id, task or prefs.mode, media, question, cats)
        job.reply_to = items[0].message_id
        await run_job(s, context.bot, job, lang)

    _submit(context, update, user.id, work)


async def _media_of_reply(
    s: Services, message: Message, bot_id: int
) -> list[MediaRef] | Unsupported | None:
    """The photo a message replies to: itself, or the one our replied-to answer was about."""
    reply = message.reply_to_message
    if reply is None:
        return None
    ref = media_ref(reply)
    if isinstance(ref, Unsupported):
        return ref
    if ref is not None:
        return [ref]
    if reply.from_user and reply.from_user.id == bot_id:
        job = await s.store.job_for_message(message.chat_id, reply.message_id)
        if job is not None:
            return job.media
    return None


def _queue_on_reply(
    context: ContextTypes.DEFAULT_TYPE,
    update: Update,
    message: Message,
    user: User,
    chat: Chat,
    task: str,
    question: str | None,
    categories: list[str] | None,
) -> None:
    """A command or question sent as a reply: find the photo, then run like a caption would."""
    s = services(context)

    async def work() -> None:
        lang = await _lang(s, user)
        found = await _media_of_reply(s, message, context.bot.id)
        if found is None:
            key = "ask_usage" if task == "ask" else "need_photo"
            if task == "ask" and not _private(chat):
                key = "help_group"
            await _say(context, chat.id, t(lang, key, bot=context.bot.username or ""))
            return
        if isinstance(found, Unsupported):
            await _say(context, chat.id, t(lang, "unsupported_file", name=found.name))
            return
        limit = s.settings.telegram_max_download_bytes
        if any(too_big(ref, limit) for ref in found):
            size = f"{max(ref.size or 0 for ref in found) / 1e6:.1f}"
            await _say(
                context, chat.id, t(lang, "file_too_big", size=size, limit=f"{limit / 1e6:.0f}")
            )
            return
        job = Job(user.id, chat.id, task, found, question, categories)
        job.reply_to = message.message_id
        await run_job(s, context.bot, job, lang)

    _submit(context, update, user.id, work)


async def on_task_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """`/ocr`, `/classify a, b`, `/ask question` … sent as text, normally as a reply to a photo."""
    gate = _gate(update, context)
    if gate is None:
        return
    message, user, chat = gate
    task, question, cats = _intent(message.text, context.bot.username)
    if task is None:
        return
    if task == "ask" and not question:
        s = services(context)

        async def usage() -> None:
            await _say(context, chat.id, t(await _lang(s, user), "ask_usage"))

        _submit(context, update, user.id, usage)
        return
    if _rate_limited(context, update, user, chat):
        return
    _queue_on_reply(context, update, message, user, chat, task, question, cats)


async def on_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Plain text: a question when it replies to a photo (or to our answer about one)."""
    gate = _gate(update, context)
    if gate is None:
        return
    message, user, chat = gate
    question = strip_mention(message.text or "", context.bot.username)
    if message.reply_to_message is not None and question:
        if _rate_limited(context, update, user, chat):
            return
        _queue_on_reply(context, update, message, user, chat, "ask", question, None)
        return
    s = services(context)

    async def hint() -> None:
        lang = await _lang(s, user)
        key = "send_photo" if _private(chat) else "help_group"
        await _say(context, chat.id, t(lang, key, bot=context.bot.username or ""))

    _submit(context, update, user.id, hint)


# --- inline buttons ------------------------------------------------------------


async def on_callback(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """`t:<job>:<task>` runs another task on a job's photos; `r:<job>` retries a job."""
    query, user = update.callback_query, update.effective_user
    if query is None or user is None:
        return
    s = services(context)
    parts = (query.data or "").split(":")
    valid = (
        len(parts) in (2, 3)
        and parts[0] in ("t", "r")
        and parts[1].isdigit()
        and (parts[0] == "r" or (len(parts) == 3 and parts[2] in TASKS))
    )
    allowed = s.allowed(user.id)
    limited = valid and allowed and _rate_limited_quiet(s, user)
    if valid and allowed and not limited:
        job_id = int(parts[1])
        task = parts[2] if parts[0] == "t" else None

        async def work() -> None:
            lang = await _lang(s, user)
            original = await s.store.job(job_id)
            chat_id = query.message.chat.id if query.message else user.id
            if original is None:
                await _say(context, chat_id, t(lang, "gone"))
                return
            if task is None:  # retry: the same job again; drop the Retry button
                job = original
                if query.message is not None:
                    with contextlib.suppress(TelegramError):
                        await context.bot.edit_message_reply_markup(
                            chat_id, query.message.message_id, reply_markup=None
                        )
            else:
                job = Job(user.id, original.chat_id, task, original.media)
            job.reply_to = original.media[0].message_id if original.media else None
            await run_job(s, context.bot, job, lang)

        _submit(context, update, user.id, work)
    lang = await _lang(s, user)
    if not allowed:
        text = t(lang, "refused", user_id=user.id)
        # Alerts are plain text: strip the HTML tags of the catalog message.
        await query.answer(text.replace("<code>", "").replace("</code>", ""), show_alert=True)
    elif limited:
        await query.answer(
            t(lang, "rate_limited", n=s.settings.user_jobs_per_minute, seconds=60), show_alert=True
        )
    else:
        await query.answer(t(lang, "cb_working") if valid else None)


def _rate_limited_quiet(s: Services, user: User) -> bool:
    return not s.is_admin(user.id) and bool(s.limiter.try_acquire(user.id))


# --- wiring ----------------------------------------------------------------------


def add_handlers(app: Application) -> None:
    new_message = filters.UpdateType.MESSAGE
    app.add_handler(CallbackQueryHandler(on_callback))
    app.add_handler(CommandHandler(["start", "help"], on_help, filters=new_message))
    app.add_handler(CommandHandler("lang", on_lang, filters=new_message))
    app.add_handler(CommandHandler("mode", on_mode, filters=new_message))
    app.add_handler(CommandHandler("categories", on_categories, filters=new_message))
    app.add_handler(CommandHandler(list(TASK_COMMANDS), on_task_command, filters=new_message))
    app.add_handler(MessageHandler(new_message & (filters.PHOTO | filters.Document.ALL), on_media))
    app.add_handler(MessageHandler(new_message & filters.TEXT & ~filters.COMMAND, on_text))


def menu(lang: str) -> list[BotCommand]:
    return [BotCommand(name, t(lang, f"cmd_{name}")) for name in MENU_COMMANDS]
