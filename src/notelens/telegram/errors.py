"""Errors never stop the bot, never reach the user raw, and never log a secret.

PTB puts the token in file URLs and in some exception messages (InvalidToken),
and httpx logs request URLs: a log-record factory scrubs every registered secret
from messages and tracebacks before any handler or formatter sees them.
"""

from __future__ import annotations

import contextlib
import logging
import re
import threading
import traceback
from typing import Any

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import Application, ContextTypes

from .i18n import lang_from_code, t

log = logging.getLogger(__name__)

_SECRETS: set[str] = set()
_LOCK = threading.Lock()
_INSTALLED = False
REDACTED = "[REDACTED]"


# Strings that look like credentials whoever they belong to (a model may read one off a
# photo or echo one from its context): never sent to a chat, never logged.
SECRET_LOOKING = re.compile(
    r"\b(?:sk-[A-Za-z0-9_-]{16,}"  # OpenAI-compatible keys (OpenAI, DashScope, DeepSeek …)
    r"|\d{6,12}:AA[A-Za-z0-9_-]{30,}"  # Telegram bot tokens
    r"|AKIA[0-9A-Z]{16}"  # AWS access key ids
    r"|AIza[0-9A-Za-z_-]{35}"  # Google API keys
    r"|gh[pousr]_[A-Za-z0-9]{36,}"  # GitHub tokens
    r"|xox[abprs]-[A-Za-z0-9-]{10,})"  # Slack tokens
)


def redact(text: str) -> str:
    """`text` without the registered secrets (token, keys) and secret-looking strings."""
    for secret in _SECRETS:
        if secret and secret in text:
            text = text.replace(secret, REDACTED)
    return SECRET_LOOKING.sub(REDACTED, text)


def install_redaction(*secrets: str | None) -> None:
    """Register secrets and (once per process) wrap the log-record factory to scrub them."""
    global _INSTALLED
    with _LOCK:
        _SECRETS.update(s for s in secrets if s and len(s) >= 6)
        if _INSTALLED:
            return
        _INSTALLED = True
        previous = logging.getLogRecordFactory()

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = previous(*args, **kwargs)
            if not _SECRETS:
                return record
            try:
                message = record.getMessage()
            except Exception:
                return record
            clean = redact(message)
            if clean != message:
                record.msg, record.args = clean, None
            if record.exc_info and record.exc_info[1] is not None:
                text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
                record.exc_text = redact(text)
            return record

        logging.setLogRecordFactory(factory)


def quiet_noisy_loggers() -> None:
    """httpx logs every request URL at INFO, and Bot API URLs contain the token."""
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)


def describe(update: object) -> str:
    """Where an error happened, without message text or files (privacy)."""
    if isinstance(update, Update):
        chat = update.effective_chat
        user = update.effective_user
        return (
            f"update {update.update_id} chat={chat.id if chat else None} "
            f"user={user.id if user else None}"
        )
    return type(update).__name__


async def report(
    application: Application[Any, Any, Any, Any, Any, Any], update: object, exc: BaseException
) -> None:
    """Log an unexpected error (scrubbed) and tell the user something went wrong."""
    log.error(
        "unexpected error handling %s: %s",
        describe(update),
        type(exc).__name__,
        exc_info=(type(exc), exc, exc.__traceback__),
    )
    if not isinstance(update, Update) or update.effective_chat is None:
        return
    if update.callback_query is not None:
        with contextlib.suppress(TelegramError):
            await update.callback_query.answer()
    user = update.effective_user
    lang = lang_from_code(user.language_code if user else None)
    store = application.bot_data.get("services")
    if store is not None and user is not None:
        with contextlib.suppress(Exception):
            prefs = await store.store.user(user.id)
            lang = prefs.lang or lang
    with contextlib.suppress(TelegramError):
        await application.bot.send_message(update.effective_chat.id, t(lang, "internal_error"))


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """PTB's error handler: for errors raised in handlers and in `application.create_task`."""
    if context.error is None:
        return
    await report(context.application, update, context.error)
