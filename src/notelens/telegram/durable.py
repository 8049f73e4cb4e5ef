"""Telegram jobs as durable workflows (`notelens.jobs`): stored before Telegram is told
the update was received, resumed after a crash or a deploy, shared by many processes.

A notes job is read page by page, each page a checkpointed step, and answered by
`deliver_notes`; every other job runs through the bot's own runner as one step (its
answers depend on the ledger, the user's categories and the like). An album's items are
gathered by the job of its first item, whichever process each item reached, then offered
to the album takers (`settle`).
"""

from __future__ import annotations

import contextlib
import logging
from typing import TYPE_CHECKING

from telegram import Bot, Update
from telegram.constants import ChatAction
from telegram.error import TelegramError

from ..i18n import INPUT_ERROR_KEYS, t
from ..jobs.types import Job, MediaRef
from ..pipeline.errors import ImageError, ModelError
from ..pipeline.results import NotesResult
from ..pipeline.service import Pipeline
from ..store.api_jobs import ApiJobStore
from .media import download
from .runner import Progress, answer_error, run_job

if TYPE_CHECKING:
    from ..jobs import JobEngine, JobOutcome
    from .context import BotApp, Services

log = logging.getLogger(__name__)


class BotMedia:
    """Telegram file ids, downloaded within Telegram's limits (errors never carry the URL,
    which holds the token)."""

    def __init__(self, bot: Bot, limit: int) -> None:
        self.bot, self.limit = bot, limit

    async def fetch(self, ref: MediaRef) -> bytes:
        return await download(self.bot, ref, self.limit)


def make_engine(app: BotApp, services: Services) -> JobEngine:
    from ..jobs import JobEngine

    bot = app.bot

    async def run(job: Job) -> None:
        try:
            await run_job(services, bot, job)
        except Exception as exc:  # a bug: log it (scrubbed) and tell the user, once
            log.error("unexpected error in job %s", job.job_id, exc_info=exc)
            with contextlib.suppress(TelegramError):
                await bot.send_message(job.chat_id, t(job.lang, "internal_error"))

    shown: dict[str, Progress] = {}

    async def show(job: Job, stage: str, done: int, total: int) -> None:
        if stage == "start" and not job.quiet:
            await bot.send_chat_action(job.chat_id, ChatAction.UPLOAD_DOCUMENT)
        if stage == "ocr" and job.job_id is not None:
            progress = shown.setdefault(
                job.job_id, Progress(bot, job.chat_id, job.lang, job.reply_to)
            )
            await progress(done, total)

    async def deliver(job: Job, outcome: JobOutcome) -> None:
        progress = shown.pop(job.job_id or "", None)
        if progress is not None and outcome.results:
            await progress.finish(len(outcome.results[0].pages))
        await deliver_notes(services, bot, job, outcome)

    async def settle_items(items: list[Job]) -> list[Job]:
        return await settle(app, items)

    pipeline = services.pipeline if isinstance(services.pipeline, Pipeline) else None
    return JobEngine(
        services.settings,
        media=BotMedia(bot, services.settings.telegram_max_download_bytes),
        deliver=deliver,
        run=run,
        show=show,
        settle=settle_items,
        pipeline=pipeline,
        # The HTTP API's jobs share the queue's workers: any process may run them.
        api=ApiJobStore(services.store.engine),
    )


async def deliver_notes(services: Services, bot: Bot, job: Job, outcome: JobOutcome) -> None:
    """The notes document, or a polite failure with Retry; the messages are linked to the
    job so replies to them find the photos."""
    from .tasks.presenters import send_notes

    assert job.job_id is not None
    if not outcome.ok or not outcome.results:
        code = outcome.error_code or "notes"
        error = outcome.error or "failed"
        exc = (
            ImageError(error, code=code)
            if code in INPUT_ERROR_KEYS or code == "file_too_big"
            else ModelError(error, code=code)
        )
        await answer_error(services, bot, job, exc)
        return
    [result] = outcome.results
    assert isinstance(result, NotesResult)
    sent = await send_notes(services, bot, job, result, [])
    for message in sent:
        await services.store.link_message(job.chat_id, message.message_id, job.job_id)


async def enqueue_album_item(
    services: Services, key: int, album_key: str, update_id: int, item: Job
) -> None:
    """One album item, to the job gathering its album (in whichever process it runs)."""
    from ..jobs import telegram_job_id

    assert services.jobs is not None
    await services.jobs.submit_album(
        album_key, telegram_job_id(update_id), item, partition_key=str(key)
    )


async def settle(app: BotApp, items: list[Job]) -> list[Job]:
    """A gathered album, offered to the features' album takers as the in-memory path does:
    each item carries its update, read again here into the intent the gate made of it."""
    from .context import CustomContext
    from .intake import settle_album
    from .intent import parse

    bot = app.bot
    updates = [Update.de_json((item.meta or {})["update"], bot) for item in items]
    intents = [i for u in updates if (i := parse(u, bot.id, bot.username)) is not None]
    if not intents:
        return []
    ctx = CustomContext.from_update(updates[0], app)
    ctx.current_update = updates[0]
    jobs = await settle_album(ctx, intents)
    services = ctx.services
    for job in jobs:
        if job.job_id is None:
            job.job_id = await services.store.add_job(job)
        job.meta = {**(job.meta or {}), "language": job.lang}
    return jobs


async def enqueue(services: Services, key: int, update_id: int, jobs: list[Job]) -> None:
    """Store the jobs (ids for buttons) and enqueue one workflow each, in `key`'s order."""
    from ..jobs import telegram_job_id

    assert services.jobs is not None
    for i, job in enumerate(jobs):
        if job.job_id is None:
            job.job_id = await services.store.add_job(job)
        job.meta = {**(job.meta or {}), "language": job.lang}
        workflow_id = telegram_job_id(update_id) + (f"-{i:02d}" if len(jobs) > 1 else "")
        await services.jobs.submit(workflow_id, job, partition_key=str(key))
