"""PTB callbacks: translate an update into a job and queue it on the user's lane.

Every callback does its checks synchronously and calls `submit` before its
first `await`, which is what keeps each user's messages answered in order while
updates are processed concurrently. The work itself lives in `runner`.
"""

from __future__ import annotations

import contextlib

from telegram import BotCommand, Chat, Message, Update, User
from telegram.error import TelegramError
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from ..config import split_list
from ..jobs.types import Job, MediaRef
from ..store.schema import JOB_ID_LENGTH
from .gating import (
    addressed,
    alert_refused,
    check_file,
    file_refusal,
    first_refusal,
    from_bot,
    gate,
    is_private,
    rate_limit_text,
    rate_limited,
    rate_limited_quiet,
    reply_target,
    say,
    submit,
    user_lang,
)
from .i18n import LANGS, MENU_COMMANDS, TASKS, lang_from_code, mode_name, plain, t
from .jobs import Album
from .media import (
    Unsupported,
    looks_like_question,
    media_ref,
    parse_command,
    strip_mention,
)
from .receipt_handlers import add_receipt_handlers, take_album, take_photo
from .runner import run_job
from .services import services

TASK_COMMANDS = (*TASKS, "ask")
MAX_CATEGORIES, MAX_CATEGORY_LEN = 30, 40


# --- settings commands ---------------------------------------------------------


