"""The buttons under answers: `t:<job>:<task>` runs another task on a job's photos,
`r:<job>` retries a job. A press acts only for the job's owner (or an admin of the
job's chat) and only in the job's chat: callback data can be replayed by anyone.
"""

from __future__ import annotations

import contextlib

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import CallbackQueryHandler

from ...i18n import N_
from ...jobs.types import Job
from ...pipeline.registry import modes
from ...store.schema import JOB_ID_LENGTH
from ..common import alert, lang_of
from ..context import BotApp, CustomContext
from ..dispatch import submit
from ..i18n import plain, t

JOB_ID = rf"[A-Za-z0-9_-]{{1,{JOB_ID_LENGTH}}}"
TASK_PATTERN = rf"^t:({JOB_ID}):([a-z_]{{1,24}})$"
RETRY_PATTERN = rf"^r:({JOB_ID})$"


async def may_act(ctx: CustomContext, job: Job, user_id: int, chat_id: int | None) -> bool:
    """The press is in the job's chat, by its owner or by an admin of that chat (which
    covers a group's anonymous admins, whose presses come from their own accounts)."""
    if chat_id is not None and chat_id != job.chat_id:
        return False
    if user_id == job.user_id:
        return True
    return await ctx.services.admins.is_admin(ctx.bot, job.chat_id, user_id)


async def on_job_button(update: Update, ctx: CustomContext) -> None:
    query = update.callback_query
    if query is None or not ctx.matches:
        return
    s = ctx.services
    user = query.from_user
    match = ctx.matches[0]
    job_id = match.group(1)
    task = match.group(2) if match.re.pattern == TASK_PATTERN else None
    lang = await lang_of(s, user.id, user)
    if task is not None and task not in modes():
        await query.answer()
        return
    original = await s.store.job(job_id)
    chat_id = query.message.chat.id if query.message is not None else None
    if original is None:
        await query.answer()
        if chat_id is not None:
            await ctx.bot.send_message(chat_id, t(lang, "gone"))
        return
    if not await may_act(ctx, original, user.id, chat_id):
        await alert(query, lang, N_("cb_not_your_job"))
        return
    if wait := await s.throttle(user.id):
        n, seconds = s.settings.user_jobs_per_minute, int(wait) + 1
        await alert(query, lang, N_("rate_limited"), n=n, seconds=seconds)
        return
    if task is None:  # retry: the same job again; drop the Retry button
        job = original
        if query.message is not None:
            with contextlib.suppress(TelegramError):
                await ctx.bot.edit_message_reply_markup(
                    original.chat_id, query.message.message_id, reply_markup=None
                )
    else:
        job = Job(original.user_id, original.chat_id, task, original.media)
    job.reply_to = original.media[0].message_id if original.media else None
    job.lang = lang
    submit(ctx, original.user_id, job)
    await query.answer(plain(lang, "cb_working"))


async def on_unknown_button(update: Update, ctx: CustomContext) -> None:
    """Data no button of ours carries (old, forged, cut short): answered quietly."""
    if update.callback_query is not None:
        await update.callback_query.answer()


def add_button_handlers(app: BotApp) -> None:
    app.add_handler(CallbackQueryHandler(on_job_button, pattern=TASK_PATTERN))
    app.add_handler(CallbackQueryHandler(on_job_button, pattern=RETRY_PATTERN))
