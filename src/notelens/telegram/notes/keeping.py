"""Every notes result the bot sends is kept in its owner's archive: a person's in a
private chat, the group's in a group (`archive.telegram_owner`)."""

from __future__ import annotations

import logging

from ...archive import Source, keep_result, telegram_owner
from ...jobs.types import Job
from ...pipeline.context import Context
from ...pipeline.results import NotesResult
from ..context import Services
from ..errors import redact

log = logging.getLogger(__name__)


def job_owner(job: Job) -> str:
    """Telegram gives people positive chat ids and groups negative ones."""
    return telegram_owner(job.chat_id, job.user_id, private=job.chat_id > 0)


async def keep_notes(services: Services, job: Job, result: NotesResult) -> None:
    """File the notes under the owner's categories; never fails the reply it follows."""
    ctx = getattr(services.pipeline, "ctx", None)
    if not isinstance(ctx, Context):
        log.warning("notes not archived: the pipeline has no model context")
        return
    owner = job_owner(job)
    try:
        prefs = await services.store.user(job.user_id if job.chat_id > 0 else job.chat_id)
        filed = await keep_result(
            services.archive,
            ctx,
            owner,
            result,
            source=Source("telegram", chat_id=job.chat_id, message_id=job.reply_to),
            categories=services.categories_for(prefs.categories),
            language=job.lang,
        )
    except Exception as exc:  # the notes were sent; keeping them is worth a log line
        log.error("notes of job %s not archived: %s", job.job_id, redact(str(exc)))
        return
    for warning in filed.warnings:
        log.info("archiving job %s: %s", job.job_id, redact(warning))
