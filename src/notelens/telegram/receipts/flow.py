"""A receipt from photo to ledger: read it, flag duplicates, wait for the payer's yes.

`read_receipt` is the receipt task's presenter, run by `runner.run_job` (so
downloads, errors and Retry work like every other task); `decide` applies a press of
Confirm / Discard / Add anyway.
Nothing is counted until confirmed, and a duplicate is counted only when someone
explicitly says "add anyway".
"""

from __future__ import annotations

import asyncio
import logging
import time
from decimal import Decimal

from PIL import Image
from telegram import Bot, Message

from ...jobs.types import Job
from ...pipeline.context import ImageInput
from ...pipeline.images import open_image, perceptual_hash
from ...pipeline.tasks.receipt import ReceiptResult
from .. import replies
from ..context import Services
from ..i18n import plain, t
from ..ledger import PENDING, Entry, Ledger
from ..runner import Inputs, options, present
from .buttons import Outcome, in_chat, may_manage
from .cards import closed_card, pending_card, saved_card, view_of
from .people import Person, remember

log = logging.getLogger(__name__)

# Enough pixels for a pHash (it looks at 32×32), few enough to decode in draft mode.
HASH_PIXELS = 512 * 512


def _phash(image: ImageInput, max_pixels: int) -> str:
    img = image if isinstance(image, Image.Image) else None
    if img is None:
        assert isinstance(image, bytes)
        img = open_image(image, max_pixels=max_pixels, target_pixels=HASH_PIXELS)
    return perceptual_hash(img)


@present("receipt")
async def read_receipt(services: Services, bot: Bot, job: Job, inputs: Inputs) -> list[Message]:
    """Read the job's (first) image as a receipt and post it as pending, with buttons."""
    lang = job.lang
    image = inputs.images[0]
    ref = job.media[0]
    meta = job.meta or {}
    # Decoding first also refuses a broken file before any model call.
    phash = await asyncio.to_thread(_phash, image, services.settings.max_image_pixels)
    [result] = await services.pipeline.run("receipt", [image], options(job))
    assert isinstance(result, ReceiptResult)
    if result.receipt is None:
        if job.quiet:
            return []
        return await replies.send_html(
            bot, job.chat_id, t(lang, "not_receipt"), reply_to=job.reply_to
        )
    poster = Person(
        int(meta.get("poster_id") or job.user_id),
        str(meta.get("poster_name") or job.user_id),
        meta.get("poster_username") or None,
    )
    entry = Entry(
        chat_id=job.chat_id,
        poster_id=poster.key,
        poster_name=poster.name,
        posted_at=float(meta.get("posted_at") or time.time()),
        receipt=result.receipt,
        requester_id=job.user_id,
        message_id=ref.message_id,
        file_unique_id=ref.unique_id,
        phash=phash,
    )
    ledger = services.ledger
    # Whoever posts a receipt is a member; everyone in the ledger shares it by default.
    await remember(services, job.chat_id, poster, member=True)
    dup = await ledger.duplicate_of(entry)
    await ledger.add_pending(
        entry, await participants(ledger, job.chat_id), await ledger.chats.timezone(job.chat_id)
    )
    assert entry.receipt_id is not None
    view = await view_of(ledger, entry)
    card = pending_card(lang, view, dup=dup, requester_name=meta.get("requester_name") or None)
    sent = await replies.send_html(
        bot, job.chat_id, card.text, reply_to=job.reply_to, reply_markup=card.markup
    )
    await ledger.set_bot_message(entry.receipt_id, sent[-1].message_id)
    return sent


async def participants(ledger: Ledger, chat_id: int) -> dict[int, Decimal]:
    """Who shares a new entry by default: every member of the chat's ledger."""
    return {m.member_id: Decimal(1) for m in await ledger.members.active(chat_id)}


async def decide(
    services: Services,
    bot: Bot,
    chat_id: int,
    user_id: int,
    token: str,
    action: str,
    lang: str,
) -> Outcome:
    """Confirm (or add a flagged duplicate anyway) or discard a pending entry."""
    ledger = services.ledger
    entry = await in_chat(services, token, chat_id, old_ids=True)
    if entry is None or entry.status != PENDING or entry.is_transfer:
        return Outcome(alert=plain(lang, "cb_stale"))
    # The payer decides what counts as theirs (or an admin), not whoever asked for the reading.
    if not await may_manage(services, bot, entry, user_id):
        return Outcome(alert=plain(lang, "cb_not_yours", name=entry.poster_name))
    assert entry.receipt_id is not None
    if action == "no":
        view = await view_of(ledger, entry)
        await ledger.delete(entry.receipt_id)
        return Outcome.of(closed_card(lang, view, t(lang, "receipt_discarded")))
    if action == "ok":
        # Someone may have confirmed the same receipt since this one was read.
        dup = await ledger.duplicate_of(entry, pending_too=False)
        if dup is not None:
            return Outcome.of(pending_card(lang, await view_of(ledger, entry), dup=dup))
    confirmed = await ledger.confirm(entry.receipt_id, forced=action == "add")
    if confirmed is None:
        return Outcome(alert=plain(lang, "cb_stale"))
    log.info("receipt %s confirmed as #%s in chat %s", entry.receipt_id, confirmed.seq, chat_id)
    head = t(lang, "receipt_saved", n=confirmed.seq)
    return Outcome.of(saved_card(lang, await view_of(ledger, confirmed), head))
