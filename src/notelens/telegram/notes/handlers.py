"""`/notes` and its buttons: the latest notes, search (also a private `?words` message),
get, file, delete, export. Everything acts on the archive of the chat's owner (a person
in a private chat, the group in a group), so a group's notes are seen only in that group.

Buttons carry the owner (`u<id>` or `c<chat>`) and act only when the press comes from that
owner's chat (and, in a private chat, from that person): callback data can be replayed.
"""

from __future__ import annotations

import logging
import re

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ChatType
from telegram.ext import CallbackQueryHandler, CommandHandler, MessageHandler, filters

from ...archive import telegram_owner
from ...i18n import N_
from .. import replies
from ..common import alert, in_order_command, lang_of, say
from ..context import BotApp, CustomContext
from ..dispatch import in_order
from ..i18n import plain, t
from ..intent import Intent

log = logging.getLogger(__name__)

LATEST = 10
TITLE_IN_BUTTON = 40
OWNER = r"[uc]-?\d{1,18}"
OPEN_PATTERN = rf"^no:({OWNER}):(\d{{1,9}})$"
DELETE_PATTERN = rf"^nd:({OWNER}):(\d{{1,9}}):(yes|no)$"
SEARCH_TEXT = re.compile(r"^\s*[?？]")


def token(owner: str) -> str:
    """`tg-user:1` → `u1`, `tg-chat:-100` → `c-100`: short enough for callback data."""
    kind, _, number = owner.partition(":")
    return ("u" if kind == "tg-user" else "c") + number


def owner_of(intent: Intent) -> str:
    return telegram_owner(intent.chat.id, intent.who.key, private=intent.private)


def note_number(text: str) -> int | None:
    return int(text) if text.isdigit() and 0 < int(text) < 10**9 else None


# --- /notes ---------------------------------------------------------------------------


@in_order_command
async def on_notes(ctx: CustomContext, intent: Intent, lang: str, arg: str) -> None:
    verb, _, rest = arg.partition(" ")
    verb, rest = verb.lower(), rest.strip()
    owner, chat_id = owner_of(intent), intent.chat.id
    if not verb:
        await show_latest(ctx, owner, chat_id, lang)
    elif verb == "search" and rest:
        await show_search(ctx, owner, chat_id, lang, rest)
    elif verb == "export" and not rest:
        await send_export(ctx, owner, chat_id, lang)
    elif verb in ("get", "delete", "file") and (n := note_number(rest.partition(" ")[0])):
        category = rest.partition(" ")[2].strip()
        if verb == "get":
            await send_note(ctx, owner, chat_id, lang, n)
        elif verb == "delete":
            await ask_delete(ctx, owner, chat_id, lang, n)
        elif category:
            await refile(ctx, owner, chat_id, lang, n, category)
        else:
            await say(ctx, chat_id, t(lang, "notes_usage"))
    else:
        await say(ctx, chat_id, t(lang, "notes_usage"))


async def on_search_text(update: Update, ctx: CustomContext) -> None:
    """A private message starting with `?` searches the sender's notes."""
    intent = ctx.intent
    if intent is None:
        return
    words = SEARCH_TEXT.sub("", intent.text).strip()
    s = ctx.services

    async def step() -> None:
        lang = await lang_of(s, intent.who.key, intent.who.user)
        if words:
            await show_search(ctx, owner_of(intent), intent.chat.id, lang, words)
        else:
            await say(ctx, intent.chat.id, t(lang, "notes_usage"))

    in_order(ctx, intent.who.key, step)


async def show_latest(ctx: CustomContext, owner: str, chat_id: int, lang: str) -> None:
    notes = await ctx.services.archive.latest(owner, LATEST)
    if not notes:
        await say(ctx, chat_id, t(lang, "notes_empty"))
        return
    lines = [
        t(
            lang,
            "notes_line",
            number=n.number,
            title=n.title,
            category=n.category,
            date=n.created_at.date().isoformat(),
        )
        for n in notes
    ]
    buttons = [
        [
            InlineKeyboardButton(
                f"{n.number}. {n.title[:TITLE_IN_BUTTON]}",
                callback_data=f"no:{token(owner)}:{n.number}",
            )
        ]
        for n in notes
    ]
    text = t(lang, "notes_latest") + "\n" + "\n".join(lines)
    await replies.send_html(ctx.bot, chat_id, text, reply_markup=InlineKeyboardMarkup(buttons))


async def show_search(ctx: CustomContext, owner: str, chat_id: int, lang: str, words: str) -> None:
    hits = await ctx.services.archive.search(owner, words)
    if not hits:
        await say(ctx, chat_id, t(lang, "notes_nothing", words=words))
        return
    lines = [
        t(lang, "notes_hit", number=h.number, title=h.title, category=h.category, snippet=h.snippet)
        for h in hits
    ]
    await say(ctx, chat_id, t(lang, "notes_found", words=words) + "\n\n" + "\n\n".join(lines))


