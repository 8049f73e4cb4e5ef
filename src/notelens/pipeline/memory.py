"""Keeping memory bounded: a pixel budget shared by every job, and glibc's malloc tamed.

A 24 MP photo costs ~100 MB decoded and as much again while it is split into pages, so
the number of photos decoded at once, not the number of jobs, decides peak memory. Every
decode holds its pixels in one `PixelBudget` until what it produced is small again
(encoded page crops, a model-sized image); other jobs wait their turn.

glibc keeps freed memory in its heaps (one arena per thread, up to 8 per core) instead of
returning it, so after a big album the process stays large. `limit_arenas` caps the
arenas and `trim` gives the free pages back; both are no-ops off glibc.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import functools
import logging
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

log = logging.getLogger(__name__)

M_ARENA_MAX = -8  # glibc's mallopt parameter (malloc.h)


class PixelBudget:
    """An async weighted limiter on decoded pixels, first come first served.

    `hold(pixels)` waits until the pixels fit beside those already held. An image larger
    than the whole budget waits until it is empty and then runs alone. When the last
    holder leaves, `on_idle` runs (to give freed memory back to the system).
    """

    def __init__(self, capacity: int, on_idle: Callable[[], Awaitable[None]] | None = None) -> None:
        if capacity < 1:
            raise ValueError("a pixel budget needs room for at least one pixel")
        self.capacity = capacity
        self.in_use = 0
        self._on_idle = on_idle
        self._waiters: deque[tuple[int, asyncio.Future[None]]] = deque()

    @property
    def waiting(self) -> int:
        """How many holders are queued (for tests and diagnostics)."""
        return len(self._waiters)

    @asynccontextmanager
    async def hold(self, pixels: int) -> AsyncIterator[None]:
        need = max(1, min(pixels, self.capacity))
        await self._acquire(need)
        try:
            yield
        finally:
            self._release(need)
            if self.in_use == 0 and self._on_idle is not None:
                await self._on_idle()

    async def _acquire(self, need: int) -> None:
        if not self._waiters and self.in_use + need <= self.capacity:
            self.in_use += need
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        entry = (need, future)
        self._waiters.append(entry)
        try:
            await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():
                self._release(need)  # granted just as it was cancelled: give it back
            else:
                self._waiters.remove(entry)
                self._grant()  # a large waiter leaving may let smaller ones in
            raise

    def _release(self, need: int) -> None:
        self.in_use -= need
        self._grant()

    def _grant(self) -> None:
        while self._waiters:
            need, future = self._waiters[0]
            if self.in_use + need > self.capacity:
                return
            self._waiters.popleft()
            self.in_use += need
            future.set_result(None)


@functools.cache
def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        libc = ctypes.CDLL(name)
        libc.malloc_trim  # noqa: B018 - glibc only: musl and macOS have no malloc_trim
        libc.mallopt  # noqa: B018
    except (OSError, AttributeError):
        return None
    return libc


def limit_arenas(count: int) -> bool:
    """Cap glibc's malloc arenas (like MALLOC_ARENA_MAX); 0 leaves glibc's default.

    Best called early, before worker threads have made arenas of their own."""
    libc = _libc()
    if count <= 0 or libc is None:
        return False
    return bool(libc.mallopt(M_ARENA_MAX, count))


def trim() -> None:
    """Return free heap memory of every arena to the system (glibc's malloc_trim)."""
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)


async def trim_async() -> None:
    """`trim` in a worker thread: walking large heaps takes milliseconds."""
    await asyncio.to_thread(trim)
