"""The one seam through which handlers hand work over: handlers never know how jobs run.

Small steps run on the in-memory lanes (one FIFO per identity); jobs are enqueued as
durable workflows (`durable.enqueue`), or, with DURABLE_JOBS=false, run on the lanes by
`runner.run_job`.

Both must be called synchronously, before the handler's first `await`: PTB starts
update tasks in update order, so queueing before any await keeps each person's
messages answered in the order they were sent.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from telegram import Update

from ..jobs.types import Job
from .context import CustomContext
from .durable import enqueue, enqueue_album_item
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

    With durable jobs (the default) the jobs are enqueued as workflows before the update
    is confirmed to Telegram: a `Prepare` (a lookup) first runs in order on the lane, then
    enqueues what it found, and the update's intake waits for that.
    """
    services = ctx.services
    if services.jobs is not None:
        update_id = _update_id(ctx)

        async def store(found: list[Job]) -> None:
            await enqueue(services, key, update_id, found)

        _durably(ctx, key, job if not isinstance(job, Job) else _ready([job]), store)
        return

    async def work() -> None:
        for ready in [job] if isinstance(job, Job) else await job():
            await run_job(services, ctx.bot, ready)

    in_order(ctx, key, work)


def submit_album_item(ctx: CustomContext, key: int, album_key: str, item: Job) -> None:
    """One item of an album (durable jobs only): gathered in the job database with the
    album's other items, whichever process they reach; stored before the update is
    confirmed. The gathered album is settled by `intake.settle_album`."""
    services = ctx.services
    update_id = _update_id(ctx)

    async def store(found: list[Job]) -> None:
        await enqueue_album_item(services, key, album_key, update_id, found[0])

    _durably(ctx, key, _ready([item]), store)


def _update_id(ctx: CustomContext) -> int:
    update = ctx.current_update
    return update.update_id if isinstance(update, Update) else 0


def _ready(jobs: list[Job]) -> Prepare:
    async def prepare() -> list[Job]:
        return jobs

    return prepare


def _durably(
    ctx: CustomContext, key: int, prepare: Prepare, store: Callable[[list[Job]], Awaitable[None]]
) -> None:
    """`prepare` then `store` on `key`'s lane (in order with its other steps), and the update
    confirmed only once stored. A failed `prepare` is a bug, reported by the lane (the
    update is done); a failed `store` makes the update come again."""
    stored: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    async def later() -> None:
        try:
            found = await prepare()
        except BaseException:
            stored.set_result(None)
            raise
        try:
            await store(found)
        except Exception as exc:  # not stored: the update must come again
            stored.set_exception(exc)
        else:
            stored.set_result(None)

    if not in_order(ctx, key, later):
        stored.set_result(None)
    ctx.services.intake.add(_update_id(ctx), _wait(stored))


async def _wait(stored: asyncio.Future[None]) -> None:
    await stored


def in_order(ctx: CustomContext, key: int, step: Step) -> bool:
    """A small step (an answer to a command, a hint) in the same order as `key`'s jobs.
    False when the key's lane was full and the step was dropped."""
    app, update = ctx.application, ctx.current_update

    async def on_error(exc: BaseException) -> None:
        await report(app, update, exc)

    return ctx.services.lanes.submit(key, step, on_error)
