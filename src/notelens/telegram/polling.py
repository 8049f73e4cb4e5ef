"""Long polling that confirms an update to Telegram only after the bot has handled it.

PTB's Updater puts a fetched batch on a queue and confirms it (the next `getUpdates`
offset) before the handlers have run, so a crash in between loses those updates. Here
each update is handled (its job enqueued, durably once jobs are stored) before the
offset moves past it (a batch's jobs are stored concurrently, each person's in order);
an update handled but not yet confirmed when the process dies is fetched again, and the
job store ignores the repeat (job ids come from update ids).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta
from typing import Any

from telegram import Update
from telegram.error import NetworkError, RetryAfter, TimedOut
from telegram.ext import Application

log = logging.getLogger(__name__)

MAX_BACKOFF_S = 30.0


async def poll(
    app: Application[Any, Any, Any, Any, Any, Any], stop: asyncio.Event, *, poll_timeout: float = 30
) -> None:
    """Fetch, handle and confirm updates until `stop` is set."""
    offset: int | None = None
    backoff = 1.0
    while not stop.is_set():
        fetch = asyncio.ensure_future(
            app.bot.get_updates(
                offset=offset,
                timeout=timedelta(seconds=poll_timeout),
                allowed_updates=Update.ALL_TYPES,
            )
        )
        stopping = asyncio.ensure_future(stop.wait())
        await asyncio.wait({fetch, stopping}, return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        if not fetch.done():
            fetch.cancel()
            with contextlib.suppress(asyncio.CancelledError, NetworkError):
                await fetch
            break
        try:
            updates = fetch.result()
        except RetryAfter as exc:
            await _pause(stop, _seconds(exc.retry_after))
            continue
        except TimedOut:
            continue
        except NetworkError as exc:
            log.warning("getUpdates failed (%s); retrying in %.0f s", type(exc).__name__, backoff)
            await _pause(stop, backoff)
            backoff = min(backoff * 2, MAX_BACKOFF_S)
            continue
        backoff = 1.0
        try:
            # Handlers only start the work (in each person's order); the batch's jobs are
            # then stored together, and the offset moves past those stored, in order.
            for update in updates:
                await app.process_update(update)
            stored = await asyncio.gather(
                *(handled(app, update) for update in updates), return_exceptions=True
            )
            for update, result in zip(updates, stored, strict=True):
                if isinstance(result, BaseException):
                    raise result
                offset = update.update_id + 1
        except Exception as exc:  # not stored: fetch it again after a pause, never skip it
            log.warning("an update could not be stored (%s); retrying", type(exc).__name__)
            await _pause(stop, backoff)
            backoff = min(backoff * 2, MAX_BACKOFF_S)
    if offset is not None:
        await _confirm(app, offset)


async def handled(app: Application[Any, Any, Any, Any, Any, Any], update: Update) -> None:
    """Wait until the jobs the update asked for are stored (raises when they could not be)."""
    from .context import SERVICES_KEY

    services = app.bot_data.get(SERVICES_KEY)
    if services is not None:
        await services.intake.drain(update.update_id)


async def _confirm(app: Application[Any, Any, Any, Any, Any, Any], offset: int) -> None:
    """Tell Telegram the handled updates are done, so a restart does not fetch them again."""
    try:
        await app.bot.get_updates(offset=offset, timeout=timedelta(0), limit=1)
    except NetworkError:
        log.warning("could not confirm the last updates; they will be fetched again (harmless)")


async def _pause(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


def _seconds(value: float | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)
