"""Scheduling around the handlers: per-user order, albums (DURABLE_JOBS=false), chat actions.
(Rate limits live in the database: `Store.take_rate`.)

Handlers run concurrently (one task per update). To still answer each user's
photos in the order sent, a handler *synchronously* appends its work to that
user's lane before its first `await`; PTB starts update tasks in update order,
so lanes see work in the order Telegram delivered it. Different users' lanes run
in parallel; a global semaphore bounds how many jobs hold downloaded images at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from telegram import Bot
from telegram.error import TelegramError

log = logging.getLogger(__name__)

Work = Callable[[], Awaitable[None]]
OnError = Callable[[BaseException], Awaitable[None]]
T = TypeVar("T")


class Lanes:
    """One FIFO queue and worker per key; workers exit when their queue is empty.

    A key's queue holds at most `max_pending` steps: the rate limits keep real use far
    below it, and a flood beyond it is dropped (and logged) rather than held in memory.
    """

    def __init__(self, max_running: int = 16, max_pending: int = 100) -> None:
        self._queues: dict[Hashable, deque[tuple[Work, OnError | None]]] = {}
        self._workers: dict[Hashable, asyncio.Task[None]] = {}
        self._running = asyncio.Semaphore(max_running)
        self.max_pending = max_pending

    def submit(self, key: Hashable, work: Work, on_error: OnError | None = None) -> bool:
        """Queue `work` behind everything already queued for `key`. Never awaits.
        False when the key's queue is full and the work was dropped."""
        queue = self._queues.setdefault(key, deque())
        if len(queue) >= self.max_pending:
            log.warning("lane %s is full (%s steps); dropped one", key, len(queue))
            return False
        queue.append((work, on_error))
        if key not in self._workers:
            self._workers[key] = asyncio.get_running_loop().create_task(
                self._drain(key), name=f"lane-{key}"
            )
        return True

    def pending(self, key: Hashable) -> int:
        return len(self._queues.get(key, ()))

    @property
    def busy(self) -> bool:
        return bool(self._workers)

    async def _drain(self, key: Hashable) -> None:
        queue = self._queues[key]
        try:
            while queue:
                work, on_error = queue.popleft()
                try:
                    async with self._running:
                        await work()
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    if on_error is None:
                        log.exception("unhandled error in a job")
                    else:
                        try:
                            await on_error(exc)
                        except Exception:
                            log.exception("error while reporting an error")
        finally:
            self._workers.pop(key, None)
            if not queue:
                self._queues.pop(key, None)

    async def join(self, within: float | None = None) -> None:
        """Wait until every lane is idle (for shutdown and tests); TimeoutError after `within` s."""
        async with asyncio.timeout(within):
            while self._workers:
                await asyncio.gather(*list(self._workers.values()), return_exceptions=True)

    async def cancel(self) -> None:
        tasks = list(self._workers.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


@dataclass
class Album(Generic[T]):
    """The items of one media group seen so far, and who waits for the whole."""

    key: str
    items: list[tuple[int, T]] = field(default_factory=list)
    done: asyncio.Future[list[T]] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )
    timer: asyncio.TimerHandle | None = None


class AlbumCollector(Generic[T]):
    """Gathers the updates of a media group: Telegram sends no end marker, so debounce.

    `add()` returns the Album on its first item only (the caller queues one job
    that awaits `album.done`); later items just extend it and restart the timer.
    At most `max_items` are kept per album (Telegram sends up to 10).
    """

    def __init__(self, wait_s: float, max_items: int = 10) -> None:
        self.wait_s = wait_s
        self.max_items = max_items
        self._albums: dict[str, Album[T]] = {}

    def add(self, key: str, item: T, order: int) -> Album[T] | None:
        """Add `item` (sorted by `order`, the message id) to the album called `key`."""
        album = self._albums.get(key)
        first = album is None
        if album is None:
            album = self._albums[key] = Album(key)
        if len(album.items) < self.max_items:
            album.items.append((order, item))
        if album.timer is not None:
            album.timer.cancel()
        album.timer = asyncio.get_running_loop().call_later(self.wait_s, self._close, key)
        return album if first else None

    def _close(self, key: str) -> None:
        album = self._albums.pop(key, None)
        if album is not None and not album.done.done():
            album.done.set_result([item for _, item in sorted(album.items, key=lambda p: p[0])])

    def flush(self) -> None:
        """Close every open album now (shutdown)."""
        for key in list(self._albums):
            album = self._albums[key]
            if album.timer:
                album.timer.cancel()
            self._close(key)


@contextlib.asynccontextmanager
async def chat_action(
    bot: Bot, chat_id: int, action: str, every: float = 4.5
) -> AsyncIterator[Any]:
    """Show 'typing…' (or another action) until the block ends; Telegram clears it after 5 s."""

    async def repeat() -> None:
        while True:
            with contextlib.suppress(TelegramError):
                await bot.send_chat_action(chat_id, action)
            await asyncio.sleep(every)

    task = asyncio.get_running_loop().create_task(repeat(), name=f"chat-action-{chat_id}")
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
