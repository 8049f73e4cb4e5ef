"""Telegram's flood wait is honoured by every process: a 429 seen by one bot instance holds
the others sharing its database until `retry_after` has passed."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import AsyncExitStack

from notelens.config import Settings
from notelens.telegram.app import build_app, running
from notelens.telegram.context import services_of
from notelens.telegram.flood import SCOPE
from testsupport.fakes.telegram_server import FakeTelegram

RETRY_AFTER_S = 2


async def test_a_429_in_one_instance_pauses_the_other(
    tg: FakeTelegram, bot_settings: Callable[..., Settings]
) -> None:
    settings = bot_settings(durable_jobs="false")
    async with AsyncExitStack() as stack:
        first = await stack.enter_async_context(running(build_app(settings)))
        second = await stack.enter_async_context(running(build_app(settings)))
        tg.fail("sendMessage", 429, retry_after=RETRY_AFTER_S)
        sending = asyncio.create_task(first.bot.send_message(1001, "from the first"))
        store = services_of(second).store  # its own connection to the shared database
        for _ in range(1000):  # the first instance publishes the wait before it sleeps
            if await store.paused_until(SCOPE):
                break
            await asyncio.sleep(0.01)
        [refused] = tg.calls_of("sendMessage")
        await second.bot.send_message(1002, "from the second")
        [later] = tg.calls_of("sendMessage", 1002)
        assert later.at - refused.at >= RETRY_AFTER_S - 0.2
        await sending  # the first instance retried after its own wait
        assert [c.chat_id for c in tg.calls_of("sendMessage")].count(1001) == 2
