"""Turning results into Telegram messages that can never be broken or truncated.

Everything is sent as HTML with model and user text escaped, so `<`, `&` or stray
Markdown in an answer are shown as typed. Text over Telegram's 4,096-character
limit is split at paragraph (then line, then word) boundaries; very long text is
sent as a file instead. Nothing is ever cut off.
"""

from __future__ import annotations

import html
import re
from datetime import date
from io import BytesIO

from telegram import Bot, InlineKeyboardMarkup, InputFile, Message
from telegram.constants import MessageLimit, ParseMode

from .errors import redact

TEXT_LIMIT = int(MessageLimit.MAX_TEXT_LENGTH)  # 4096
CAPTION_LIMIT = int(MessageLimit.CAPTION_LENGTH)  # 1024
# More chunks than this and a file is kinder than a wall of messages.
MAX_CHUNKS = 4


def escape(text: str) -> str:
    return html.escape(text, quote=False)


def _escaped_len(text: str) -> int:
    """Telegram counts UTF-16 code units; counting the escaped form over-estimates safely."""
    return len(escape(text).encode("utf-16-le")) // 2


def split_text(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """Raw text → pieces whose *escaped* length is ≤ limit, joined back they equal `text`.

    Cuts prefer paragraph breaks, then line breaks, then spaces; a run with none
    of those (a long URL, CJK text without spaces) is cut between characters.
    """
    if _escaped_len(text) <= limit:
        return [text] if text else []
    pieces: list[str] = []
    rest = text
    while rest:
        if _escaped_len(rest) <= limit:
            pieces.append(rest)
            break
        cut = _fit(rest, limit)
        window = rest[:cut]
        for sep in ("\n\n", "\n", "。", ". ", " "):
            at = window.rfind(sep)
            if at > 0:
                cut = at + len(sep)
                break
        pieces.append(rest[:cut])
        rest = rest[cut:]
    return pieces


def _fit(text: str, limit: int) -> int:
    """The longest prefix length whose escaped form fits in `limit` (at least 1)."""
    lo, hi = 1, len(text)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if _escaped_len(text[:mid]) <= limit:
            lo = mid
        else:
            hi = mid - 1
    return lo


def html_chunks(header_html: str, body: str, limit: int = TEXT_LIMIT) -> list[str]:
    """A header (already HTML) and a raw body → HTML messages, each ≤ limit."""
    sep = "\n\n" if header_html and body else ""
    first_room = limit - len(header_html) - len(sep)
    if _escaped_len(body) <= first_room:
        return [header_html + sep + escape(body)]
    chunks = [escape(p) for p in split_text(body, limit)]
    return [header_html, *chunks] if header_html else chunks


_UNSAFE = re.compile(r"[^\w\-]+", re.UNICODE)


def notes_filename(title: str, day: date | None = None, ext: str = "md") -> str:
    """`2025-03-01-线性代数笔记.md`: the date and the first heading, safe on every OS."""
    day = day or date.today()
    slug = _UNSAFE.sub("-", title.strip()).strip("-_")[:48].rstrip("-_")
    return f"{day.isoformat()}-{slug}.{ext}" if slug else f"{day.isoformat()}-notes.{ext}"


def first_heading(markdown: str) -> str:
    for line in markdown.splitlines():
        stripped = line.strip()
        if stripped.startswith("#"):
            return stripped.lstrip("#").strip()
    return ""


def preview(markdown: str, limit: int = 600) -> str:
    """The start of a document, cut at a paragraph or line boundary when possible."""
    text = markdown.strip()
    if len(text) <= limit:
        return text
    window = text[:limit]
    for sep in ("\n\n", "\n", " "):
        at = window.rfind(sep)
        if at > limit // 3:
            return window[:at].rstrip() + "\n…"
    return window + "…"


async def send_html(
    bot: Bot,
    chat_id: int,
    header_html: str,
    body: str = "",
    *,
    reply_to: int | None = None,
    reply_markup: InlineKeyboardMarkup | None = None,
    file_name: str = "text.txt",
    long_note_html: str = "",
) -> list[Message]:
    """Send header + body; split into several messages, or as a file when very long.

    The keyboard goes on the last message, where the user's eyes are. Secrets (and what
    looks like one) are redacted: model output is never trusted to leave them out.
    """
    header_html, body = redact(header_html), redact(body)
    chunks = html_chunks(header_html, body)
    if len(chunks) > MAX_CHUNKS:
        caption = "\n\n".join(p for p in (header_html, long_note_html) if p)
        msg = await send_document(
            bot,
            chat_id,
            body.encode("utf-8"),
            file_name,
            caption_html=caption,
            reply_to=reply_to,
            reply_markup=reply_markup,
        )
        return [msg]
    sent: list[Message] = []
    for i, chunk in enumerate(chunks):
        last = i == len(chunks) - 1
        sent.append(
            await bot.send_message(
                chat_id,
                chunk,
                parse_mode=ParseMode.HTML,
                reply_to_message_id=reply_to if i == 0 else None,
                reply_markup=reply_markup if last else None,
            )
        )
    return sent


async def send_document(
    bot: Bot,
    chat_id: int,
    data: bytes,
    file_name: str,
    *,
    caption_html: str = "",
    reply_to: int | None = None,
    reply_markup: InlineKeyboardMarkup | None = None,
) -> Message:
    caption_html = redact(caption_html)
    if file_name.endswith((".md", ".txt", ".csv")):
        data = redact(data.decode("utf-8", "replace")).encode("utf-8")
    caption = caption_html if len(caption_html) <= CAPTION_LIMIT else ""
    msg = await bot.send_document(
        chat_id,
        InputFile(BytesIO(data), filename=file_name),
        caption=caption or None,
        parse_mode=ParseMode.HTML if caption else None,
        reply_to_message_id=reply_to,
        reply_markup=reply_markup,
    )
    if caption_html and not caption:
        # A caption that does not fit goes in its own message(s) rather than being cut.
        await send_html(bot, chat_id, caption_html)
    return msg
