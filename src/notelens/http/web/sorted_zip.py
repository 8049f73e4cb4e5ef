"""A zip of classified photos, one folder per category, streamed as it is written.

zipfile writes to any object with `write` (it falls back to data descriptors when the
target cannot seek), so each photo is read, written and handed to the response before
the next is read: memory holds one photo, never the archive. Photos are stored as they
are (JPEG and PNG do not compress further); names are made safe and never collide.
"""

from __future__ import annotations

import asyncio
import zipfile
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass

from pathvalidate import sanitize_filename


@dataclass(frozen=True)
class Sorted:
    category: str
    name: str  # the file's own name, as uploaded
    load: Callable[[], Awaitable[bytes]]


class _Sink:
    """A write-only target that hands out what was written since the last `take`."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def write(self, data: bytes) -> int:
        self._parts.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass

    def take(self) -> bytes:
        data, self._parts = b"".join(self._parts), []
        return data


def safe_part(name: str, fallback: str) -> str:
    cleaned = sanitize_filename(name.replace("/", "_").replace("\\", "_")).strip(". ")
    return cleaned[:120] or fallback


def zip_names(items: Sequence[Sorted]) -> list[str]:
    """`category/name` for each item, safe on every system, a clash becoming `name-1.jpg`."""
    taken: set[str] = set()
    names = []
    for i, item in enumerate(items, 1):
        folder = safe_part(item.category, "other")
        stem, dot, ext = safe_part(item.name, f"photo-{i}.jpg").rpartition(".")
        if not dot:
            stem, ext = ext, ""
        candidate, n = f"{folder}/{stem}{dot}{ext}", 0
        while candidate.lower() in taken:
            n += 1
            candidate = f"{folder}/{stem}-{n}{dot}{ext}"
        taken.add(candidate.lower())
        names.append(candidate)
    return names


async def stream_zip(items: Sequence[Sorted]) -> AsyncIterator[bytes]:
    sink = _Sink()
    archive = zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_STORED)
    for item, name in zip(items, zip_names(items), strict=True):
        data = await item.load()
        await asyncio.to_thread(archive.writestr, name, data)
        del data
        yield sink.take()
    archive.close()
    yield sink.take()
