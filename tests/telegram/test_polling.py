"""Long polling confirms an update to Telegram only after the bot has handled it."""

from __future__ import annotations

import asyncio

from telegram import Update
from telegram.ext import ApplicationBuilder, ContextTypes, TypeHandler

from notelens.telegram.polling import poll
from testsupport.fakes.telegram_server import FakeTelegram, user


async def test_the_offset_moves_past_an_update_only_once_it_was_handled(tg: FakeTelegram) -> None:
    app = ApplicationBuilder().token(tg.token).base_url(tg.api_base).updater(None).build()
    handled: list[int] = []
    entered, release = asyncio.Event(), asyncio.Event()

    async def slow(update: Update, _: ContextTypes.DEFAULT_TYPE) -> None:
        if update.message and update.message.text == "slow":
            entered.set()
            await release.wait()
        handled.append(update.update_id)

    app.add_handler(TypeHandler(Update, slow))
    stop = asyncio.Event()
    await app.initialize()
    try:
        task = asyncio.create_task(poll(app, stop, poll_timeout=1))
        tg.send_text("first", sender=user(1))
        tg.send_text("slow", sender=user(1))
        await asyncio.wait_for(entered.wait(), 10)
        first, slow_id = handled[0], handled[0] + 1
        # While the second update is being handled, Telegram has been told of the first only.
        assert max(tg.offsets) <= slow_id
        release.set()
        await tg.wait_for(lambda f: max(f.offsets) > slow_id, timeout=10)
        stop.set()
        await asyncio.wait_for(task, 10)
        assert handled == [first, slow_id]
        assert tg.updates == []  # the clean stop confirmed everything handled
    finally:
        await app.shutdown()
