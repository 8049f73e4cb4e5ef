"""Running one job: download, call the pipeline, reply; errors become polite messages.

This is the only module that knows both the pipeline's results and Telegram's
messages; handlers only decide *what* to run and queue it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Message
from telegram.constants import ChatAction
from telegram.error import BadRequest, TelegramError

from ..i18n import INPUT_ERROR_KEYS
from ..jobs.types import Job
from ..pipeline import memory
from ..pipeline.errors import ConfigError, ImageError, ModelError
from ..pipeline.pdf import render_pdf_png
from ..pipeline.results import TaskResult
from . import replies
from .i18n import TASKS, t, too_big_text
from .jobs import chat_action
from .media import download
from .receipt_flow import read_receipt
from .services import ImageInput, Services

log = logging.getLogger(__name__)

IMAGE_ERROR_KEYS = INPUT_ERROR_KEYS


def task_buttons(lang: str, job_id: str, exclude: str | None = None) -> InlineKeyboardMarkup:
    """Run another task on the same photo(s): callback data `t:<job>:<task>` (≤ 64 bytes)."""
    row = [
        InlineKeyboardButton(t(lang, f"btn_{task}"), callback_data=f"t:{job_id}:{task}")
        for task in TASKS
        if task != exclude
    ]
    return InlineKeyboardMarkup([row[:2], row[2:]])


def retry_button(lang: str, job_id: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(t(lang, "btn_retry"), callback_data=f"r:{job_id}")]]
    )


@dataclass
class Inputs:
    """The decoded inputs of a job: one entry per photo, PDF pages flattened in order."""

    images: list[ImageInput] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)


async def load_inputs(services: Services, bot: Bot, job: Job, lang: str) -> Inputs:
    settings = services.settings
    limit = settings.telegram_max_download_bytes
    datas = await asyncio.gather(*(download(bot, ref, limit) for ref in job.media))
    inputs = Inputs()
    for ref, data in zip(job.media, datas, strict=True):
        if ref.kind == "pdf":
            pages, total = await asyncio.to_thread(
                render_pdf_png, data, max_pages=settings.pdf_max_pages
            )
            if total > len(pages):
                inputs.notices.append(t(lang, "pdf_truncated", total=total, n=len(pages)))
            inputs.images.extend(pages)
        else:
            inputs.images.append(data)
    return inputs


class Progress:
    """One status message edited as pages finish ("page 2/5"); created at the first report."""

    def __init__(self, bot: Bot, chat_id: int, lang: str, reply_to: int | None) -> None:
        self.bot, self.chat_id, self.lang, self.reply_to = bot, chat_id, lang, reply_to
        self.message: Message | None = None
        self._text = ""
        self._lock = asyncio.Lock()

    async def __call__(self, done: int, total: int) -> None:
        if total < 2:
            return
        text = t(self.lang, "progress", done=done, total=total)
        async with self._lock:
            if text == self._text:
                return
            self._text = text
            try:
                if self.message is None:
                    self.message = await self.bot.send_message(
                        self.chat_id, text, reply_to_message_id=self.reply_to
                    )
                else:
                    await self.message.edit_text(text)
            except BadRequest as exc:  # "message is not modified" and the like
                log.debug("progress edit skipped: %s", type(exc).__name__)

    async def finish(self, total: int) -> None:
        if self.message is not None:
            with contextlib.suppress(TelegramError):
                await self.message.edit_text(t(self.lang, "progress_done", n=total))


async def run_job(services: Services, bot: Bot, job: Job, lang: str) -> None:
    """Run `job` and answer in its chat. Model and input errors are answered here.

    A quiet job (a photo checked in auto mode) shows no "typing…" and answers only a
    result: most photos in a group are not receipts, and a failure there is logged.
    """
    if job.job_id is None:
        await services.store.add_job(job)
    assert job.job_id is not None
    action = ChatAction.UPLOAD_DOCUMENT if job.task == "notes" else ChatAction.TYPING
    try:
        if job.quiet:
            sent = await _run(services, bot, job, lang)
        else:
            async with chat_action(bot, job.chat_id, action):
                sent = await _run(services, bot, job, lang)
    except (ImageError, ConfigError, ModelError) as exc:
        if job.quiet:
            log.info("quiet job %s failed: %s (%s)", job.job_id, type(exc).__name__, exc.code)
            return
        await _answer_error(services, bot, job, lang, exc)
        return
    for message in sent:
        await services.store.link_message(job.chat_id, message.message_id, job.job_id)
    if services.settings.malloc_trim:  # the job's photos and pages are garbage now
        await memory.trim_async()


async def _answer_error(
    services: Services, bot: Bot, job: Job, lang: str, exc: ImageError | ConfigError | ModelError
) -> None:
    assert job.job_id is not None
    if isinstance(exc, ImageError):
        key = exc.code if exc.code in IMAGE_ERROR_KEYS else "image_invalid"
        if exc.code == "file_too_big":
            await _send_too_big(services, bot, job, lang, exc)
            return
        markup = retry_button(lang, job.job_id) if key == "download_failed" else None
        await replies.send_html(
            bot, job.chat_id, t(lang, key), reply_to=job.reply_to, reply_markup=markup
        )
        return
    if isinstance(exc, ConfigError):
        await replies.send_html(bot, job.chat_id, t(lang, "no_model"), reply_to=job.reply_to)
        return
    log.warning("model error in job %s: %s (%s)", job.job_id, type(exc).__name__, exc.code)
    text = (
        t(lang, "receipt_invalid")
        if exc.code == "receipt_invalid"
        else t(lang, "model_error", code=exc.code)
    )
    await replies.send_html(
        bot,
        job.chat_id,
        text,
        reply_to=job.reply_to,
        reply_markup=retry_button(lang, job.job_id),
    )


async def _send_too_big(services: Services, bot: Bot, job: Job, lang: str, exc: ImageError) -> None:
    size = exc.details.get("size")
    limit = services.settings.telegram_max_download_bytes
    text = too_big_text(lang, size if isinstance(size, int) else None, limit)
    await replies.send_html(bot, job.chat_id, text, reply_to=job.reply_to)


async def _run(services: Services, bot: Bot, job: Job, lang: str) -> list[Message]:
    assert job.job_id is not None
    pipeline = services.pipeline
    inputs = await load_inputs(services, bot, job, lang)
    notice = "\n".join(inputs.notices)
    chat, reply_to, job_id = job.chat_id, job.reply_to, job.job_id
    buttons = task_buttons(lang, job_id)

    if job.task == "receipt":
        return await read_receipt(services, bot, job, lang, inputs.images)

    if job.task == "notes":
        progress = Progress(bot, chat, lang, reply_to)
        result = await pipeline.notes(inputs.images, language=lang, progress=progress)
        await progress.finish(len(result.pages))
        title = result.title or replies.first_heading(result.markdown) or "notes"
        header = t(lang, "notes_caption", title=title)
        if result.failed_pages:
            header += "\n" + t(lang, "notes_failed", n=len(result.failed_pages))
        if notice:
            header += "\n" + notice
        sent = await replies.send_html(
            bot, chat, header, replies.preview(result.markdown), reply_to=reply_to
        )
        name = replies.notes_filename(replies.first_heading(result.markdown) or title)
        doc = await replies.send_document(
            bot,
            chat,
            result.markdown.encode("utf-8"),
            name,
            reply_markup=task_buttons(lang, job_id, exclude="notes"),
        )
        return [*sent, doc]

    if job.task == "classify":
        categories = job.categories or services.categories_for(
            (await services.store.user(job.user_id)).categories
        )
        results = await asyncio.gather(
            *(pipeline.classify(img, categories, language=lang) for img in inputs.images)
        )
        if len(results) == 1:
            header = t(lang, "category", category=results[0].category)
        else:
            header = "\n".join(
                t(lang, "category_line", n=i, category=r.category) for i, r in enumerate(results, 1)
            )
        return await replies.send_html(
            bot, chat, _join(header, notice), reply_to=reply_to, reply_markup=buttons
        )

    if job.task == "captcha":
        results = await asyncio.gather(
            *(pipeline.captcha(img, language=lang) for img in inputs.images)
        )
        header = "\n".join(t(lang, "captcha", text=r.text.strip() or "?") for r in results)
        notice = _join(_offline_note(services, results, lang), notice)
        return await replies.send_html(
            bot, chat, _join(header, notice), reply_to=reply_to, reply_markup=buttons
        )

    # ocr and ask: free text from the model, escaped and split by send_html.
    if job.task == "ask":
        question = job.question or ""
        calls = [pipeline.ask(img, question, language=lang) for img in inputs.images]
    else:
        calls = [pipeline.ocr(img, language=lang) for img in inputs.images]
    texts = await asyncio.gather(*calls)
    notice = _join(_offline_note(services, texts, lang), notice)
    parts = [r.text.strip() for r in texts]
    if len(parts) == 1:
        body = parts[0]
    else:
        body = "\n\n".join(f"[{i}]\n{p}" for i, p in enumerate(parts, 1))
    header = notice
    if not body.strip():
        header = _join(t(lang, "empty_result"), notice)
    return await replies.send_html(
        bot,
        chat,
        header,
        body,
        reply_to=reply_to,
        reply_markup=buttons,
        file_name=f"{job.task}-{job_id}.txt",
        long_note_html=t(lang, "long_as_file"),
    )


def _offline_note(services: Services, results: Sequence[TaskResult], lang: str) -> str:
    """Say so when the model failed and the offline engine answered instead."""
    fell_back = not services.settings.uses_local_ocr and any(r.engine == "local" for r in results)
    return t(lang, "read_offline") if fell_back else ""


def _join(*parts: str) -> str:
    return "\n".join(p for p in parts if p)
