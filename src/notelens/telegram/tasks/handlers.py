"""The general tasks: settings commands, photos in the default mode or with a caption,
task commands and questions sent as replies, and plain text.

Handlers read the intent the gate parsed, check, and hand work to `dispatch`
synchronously, before their first `await`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from telegram import BotCommand, Update
from telegram.ext import CommandHandler, MessageHandler, filters

from ...config import split_names
from ...i18n import N_
from ...jobs.types import Job, MediaRef
from ...pipeline.registry import TASKS, modes
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
from ..context import BotApp, CustomContext
from ..dispatch import in_order, submit
from ..i18n import LANGS, MENU_COMMANDS, lang_from_code, mode_name, t
from ..intake import take_photos
from ..intent import Intent
from ..media import Unsupported, strip_mention

MAX_CATEGORIES, MAX_CATEGORY_LEN = 30, 40


def task_commands() -> list[str]:
    return [name for name, spec in TASKS.items() if spec.mode or spec.needs_question]


# --- settings commands ---------------------------------------------------------


@in_order_command
async def on_help(ctx: CustomContext, intent: Intent, lang: str, arg: str) -> None:
    if intent.private:
        mode = (await ctx.services.store.user(intent.who.key)).mode
        text = t(lang, "help", mode=mode_name(lang, mode))
    else:
        text = t(lang, "help_group", bot=ctx.bot.username or "")
    await say(ctx, intent.chat.id, text)


@in_order_command
async def on_lang(ctx: CustomContext, intent: Intent, lang: str, arg: str) -> None:
    choice = arg.lower()
    if choice in LANGS:
        await ctx.services.store.set_lang(intent.who.key, choice)
        await say(ctx, intent.chat.id, t(choice, "lang_set"))
    else:
        await say(ctx, intent.chat.id, t(lang, "lang_usage"))


@in_order_command
async def on_mode(ctx: CustomContext, intent: Intent, lang: str, arg: str) -> None:
    store, choice = ctx.services.store, arg.lower()
    if choice in modes():
        await store.set_mode(intent.who.key, choice)
        await say(ctx, intent.chat.id, t(lang, "mode_set", mode=mode_name(lang, choice)))
    else:
        mode = (await store.user(intent.who.key)).mode
        await say(ctx, intent.chat.id, t(lang, "mode_usage", mode=mode_name(lang, mode)))


def edit_categories(current: list[str], arg: str) -> tuple[list[str] | None, str | None]:
    """Apply `/categories <arg>` to `current`: (new list or None for defaults, error key)."""
    verb, _, rest = arg.strip().partition(" ")
    verb = verb.lower()
    names = split_names(rest)
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


@in_order_command
async def on_categories(ctx: CustomContext, intent: Intent, lang: str, arg: str) -> None:
    s = ctx.services
    key, chat_id = intent.who.key, intent.chat.id
    current = s.categories_for((await s.store.user(key)).categories)
    if arg:
        new, error = edit_categories(current, arg)
        if error and error.startswith("categories_not_found"):
            name = error.partition(":")[2]
            await say(ctx, chat_id, t(lang, "categories_not_found", name=name))
            return
        if error in ("categories_empty", "categories_too_many"):
            await say(ctx, chat_id, t(lang, error, n=MAX_CATEGORIES, m=MAX_CATEGORY_LEN))
            return
        if error is None:
            await s.store.set_categories(key, new)
            current = s.categories_for(new)
    listing = "\n".join(f"• {c}" for c in current)
    await say(ctx, chat_id, t(lang, "categories_show", list=listing))


# --- photos, documents and questions ------------------------------------------


async def make_job(
    ctx: CustomContext,
    intent: Intent,
    media: list[MediaRef],
    *,
    task: str | None = None,
    reply_to: int | None = None,
) -> Job:
    """A job for the intent's sender on `media`: its task, else the sender's default mode."""
    s = ctx.services
    prefs = await s.store.user(intent.who.key)
    job = Job(
        intent.who.key,
        intent.chat.id,
        task or intent.task or prefs.mode,
        media,
        intent.question,
        intent.categories,
    )
    job.reply_to = reply_to
    job.lang = prefs.lang or lang_from_code(intent.who.user.language_code)  # as `lang_of`
    return job


def take_photo(ctx: CustomContext, intent: Intent) -> bool:
    """A single photo or file: the caption's task, or the default mode."""
    if intent.foreign_command or intent.media is None:
        return True
    if not (intent.private or intent.addressed):
        return True  # an auto-mode group's photo that was not a receipt reading
    ref = checked_file(ctx, intent)
    if ref is None:
        return True

    async def prepare() -> list[Job]:
        if await rate_limited(ctx, intent):
            return []
        return [await make_job(ctx, intent, [ref], reply_to=intent.message.message_id)]

    submit(ctx, intent.who.key, prepare)
    return True


