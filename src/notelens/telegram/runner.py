"""Running one job: download, run its task's presenter, reply; errors become polite
messages.

Handlers only decide *what* to run and hand it to `dispatch`. How each task is
answered is registered by its feature (`@present("notes")`); a task without a
presenter is answered as text, so a new pipeline task works in the bot unchanged.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Message
from telegram.constants import ChatAction
from telegram.error import BadRequest, TelegramError

from ..i18n import INPUT_ERROR_KEYS
from ..jobs.types import Job
from ..pipeline import memory
from ..pipeline.context import ImageInput
from ..pipeline.errors import ConfigError, ImageError, ModelError
from ..pipeline.pdf import render_pdf_png
from ..pipeline.registry import Options, modes
from ..pipeline.results import TaskResult
from . import replies
from .context import Services
from .i18n import t, too_big_text
from .media import download
from .scheduling import chat_action

log = logging.getLogger(__name__)

IMAGE_ERROR_KEYS = INPUT_ERROR_KEYS


def task_label(lang: str, task: str) -> str:
    """A task's button label from the catalogue; a task without one is shown by name."""
    key = f"btn_{task}"
    try:
        label = t(lang, key)
    except KeyError:
        return task
    return task if label == key else label


def task_buttons(lang: str, job_id: str, exclude: str | None = None) -> InlineKeyboardMarkup:
    """Run another task on the same photo(s): callback data `t:<job>:<task>` (≤ 64 bytes)."""
    row = [
        InlineKeyboardButton(task_label(lang, task), callback_data=f"t:{job_id}:{task}")
        for task in modes()
        if task != exclude
    ]
    return InlineKeyboardMarkup([row[i : i + 2] for i in range(0, len(row), 2)])


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


# A task's way from inputs to messages: run it through the pipeline and answer. Features
# register theirs (notes, classify, captcha, receipt); others answer as text.
Present = Callable[[Services, Bot, Job, Inputs], Awaitable[list[Message]]]
PRESENTERS: dict[str, Present] = {}


def present(task: str) -> Callable[[Present], Present]:
    """Register how the bot answers `task` (a decorator)."""

    def register(fn: Present) -> Present:
        PRESENTERS[task] = fn
        return fn

    return register


def options(job: Job, **extra: Any) -> Options:
    """The job's options for the pipeline; `extra` adds or overrides (progress, categories)."""
    values: dict[str, Any] = {
        "language": job.lang,
        "question": job.question,
        "categories": job.categories,
    }
    return Options(**(values | extra))


async def run_job(services: Services, bot: Bot, job: Job) -> None:
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
            sent = await _run(services, bot, job)
        else:
            async with chat_action(bot, job.chat_id, action):
                sent = await _run(services, bot, job)
    except (ImageError, ConfigError, ModelError) as exc:
        if job.quiet:
            log.info("quiet job %s failed: %s (%s)", job.job_id, type(exc).__name__, exc.code)
            return
        await answer_error(services, bot, job, exc)
        return
    for message in sent:
        await services.store.link_message(job.chat_id, message.message_id, job.job_id)
    if services.settings.malloc_trim:  # the job's photos and pages are garbage now
        await memory.trim_async()


async def _run(services: Services, bot: Bot, job: Job) -> list[Message]:
    inputs = await load_inputs(services, bot, job, job.lang)
    return await PRESENTERS.get(job.task, present_text)(services, bot, job, inputs)


async def answer_error(
    services: Services, bot: Bot, job: Job, exc: ImageError | ConfigError | ModelError
) -> None:
    assert job.job_id is not None
    lang = job.lang
    if isinstance(exc, ImageError):
        key = exc.code if exc.code in IMAGE_ERROR_KEYS else "image_invalid"
        if exc.code == "file_too_big":
            size = exc.details.get("size")
            limit = services.settings.telegram_max_download_bytes
            text = too_big_text(lang, size if isinstance(size, int) else None, limit)
            await replies.send_html(bot, job.chat_id, text, reply_to=job.reply_to)
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


async def present_text(services: Services, bot: Bot, job: Job, inputs: Inputs) -> list[Message]:
    """Free text from the model (ocr, ask and any task without a presenter of its own),
    escaped and split by send_html; one section per photo."""
    assert job.job_id is not None
    lang = job.lang
    results = await services.pipeline.run(job.task, inputs.images, options(job))
    notice = join_lines(offline_note(services, results, lang), *inputs.notices)
    parts = [r.text.strip() for r in results]
    if len(parts) == 1:
        body = parts[0]
    else:
        body = "\n\n".join(f"[{i}]\n{p}" for i, p in enumerate(parts, 1))
    header = notice
    if not body.strip():
        header = join_lines(t(lang, "empty_result"), notice)
    return await replies.send_html(
        bot,
        job.chat_id,
        header,
        body,
        reply_to=job.reply_to,
        reply_markup=task_buttons(lang, job.job_id),
        file_name=f"{job.task}-{job.job_id}.txt",
        long_note_html=t(lang, "long_as_file"),
    )


def offline_note(services: Services, results: Sequence[TaskResult], lang: str) -> str:
    """Say so when the model failed and the offline engine answered instead."""
    fell_back = not services.settings.uses_local_ocr and any(r.engine == "local" for r in results)
    return t(lang, "read_offline") if fell_back else ""


def join_lines(*parts: str) -> str:
    return "\n".join(p for p in parts if p)