async def send_note(ctx: CustomContext, owner: str, chat_id: int, lang: str, n: int) -> None:
    note = await ctx.services.archive.get(owner, n)
    if note is None:
        await say(ctx, chat_id, t(lang, "notes_missing", number=n))
        return
    caption = t(lang, "notes_caption", title=note.title)
    await replies.send_document(
        ctx.bot, chat_id, note.markdown.encode("utf-8"), note.file_name, caption_html=caption
    )


async def send_export(ctx: CustomContext, owner: str, chat_id: int, lang: str) -> None:
    archive = ctx.services.archive
    if not await archive.count(owner):
        await say(ctx, chat_id, t(lang, "notes_empty"))
        return
    data = await archive.export(owner)
    caption = t(lang, "notes_export")
    await replies.send_document(ctx.bot, chat_id, data, "notes.zip", caption_html=caption)


async def refile(
    ctx: CustomContext, owner: str, chat_id: int, lang: str, n: int, category: str
) -> None:
    if await ctx.services.archive.refile(owner, n, category):
        await say(ctx, chat_id, t(lang, "notes_refiled", number=n, category=category))
    else:
        await say(ctx, chat_id, t(lang, "notes_missing", number=n))


async def ask_delete(ctx: CustomContext, owner: str, chat_id: int, lang: str, n: int) -> None:
    note = await ctx.services.archive.get(owner, n)
    if note is None:
        await say(ctx, chat_id, t(lang, "notes_missing", number=n))
        return
    data = f"nd:{token(owner)}:{n}"
    markup = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(plain(lang, "btn_delete"), callback_data=f"{data}:yes"),
                InlineKeyboardButton(plain(lang, "btn_cancel"), callback_data=f"{data}:no"),
            ]
        ]
    )
    text = t(lang, "notes_delete_ask", number=n, title=note.title)
    await replies.send_html(ctx.bot, chat_id, text, reply_markup=markup)


# --- buttons -----------------------------------------------------------------------------


async def pressed_owner(update: Update, ctx: CustomContext) -> tuple[str, int, str] | None:
    """(owner, chat, language) when the press comes from the owner named in its data;
    otherwise the presser is told so and None."""
    query = update.callback_query
    assert query is not None and ctx.matches
    user, message = query.from_user, query.message
    lang = await lang_of(ctx.services, user.id, user)
    if message is None:
        await query.answer()
        return None
    chat = message.chat
    owner = telegram_owner(chat.id, user.id, private=chat.type == ChatType.PRIVATE)
    if token(owner) != ctx.matches[0].group(1):
        await alert(query, lang, N_("cb_not_your_notes"))
        return None
    return owner, chat.id, lang


async def on_open(update: Update, ctx: CustomContext) -> None:
    """`no:<owner>:<n>`: the note's document again."""
    found = await pressed_owner(update, ctx)
    if found is None:
        return
    owner, chat_id, lang = found
    assert update.callback_query is not None and ctx.matches
    await update.callback_query.answer()
    await send_note(ctx, owner, chat_id, lang, int(ctx.matches[0].group(2)))


async def on_delete(update: Update, ctx: CustomContext) -> None:
    """`nd:<owner>:<n>:yes|no`: the answer to `/notes delete N`."""
    found = await pressed_owner(update, ctx)
    if found is None:
        return
    owner, _, lang = found
    query = update.callback_query
    assert query is not None and ctx.matches
    n, action = int(ctx.matches[0].group(2)), ctx.matches[0].group(3)
    await query.answer()
    if action != "yes":
        text = t(lang, "cancelled")
    elif await ctx.services.archive.delete(owner, n):
        log.info("an archived note deleted on request")
        text = t(lang, "notes_deleted", number=n)
    else:
        text = t(lang, "notes_missing", number=n)
    await query.edit_message_text(text, reply_markup=None)


# --- wiring ------------------------------------------------------------------------------


def add_notes_handlers(app: BotApp) -> None:
    """Before the tasks' handlers: `/notes` that is not a reply (a reply asks for notes on
    a photo) and a private `?words` message are archive commands."""
    new_message = filters.UpdateType.MESSAGE
    app.add_handler(CallbackQueryHandler(on_open, pattern=OPEN_PATTERN))
    app.add_handler(CallbackQueryHandler(on_delete, pattern=DELETE_PATTERN))
    app.add_handler(CommandHandler("notes", on_notes, filters=new_message & ~filters.REPLY))
    search_text = filters.Regex(SEARCH_TEXT) & filters.ChatType.PRIVATE & ~filters.REPLY
    app.add_handler(
        MessageHandler(new_message & filters.TEXT & ~filters.COMMAND & search_text, on_search_text)
    )
