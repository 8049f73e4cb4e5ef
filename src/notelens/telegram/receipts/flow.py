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
from dataclasses import dataclass

from PIL import Image
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Message

from ...jobs.types import Job
from ...pipeline.context import ImageInput
from ...pipeline.images import open_image, perceptual_hash
from ...pipeline.tasks.receipt import ReceiptResult
from .. import replies
from ..context import Services
from ..i18n import plain, t
from ..ledger import PENDING, Duplicate, Entry
from ..runner import Inputs, options, present
from .views import duplicate_note, paid_by, receipt_body

log = logging.getLogger(__name__)

# Enough pixels for a pHash (it looks at 32×32), few enough to decode in draft mode.
HASH_PIXELS = 512 * 512


def receipt_markup(lang: str, receipt_id: int, duplicate: bool) -> InlineKeyboardMarkup:
    """`rc:<id>:ok|add|no`: confirm (or add a flagged duplicate anyway), or discard."""
    first = (
        InlineKeyboardButton(t(lang, "btn_add_anyway"), callback_data=f"rc:{receipt_id}:add")
        if duplicate
        else InlineKeyboardButton(t(lang, "btn_confirm"), callback_data=f"rc:{receipt_id}:ok")
    )
    discard = InlineKeyboardButton(t(lang, "btn_discard"), callback_data=f"rc:{receipt_id}:no")
    return InlineKeyboardMarkup([[first, discard]])


def summary(
    lang: str,
    entry: Entry,
    *,
    head: str = "",
    dup: Duplicate | None = None,
    ask: bool = False,
    requester_name: str | None = None,
) -> str:
    parts = [
        head,
        receipt_body(lang, entry.receipt, entry.posted_at),
        paid_by(lang, entry, requester_name),
    ]
    if dup is not None:
        parts.append(duplicate_note(lang, dup))
    elif ask:
        parts.append(t(lang, "receipt_ask"))
    return "\n".join(p for p in parts if p)


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
    entry = Entry(
        chat_id=job.chat_id,
        poster_id=int(meta.get("poster_id") or job.user_id),
        poster_name=str(meta.get("poster_name") or job.user_id),
        posted_at=float(meta.get("posted_at") or time.time()),
        receipt=result.receipt,
        requester_id=job.user_id,
        message_id=ref.message_id,
        file_unique_id=ref.unique_id,
        phash=phash,
    )
    dup = await services.ledger.duplicate_of(entry)
    await services.ledger.add_pending(entry)
    assert entry.receipt_id is not None
    text = summary(
        lang, entry, dup=dup, ask=True, requester_name=meta.get("requester_name") or None
    )
    sent = await replies.send_html(
        bot,
        job.chat_id,
        text,
        reply_to=job.reply_to,
        reply_markup=receipt_markup(lang, entry.receipt_id, dup is not None),
    )
    await services.ledger.set_bot_message(entry.receipt_id, sent[-1].message_id)
    return sent


@dataclass
class Outcome:
    """What a button press does: an alert for the presser, or a new text (and buttons)."""

    alert: str | None = None
    text: str | None = None
    markup: InlineKeyboardMarkup | None = None


async def decide(
    services: Services,
    bot: Bot,
    chat_id: int,
    user_id: int,
    receipt_id: int,
    action: str,
    lang: str,
) -> Outcome:
    ledger = services.ledger
    entry = await ledger.get(receipt_id)
    if entry is None or entry.chat_id != chat_id or entry.status != PENDING:
        return Outcome(alert=plain(lang, "cb_stale"))
    # The payer decides what counts as theirs (or an admin), not whoever asked for the reading.
    may = user_id == entry.poster_id or await services.admins.is_admin(bot, chat_id, user_id)
    if not may:
        return Outcome(alert=plain(lang, "cb_not_yours", name=entry.poster_name))
    if action == "no":
        await ledger.delete(receipt_id)
        return Outcome(text=summary(lang, entry, head=t(lang, "receipt_discarded")))
    if action == "ok":
        # Someone may have confirmed the same receipt since this one was read.
        dup = await ledger.duplicate_of(entry, pending_too=False)
        if dup is not None:
            return Outcome(
                text=summary(lang, entry, dup=dup),
                markup=receipt_markup(lang, receipt_id, duplicate=True),
            )
    confirmed = await ledger.confirm(receipt_id, forced=action == "add")
    if confirmed is None:
        return Outcome(alert=plain(lang, "cb_stale"))
    log.info("receipt %s confirmed as #%s in chat %s", receipt_id, confirmed.seq, chat_id)
    return Outcome(text=summary(lang, confirmed, head=t(lang, "receipt_saved", n=confirmed.seq)))
