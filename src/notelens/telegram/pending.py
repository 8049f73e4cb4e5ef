"""Enqueues started while an update is handled, awaited before the update is confirmed."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any


class Intake:
    """Enqueues started while an update is handled; the poll loop and the webhook await them
    before confirming the update, so what Telegram forgets is already stored."""

    def __init__(self) -> None:
        self._pending: dict[int, list[asyncio.Task[None]]] = {}

    def add(self, update_id: int, enqueue: Coroutine[Any, Any, None]) -> None:
        self._pending.setdefault(update_id, []).append(asyncio.ensure_future(enqueue))

    async def drain(self, update_id: int) -> None:
        """Raises when an enqueue failed: the update must then be handled again."""
        tasks = self._pending.pop(update_id, [])
        if tasks:
            await asyncio.gather(*tasks)
