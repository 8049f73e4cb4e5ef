"""How the bot answers the tasks whose answer is more than text: notes (a document),
classify (a category per photo) and captcha (the code per photo)."""

from __future__ import annotations

from telegram import Bot, Message

from ...jobs.types import Job
from ...pipeline.results import ClassifyResult, NotesResult
from .. import replies
from ..context import Services
from ..i18n import t
from ..notes.keeping import keep_notes
from ..runner import Inputs, Progress, join_lines, offline_note, options, present, task_buttons


@present("notes")
async def notes(services: Services, bot: Bot, job: Job, inputs: Inputs) -> list[Message]:
    progress = Progress(bot, job.chat_id, job.lang, job.reply_to)
    [result] = await services.pipeline.run("notes", inputs.images, options(job, progress=progress))
    assert isinstance(result, NotesResult)
    await progress.finish(len(result.pages))
    return await send_notes(services, bot, job, result, inputs.notices)


async def send_notes(
    services: Services, bot: Bot, job: Job, result: NotesResult, notices: list[str]
) -> list[Message]:
    """A short preview, then the Markdown document with buttons for the other tasks; the
    notes are then kept in the owner's archive (a failure there is logged, never replied)."""
    assert job.job_id is not None
    lang = job.lang
    title = result.title or replies.first_heading(result.markdown) or "notes"
    header = t(lang, "notes_caption", title=title)
    if result.failed_pages:
        header += "\n" + t(lang, "notes_failed", n=len(result.failed_pages))
    header = join_lines(header, *notices)
    sent = await replies.send_html(
        bot, job.chat_id, header, replies.preview(result.markdown), reply_to=job.reply_to
    )
    name = replies.notes_filename(replies.first_heading(result.markdown) or title)
    doc = await replies.send_document(
        bot,
        job.chat_id,
        result.markdown.encode("utf-8"),
        name,
        reply_markup=task_buttons(lang, job.job_id, exclude="notes"),
    )
    await keep_notes(services, job, result)
    return [*sent, doc]


@present("classify")
async def classify(services: Services, bot: Bot, job: Job, inputs: Inputs) -> list[Message]:
    assert job.job_id is not None
    lang = job.lang
    categories = job.categories or services.categories_for(
        (await services.store.user(job.user_id)).categories
    )
    results = await services.pipeline.run(
        "classify", inputs.images, options(job, categories=categories)
    )
    found = [r.category if isinstance(r, ClassifyResult) else r.text for r in results]
    if len(found) == 1:
        header = t(lang, "category", category=found[0])
    else:
        header = "\n".join(
            t(lang, "category_line", n=i, category=c) for i, c in enumerate(found, 1)
        )
    return await replies.send_html(
        bot,
        job.chat_id,
        join_lines(header, *inputs.notices),
        reply_to=job.reply_to,
        reply_markup=task_buttons(lang, job.job_id),
    )


@present("captcha")
async def captcha(services: Services, bot: Bot, job: Job, inputs: Inputs) -> list[Message]:
    assert job.job_id is not None
    lang = job.lang
    results = await services.pipeline.run("captcha", inputs.images, options(job))
    header = "\n".join(t(lang, "captcha", text=r.text.strip() or "?") for r in results)
    notice = join_lines(offline_note(services, results, lang), *inputs.notices)
    return await replies.send_html(
        bot,
        job.chat_id,
        join_lines(header, notice),
        reply_to=job.reply_to,
        reply_markup=task_buttons(lang, job.job_id),
    )
