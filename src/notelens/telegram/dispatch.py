"""The one seam through which handlers hand work over: handlers never know how jobs run.

Today both calls are backed by the in-memory lanes (one FIFO per identity) and
`runner.run_job`; a durable backend replaces the bodies of these two functions.

Both must be called synchronously, before the handler's first `await`: PTB starts
update tasks in update order, so queueing before any await keeps each person's
messages answered in the order they were sent.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from telegram import Update

from ..jobs.types import Job
from .context import CustomContext
from .durable import enqueue
from .errors import report
from .runner import run_job

# Work that first looks something up (the photo a reply points at, a whole album) and
# then yields the jobs to run: none when it answered by itself, several for an album of
# receipts.
Prepare = Callable[[], Awaitable[list[Job]]]
Step = Callable[[], Awaitable[None]]


def submit(ctx: CustomContext, key: int, job: Job | Prepare) -> None:
    """Run `job` (with `job.lang` set) after everything already handed over for `key`;
    `key` is the identity the job is for (a person, or a group for its anonymous admins).

    With durable jobs (the default) a job is enqueued as a workflow before the update is
    confirmed to Telegram; a `Prepare` (an album being gathered, a reply's lookup) first
    runs in order on the lane, then enqueues what it found.
    """
    services = ctx.services
    update = ctx.current_update
    update_id = update.update_id if isinstance(update, Update) else 0
    if services.jobs is not None:
        if isinstance(job, Job):
            services.intake.add(update_id, enqueue(services, key, update_id, [job]))
            return
        prepare = job

        async def later() -> None:
            await enqueue(services, key, update_id, await prepare())

        in_order(ctx, key, later)
        return

    async def work() -> None:
        for ready in [job] if isinstance(job, Job) else await job():
            await run_job(services, ctx.bot, ready)

    in_order(ctx, key, work)


def in_order(ctx: CustomContext, key: int, step: Step) -> None:
    """A small step (an answer to a command, a hint) in the same order as `key`'s jobs."""
    app, update = ctx.application, ctx.current_update

    async def on_error(exc: BaseException) -> None:
        await report(app, update, exc)

    ctx.services.lanes.submit(key, step, on_error)