async def take_album(ctx: CustomContext, items: Sequence[Intent]) -> list[Job] | None:
    """A complete album, on the sender's lane: one job over all of its photos."""
    s = ctx.services
    first = items[0]
    if not first.private and not any(i.addressed for i in items):
        return []
    lang = await lang_of(s, first.who.key, first.who.user)
    if not (s.allowed(first.who.user.id) or s.allowed(first.who.key)):
        await say(ctx, first.chat.id, t(lang, "refused", user_id=first.who.user.id))
        return []
    captioned = next((i for i in items if i.text), first)
    media: list[MediaRef] = []
    limit = s.settings.telegram_max_download_bytes
    for item in items:
        ref = item.media
        if ref is None:
            continue
        if refusal := file_refusal(lang, ref, limit):
            await say(ctx, item.chat.id, refusal, reply_to=item.message.message_id)
        else:
            assert isinstance(ref, MediaRef)
            media.append(ref)
    if not media:
        return []
    if wait := await s.throttle(first.who.key):
        await say(ctx, first.chat.id, rate_limit_text(s, lang, wait))
        return []
    return [await make_job(ctx, captioned, media, reply_to=first.message.message_id)]


def _on_reply(ctx: CustomContext, intent: Intent, task: str) -> None:
    """A command or question sent as a reply: find the photo, then run like a caption would."""
    s = ctx.services

    async def prepare() -> list[Job]:
        if await rate_limited(ctx, intent):
            return []
        lang = await lang_of(s, intent.who.key, intent.who.user)
        target = await reply_target(s, intent.message, ctx.bot.id)
        chat_id = intent.chat.id
        if target is None:
            key = "ask_usage" if task == "ask" else "need_photo"
            if task == "ask" and not intent.private:
                key = "help_group"
            await say(ctx, chat_id, t(lang, key, bot=ctx.bot.username or ""))
            return []
        if isinstance(target, Unsupported):
            await say(ctx, chat_id, t(lang, "unsupported_file", name=target.name))
            return []
        found = target.media if isinstance(target, Job) else [target]
        if refusal := first_refusal(lang, found, s.settings.telegram_max_download_bytes):
            await say(ctx, chat_id, refusal)
            return []
        return [await make_job(ctx, intent, found, task=task, reply_to=intent.message.message_id)]

    submit(ctx, intent.who.key, prepare)


async def on_task_command(update: Update, ctx: CustomContext) -> None:
    """`/ocr`, `/classify a, b`, `/ask question` … sent as text, normally as a reply to a photo."""
    intent = ctx.intent
    if intent is None or intent.task is None:
        return
    if TASKS[intent.task].needs_question and not intent.question:
        answer(ctx, intent, N_("ask_usage"))
        return
    _on_reply(ctx, intent, intent.task)


async def on_text(update: Update, ctx: CustomContext) -> None:
    """Plain text: a question when it replies to a photo (or to our answer about one);
    otherwise a hint, at most a few a minute."""
    intent = ctx.intent
    if intent is None:
        return
    question = strip_mention(intent.text, ctx.bot.username)
    if intent.message.reply_to_message is not None and question:
        _on_reply(ctx, replace(intent, question=question), "ask")
        return
    s = ctx.services
    key = "send_photo" if intent.private else "help_group"

    async def hint() -> None:
        if not await s.hint_allowed(intent.who.key):
            return  # a flood of texts gets a few hints, not one each
        lang = await lang_of(s, intent.who.key, intent.who.user)
        await say(ctx, intent.chat.id, t(lang, key, bot=ctx.bot.username or ""))

    in_order(ctx, intent.who.key, hint)


# --- wiring ----------------------------------------------------------------------


def add_task_handlers(app: BotApp) -> None:
    new_message = filters.UpdateType.MESSAGE
    app.add_handler(CommandHandler(["start", "help"], on_help, filters=new_message))
    app.add_handler(CommandHandler("lang", on_lang, filters=new_message))
    app.add_handler(CommandHandler("mode", on_mode, filters=new_message))
    app.add_handler(CommandHandler("categories", on_categories, filters=new_message))
    app.add_handler(CommandHandler(task_commands(), on_task_command, filters=new_message))
    app.add_handler(MessageHandler(new_message & filters.TEXT & ~filters.COMMAND, on_text))
    take_photos(take_photo, take_album)


def menu(lang: str) -> list[BotCommand]:
    return [BotCommand(name, t(lang, f"cmd_{name}")) for name in MENU_COMMANDS]