async def on_help(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    gated = gate(update, context)
    if gated is None:
        return
    _message, user, chat = gated
    s = services(context)

    async def work() -> None:
        lang = await user_lang(s, user)
        if is_private(chat):
            mode = (await s.store.user(user.id)).mode
            text = t(lang, "help", mode=mode_name(lang, mode))
        else:
            text = t(lang, "help_group", bot=context.bot.username or "")
        await say(context, chat.id, text)

    submit(context, update, user.id, work)


async def on_lang(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    gated = gate(update, context)
    if gated is None:
        return
    _message, user, chat = gated
    s = services(context)
    arg = " ".join(context.args or []).strip().lower()

    async def work() -> None:
        if arg in LANGS:
            await s.store.set_lang(user.id, arg)
            await say(context, chat.id, t(arg, "lang_set"))
        else:
            await say(context, chat.id, t(await user_lang(s, user), "lang_usage"))

    submit(context, update, user.id, work)


async def on_mode(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    gated = gate(update, context)
    if gated is None:
        return
    _message, user, chat = gated
    s = services(context)
    arg = " ".join(context.args or []).strip().lower()

    async def work() -> None:
        lang = await user_lang(s, user)
        if arg in TASKS:
            await s.store.set_mode(user.id, arg)
            await say(context, chat.id, t(lang, "mode_set", mode=mode_name(lang, arg)))
        else:
            mode = (await s.store.user(user.id)).mode
            await say(context, chat.id, t(lang, "mode_usage", mode=mode_name(lang, mode)))

    submit(context, update, user.id, work)


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
    gated = gate(update, context)
    if gated is None:
        return
    _message, user, chat = gated
    s = services(context)
    arg = " ".join(context.args or []).strip()

    async def work() -> None:
        lang = await user_lang(s, user)
        current = s.categories_for((await s.store.user(user.id)).categories)
        if arg:
            new, error = edit_categories(current, arg)
            if error and error.startswith("categories_not_found"):
                name = error.partition(":")[2]
                await say(context, chat.id, t(lang, "categories_not_found", name=name))
                return
            if error in ("categories_empty", "categories_too_many"):
                text = t(lang, error, n=MAX_CATEGORIES, m=MAX_CATEGORY_LEN)
                await say(context, chat.id, text)
                return
            if error is None:
                await s.store.set_categories(user.id, new)
                current = s.categories_for(new)
        listing = "\n".join(f"• {c}" for c in current)
        await say(context, chat.id, t(lang, "categories_show", list=listing))

    submit(context, update, user.id, work)


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

    submit(context, update, user.id, work)


async def on_media(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message, user, chat = update.effective_message, update.effective_user, update.effective_chat
    if message is None or user is None or chat is None or from_bot(user):
        return
    s = services(context)
    if message.media_group_id:
        album = s.albums.add(message)
        if album is not None:
            _queue_album(context, update, user, chat, album)
        return
    if take_photo(update, context, message, user, chat):
        return
    gated = gate(update, context)
    if gated is None:
        return
    command = parse_command(message.caption, context.bot.username)
    if command is not None and not command.for_us:
        return
    ref = media_ref(message)
    if ref is None:
        return
    checked = check_file(context, update, user, chat, ref, message.message_id)
    if checked is None or rate_limited(context, update, user, chat):
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
        if await take_album(context, user, chat, items):
            return
        if not is_private(chat) and not any(addressed(m, context) for m in items):
            return
        lang = await user_lang(s, user)
        if not s.allowed(user.id):
            await say(context, chat.id, t(lang, "refused", user_id=user.id))
            return
        caption = next((m.caption for m in items if m.caption), None)
        media: list[MediaRef] = []
        limit = s.settings.telegram_max_download_bytes
        for item in items:
            ref = media_ref(item)
            if ref is None:
                continue
            if refusal := file_refusal(lang, ref, limit):
                await say(context, chat.id, refusal, reply_to=item.message_id)
            else:
                assert isinstance(ref, MediaRef)
                media.append(ref)
        if not media:
            return
        if wait := s.throttle(user.id):
            await say(context, chat.id, rate_limit_text(s, lang, wait))
            return
        task, question, cats = _intent(caption, context.bot.username)
        prefs = await s.store.user(user.id)
        job = Job(user.id, chat.id, task or prefs.mode, media, question, cats)
        job.reply_to = items[0].message_id
        await run_job(s, context.bot, job, lang)

    submit(context, update, user.id, work)


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
        lang = await user_lang(s, user)
        target = await reply_target(s, message, context.bot.id)
        if target is None:
            key = "ask_usage" if task == "ask" else "need_photo"
            if task == "ask" and not is_private(chat):
                key = "help_group"
            await say(context, chat.id, t(lang, key, bot=context.bot.username or ""))
            return
        if isinstance(target, Unsupported):
            await say(context, chat.id, t(lang, "unsupported_file", name=target.name))
            return
        found = target.media if isinstance(target, Job) else [target]
        if refusal := first_refusal(lang, found, s.settings.telegram_max_download_bytes):
            await say(context, chat.id, refusal)
            return
        job = Job(user.id, chat.id, task, found, question, categories)
        job.reply_to = message.message_id
        await run_job(s, context.bot, job, lang)

    submit(context, update, user.id, work)


async def on_task_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """`/ocr`, `/classify a, b`, `/ask question` … sent as text, normally as a reply to a photo."""
    gated = gate(update, context)
    if gated is None:
        return
    message, user, chat = gated
    task, question, cats = _intent(message.text, context.bot.username)
    if task is None:
        return
    if task == "ask" and not question:
        s = services(context)

        async def usage() -> None:
            await say(context, chat.id, t(await user_lang(s, user), "ask_usage"))

        submit(context, update, user.id, usage)
        return
    if rate_limited(context, update, user, chat):
        return
    _queue_on_reply(context, update, message, user, chat, task, question, cats)


async def on_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Plain text: a question when it replies to a photo (or to our answer about one)."""
    gated = gate(update, context)
    if gated is None:
        return
    message, user, chat = gated
    question = strip_mention(message.text or "", context.bot.username)
    if message.reply_to_message is not None and question:
        if rate_limited(context, update, user, chat):
            return
        _queue_on_reply(context, update, message, user, chat, "ask", question, None)
        return
    s = services(context)

    async def hint() -> None:
        lang = await user_lang(s, user)
        key = "send_photo" if is_private(chat) else "help_group"
        await say(context, chat.id, t(lang, key, bot=context.bot.username or ""))

    submit(context, update, user.id, hint)


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
        and 0 < len(parts[1]) <= JOB_ID_LENGTH
        and (parts[0] == "r" or (len(parts) == 3 and parts[2] in TASKS))
    )
    allowed = s.allowed(user.id)
    limited = valid and allowed and rate_limited_quiet(s, user)
    if valid and allowed and not limited:
        job_id = parts[1]
        task = parts[2] if parts[0] == "t" else None

        async def work() -> None:
            lang = await user_lang(s, user)
            original = await s.store.job(job_id)
            chat_id = query.message.chat.id if query.message else user.id
            if original is None:
                await say(context, chat_id, t(lang, "gone"))
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

        submit(context, update, user.id, work)
    lang = await user_lang(s, user)
    if not allowed:
        await alert_refused(query, lang, user.id)
    elif limited:
        await query.answer(
            plain(lang, "rate_limited", n=s.settings.user_jobs_per_minute, seconds=60),
            show_alert=True,
        )
    else:
        await query.answer(plain(lang, "cb_working") if valid else None)


# --- wiring ----------------------------------------------------------------------


def add_handlers(app: Application) -> None:
    new_message = filters.UpdateType.MESSAGE
    add_receipt_handlers(app)
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
