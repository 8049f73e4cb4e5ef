"""Files behind a job's references, and the pages cut from them.

Workflow arguments and step results are stored rows, so a job carries references
(Telegram file ids, stored upload ids), never bytes. Each step fetches what it needs
and re-derives the page crops; a small cache spares repeating that for the other pages
of the same photo in the normal (uncrashed) case.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from pathlib import Path
from typing import Any, Protocol

from ..pipeline.context import Context
from ..pipeline.tasks.notes import split_source
from .types import MediaRef


class MediaSource(Protocol):
    """Turns a file reference into its bytes (may raise OSError or a NoteLensError)."""

    async def fetch(self, ref: MediaRef) -> bytes: ...


class DirectoryMedia:
    """Stored uploads: `file_id` names a file directly under `root`."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    async def fetch(self, ref: MediaRef) -> bytes:
        path = (self.root / ref.file_id).resolve()
        if path.parent != self.root:
            raise FileNotFoundError(ref.file_id)
        return await asyncio.to_thread(path.read_bytes)


class TelegramMedia:
    """Telegram file ids, downloaded through the bot (python-telegram-bot's `Bot`)."""

    def __init__(self, bot: Any) -> None:
        self.bot = bot

    async def fetch(self, ref: MediaRef) -> bytes:
        file = await self.bot.get_file(ref.file_id)
        return bytes(await file.download_as_bytearray())


Pages = tuple[list[bytes], list[str]]  # each page encoded, as `split_source` gives them


class PageCache:
    """The pages of the last few photos, computed once however many steps ask at once."""

    def __init__(self, media: MediaSource, size: int = 4) -> None:
        self.media = media
        self.size = size
        self._entries: OrderedDict[str, asyncio.Task[Pages]] = OrderedDict()

    async def pages(self, ctx: Context, ref: MediaRef) -> Pages:
        task = self._entries.get(ref.file_id)
        if task is None:
            task = asyncio.ensure_future(self._split(ctx, ref))
            self._entries[ref.file_id] = task
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
        else:
            self._entries.move_to_end(ref.file_id)
        try:
            return await asyncio.shield(task)
        except BaseException:
            if task.done() and self._entries.get(ref.file_id) is task:
                del self._entries[ref.file_id]  # a failure is not remembered
            raise

    async def _split(self, ctx: Context, ref: MediaRef) -> Pages:
        return await split_source(ctx, await self.media.fetch(ref))
