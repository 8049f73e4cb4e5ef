"""What the user sent: which file, what kind, how big; and fetching it from Telegram.

Sizes are checked from the update before anything is downloaded. File URLs hold
the bot token, so they are never logged or shown; only file ids are stored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePosixPath

from telegram import Bot, Message, MessageEntity
from telegram.error import BadRequest, TelegramError

from ..jobs.types import MediaRef
from ..pipeline.errors import ImageError
from ..pipeline.images import IMAGE_SUFFIXES


@dataclass
class Unsupported:
    """A document that is neither an image nor a PDF."""

    name: str


def media_ref(message: Message) -> MediaRef | Unsupported | None:
    """The readable file in a message (largest photo size, image or PDF document)."""
    if message.photo:
        best = message.photo[-1]
        return MediaRef(
            best.file_id, "photo", best.file_size, None, message.message_id, best.file_unique_id
        )
    doc = message.document
    if doc is None:
        return None
    mime = (doc.mime_type or "").lower()
    suffix = PurePosixPath(doc.file_name or "").suffix.lower()
    name = doc.file_name or mime or "file"
    if mime == "application/pdf" or suffix == ".pdf":
        kind = "pdf"
    elif mime.startswith("image/") or suffix in IMAGE_SUFFIXES:
        kind = "image"
    else:
        return Unsupported(name)
    return MediaRef(
        doc.file_id, kind, doc.file_size, doc.file_name, message.message_id, doc.file_unique_id
    )


def too_big(ref: MediaRef, limit: int) -> bool:
    return ref.size is not None and ref.size > limit


async def download(bot: Bot, ref: MediaRef, limit: int) -> bytes:
    """The file's bytes, refusing before the download when Telegram says it is too big."""
    if too_big(ref, limit):
        raise ImageError("file too big", code="file_too_big", size=ref.size)
    try:
        file = await bot.get_file(ref.file_id)
    except BadRequest as exc:
        if "too big" in str(exc).lower():
            raise ImageError("file too big", code="file_too_big", size=ref.size) from None
        raise ImageError("download failed", code="download_failed") from None
    except TelegramError:
        raise ImageError("download failed", code="download_failed") from None
    if file.file_size is not None and file.file_size > limit:
        raise ImageError("file too big", code="file_too_big", size=file.file_size)
    try:
        data = bytes(await file.download_as_bytearray())
    except TelegramError:
        # `from None`: the chained error would carry the file URL, which holds the token.
        raise ImageError("download failed", code="download_failed") from None
    if not data:
        raise ImageError("The file is empty.", code="image_empty")
    return data


# --- reading commands, captions and mentions -------------------------------

COMMAND = re.compile(
    r"^/(?P<cmd>[A-Za-z0-9_]{1,32})(?:@(?P<bot>[A-Za-z0-9_]+))?(?:\s+|$)(?P<arg>.*)", re.S
)
QUESTION_START = re.compile(
    r"^(what|what's|whats|how|why|who|which|where|when|is|are|can|could|does|do|did|should|"
    r"would|will|please|explain|translate|summari[sz]e|tell|list|describe|"
    r"请|怎么|怎样|如何|什么|为什么|为何|哪|谁|是否|能否|能不能|可以|帮我|翻译|解释|总结|这)",
    re.I,
)


@dataclass
class Command:
    name: str
    arg: str
    for_us: bool  # False when addressed to another bot (/cmd@other_bot)


def parse_command(text: str | None, bot_username: str | None) -> Command | None:
    if not text:
        return None
    m = COMMAND.match(text.strip())
    if not m:
        return None
    target = m.group("bot")
    for_us = target is None or (bot_username or "").lower() == target.lower()
    return Command(m.group("cmd").lower(), m.group("arg").strip(), for_us)


def mentions(message: Message, bot_username: str | None, bot_id: int) -> bool:
    """Whether the text or caption mentions this bot (@username or a text mention)."""
    types: list[str | None] = [MessageEntity.MENTION, MessageEntity.TEXT_MENTION]
    found = {**message.parse_entities(types), **message.parse_caption_entities(types)}
    handle = f"@{bot_username}".lower() if bot_username else None
    for entity, text in found.items():
        if entity.type == MessageEntity.TEXT_MENTION and entity.user and entity.user.id == bot_id:
            return True
        if handle and text.lower() == handle:
            return True
    return False


def strip_mention(text: str, bot_username: str | None) -> str:
    if not bot_username:
        return text.strip()
    return re.sub(rf"@{re.escape(bot_username)}\b", " ", text, flags=re.I).strip()


def looks_like_question(text: str) -> bool:
    """A caption counts as a question when it asks one; plain labels run the default mode."""
    text = text.strip()
    if not text:
        return False
    return (
        text.endswith(("?", "？", "吗", "呢"))
        or "?" in text
        or "？" in text
        or bool(QUESTION_START.match(text))
    )


RECEIPT_HASHTAG = re.compile(
    r"(?:^|\s)#(?:receipts?|小票|发票|收据)(?=$|[\s,.;:!?，。；：！？])", re.I
)
RECEIPT_WORDS = re.compile(r"#?(?:receipts?|小票|发票|收据|账单)", re.I)


def is_receipt_caption(message: Message, bot_username: str | None, bot_id: int) -> bool:
    """`/receipt`, `#receipt`, or a mention of us that asks for nothing else.

    `@bot` alone (in a group) or `@bot receipt` / `@bot 小票` means "read this receipt";
    `@bot what is this?` stays a question, `@bot Lecture 3` stays the default mode.
    """
    caption = message.caption or ""
    return asks_for_receipt(
        caption,
        parse_command(caption, bot_username),
        mentions(message, bot_username, bot_id),
        bot_username,
        private=message.chat.type == "private",
    )


def asks_for_receipt(
    caption: str,
    command: Command | None,
    mentioned: bool,
    bot_username: str | None,
    *,
    private: bool,
) -> bool:
    """`is_receipt_caption` over a caption whose command and mentions are already parsed."""
    if command is not None:
        return command.for_us and command.name == "receipt"
    if RECEIPT_HASHTAG.search(caption):
        return True
    if not mentioned:
        return False
    rest = strip_mention(caption, bot_username).strip(" \t\n.,;:!，。；：！")
    if not rest:
        return not private
    return RECEIPT_WORDS.fullmatch(rest) is not None
