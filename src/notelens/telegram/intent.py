"""An update read once: who acts, where, which task, which file, which options.

The gate builds one `Intent` per update and every handler reads it from the context,
so a captioned photo's commands, mentions and file are parsed exactly once.

Who: admins who post as the group arrive from Telegram's stand-in account
GroupAnonymousBot with `sender_chat` set to the group. They share one identity, the
group's: their receipts, lane and rate limit are the group's. A button they press
arrives from their real account, so a press is always its presser's.
"""

from __future__ import annotations

from dataclasses import dataclass

from telegram import Chat, Message, Update, User
from telegram.constants import ChatID, ChatType

from ..config import split_names
from ..jobs.types import MediaRef
from ..pipeline.registry import TASKS
from .media import (
    Command,
    Unsupported,
    asks_for_receipt,
    looks_like_question,
    media_ref,
    mentions,
    parse_command,
    strip_mention,
)


@dataclass(frozen=True)
class Who:
    """The account that sent or pressed, and whose data its action is about."""

    user: User
    key: int  # the person's id, or the group's for its anonymous admins
    name: str

    @property
    def anonymous(self) -> bool:
        return self.key != self.user.id


def display_name(user: User) -> str:
    return user.full_name or (f"@{user.username}" if user.username else str(user.id))


def who_sent(message: Message, fallback: User) -> Who:
    """The identity behind a message: the group for its anonymous admins, else the sender."""
    sender = message.from_user or fallback
    group = message.sender_chat
    if sender.id == ChatID.ANONYMOUS_ADMIN and group is not None and group.id == message.chat.id:
        return Who(sender, group.id, group.title or str(group.id))
    return Who(sender, sender.id, display_name(sender))


def from_other_bot(user: User) -> bool:
    """Other bots are not served; GroupAnonymousBot is, as it speaks for an admin."""
    return user.is_bot and user.id != ChatID.ANONYMOUS_ADMIN


@dataclass(frozen=True)
class Intent:
    who: Who
    chat: Chat
    message: Message
    text: str  # the text or caption
    command: Command | None  # a command for us (never one for another bot)
    foreign_command: bool  # `/cmd@other_bot`: not ours to answer
    addressed: bool  # a command for us, a mention of us, or a reply to us
    media: MediaRef | Unsupported | None
    album: str | None  # media_group_id
    receipt: bool  # the caption asks for a receipt reading
    task: str | None  # an explicit task (caption command, /command, or a question)
    question: str | None
    categories: list[str] | None

    @property
    def private(self) -> bool:
        return self.chat.type == ChatType.PRIVATE


def _task_of(
    command: Command | None, text: str, bot_username: str | None
) -> tuple[str | None, str | None, list[str] | None]:
    """(task or None for the default mode, question, categories)."""
    if command is not None:
        spec = TASKS.get(command.name)
        if spec is None or command.name == "receipt":
            return None, None, None
        if spec.needs_question:
            return command.name, command.arg or None, None
        cats = split_names(command.arg) if command.name == "classify" else []
        return command.name, None, cats or None
    question = strip_mention(text, bot_username)
    if looks_like_question(question):
        return "ask", question, None
    return None, None, None


def parse(update: Update, bot_id: int, bot_username: str | None) -> Intent | None:
    """The intent of a new message, or None when it is not a message from a person."""
    message, user, chat = update.message, update.effective_user, update.effective_chat
    if message is None or user is None or chat is None:
        return None
    text = message.text or message.caption or ""
    parsed = parse_command(text, bot_username)
    command = parsed if parsed is not None and parsed.for_us else None
    reply = message.reply_to_message
    to_us = bool(reply and reply.from_user and reply.from_user.id == bot_id)
    mentioned = mentions(message, bot_username, bot_id)
    addressed = command is not None or to_us or mentioned
    has_file = bool(message.photo or message.document)
    task, question, categories = _task_of(command, text, bot_username)
    return Intent(
        who=who_sent(message, user),
        chat=chat,
        message=message,
        text=text,
        command=command,
        foreign_command=parsed is not None and not parsed.for_us,
        addressed=addressed,
        media=media_ref(message),
        album=message.media_group_id,
        receipt=has_file
        and message.caption is not None
        and asks_for_receipt(
            message.caption, parsed, mentioned, bot_username, private=chat.type == "private"
        ),
        task=task,
        question=question,
        categories=categories,
    )
