"""Photos and files: one handler gathers albums, then offers each photo (or whole album)
to the features in the order they registered; the first that takes it answers it.

With durable jobs an album is gathered in the job database (its items may reach
different processes) and settled where its job runs; with DURABLE_JOBS=false, in memory.

Receipts register first (a receipt caption, or auto mode), the general tasks last
(they take everything else), so the core imports no feature.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from telegram import Update
from telegram.ext import MessageHandler, filters

from ..jobs.types import Job, MediaRef
from .context import BotApp, CustomContext
from .dispatch import submit, submit_album_item
from .intent import Intent

# A single photo's taker decides synchronously (so its work is queued in order) and
# returns True when it took the photo. An album's taker runs on the sender's lane once
# the album is complete, and returns the jobs to run (none when it answered by itself),
# or None when it does not take the album.
PhotoTaker = Callable[[CustomContext, Intent], bool]
AlbumTaker = Callable[[CustomContext, Sequence[Intent]], Awaitable[list[Job] | None]]

PHOTO_TAKERS: list[PhotoTaker] = []
ALBUM_TAKERS: list[AlbumTaker] = []


def take_photos(photo: PhotoTaker, album: AlbumTaker) -> None:
    """Register a feature's takers (once per process; a second registration is ignored)."""
    if photo not in PHOTO_TAKERS:
        PHOTO_TAKERS.append(photo)
    if album not in ALBUM_TAKERS:
        ALBUM_TAKERS.append(album)


async def on_media(update: Update, ctx: CustomContext) -> None:
    intent = ctx.intent
    if intent is None:
        return
    if intent.album:
        key = f"{intent.chat.id}:{intent.album}"
        if ctx.services.jobs is not None:  # gathered in the job database, by any process
            ref = intent.media
            media = [ref] if isinstance(ref, MediaRef) else []
            item = Job(
                intent.who.key, intent.chat.id, "album", media, meta={"update": update.to_dict()}
            )
            submit_album_item(ctx, intent.who.key, key, item)
            return
        album = ctx.services.albums.add(key, intent, intent.message.message_id)
        if album is not None:
            done = album.done

            async def prepare() -> list[Job]:
                return await settle_album(ctx, await done)

            # Holds the sender's lane until the album is complete: one job for all of it.
            submit(ctx, intent.who.key, prepare)
        return
    for take in PHOTO_TAKERS:
        if take(ctx, intent):
            return


async def settle_album(ctx: CustomContext, items: Sequence[Intent]) -> list[Job]:
    """A complete album, offered to the features' album takers in order: the jobs to run."""
    for taker in ALBUM_TAKERS:
        jobs = await taker(ctx, items)
        if jobs is not None:
            return jobs
    return []


def add_intake(app: BotApp) -> None:
    new_message = filters.UpdateType.MESSAGE
    app.add_handler(MessageHandler(new_message & (filters.PHOTO | filters.Document.ALL), on_media))
