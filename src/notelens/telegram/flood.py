"""Telegram's flood limits across processes: a 429's `retry_after` is honoured by all.

PTB's `AIORateLimiter` paces one process (30 messages a second, 20 a minute per group)
and, on a 429, holds that process's requests for `retry_after` and retries. With several
processes on one bot token the others would keep sending: here the pause is also written
to the database, and every process reads it (one indexed row) before each Bot API call.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import Any

from telegram.error import RetryAfter
from telegram.ext import AIORateLimiter

from ..store import Store

log = logging.getLogger(__name__)

SCOPE = "telegram"
Result = bool | dict[str, Any] | list[dict[str, Any]]


class SharedRateLimiter(AIORateLimiter):
    def __init__(self, store: Store, **limits: Any) -> None:
        """`limits`: AIORateLimiter's own (max_retries, group_max_rate, ...)."""
        super().__init__(**limits)
        self.store = store

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, Result]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> Result:
        async def shared(*a: Any, **kw: Any) -> Result:
            await self._wait_out()
            try:
                return await callback(*a, **kw)
            except RetryAfter as exc:
                await self._publish(exc.retry_after)
                raise

        return await super().process_request(shared, args, kwargs, endpoint, data, rate_limit_args)

    async def _wait_out(self) -> None:
        try:
            until = await self.store.paused_until(SCOPE)
        except Exception:  # not open yet (getMe at start) or unreachable: pace locally
            return
        if (delay := until - time.time()) > 0:
            await asyncio.sleep(delay)

    async def _publish(self, retry_after: float | timedelta) -> None:
        seconds = retry_after.total_seconds() if isinstance(retry_after, timedelta) else retry_after
        try:
            await self.store.pause(SCOPE, time.time() + seconds + 0.1)
        except Exception as exc:  # this process still waits (AIORateLimiter)
            log.warning("could not share Telegram's flood wait (%s)", type(exc).__name__)
