"""Every per-user structure and every queue has a bound; old jobs are pruned on a schedule."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

from notelens.telegram.admins import AdminCache
from notelens.telegram.context import HINTS_PER_MINUTE
from notelens.telegram.scheduling import AlbumCollector, Lanes
from testsupport.fakes.telegram_server import FakeTelegram, user

ALICE = user(1001, "en")


async def test_a_flood_of_texts_gets_a_few_hints(tg: FakeTelegram, start_bot: Any) -> None:
    await start_bot()
    for i in range(20):
        tg.send_text(f"hello {i}", ALICE)
    tg.send_text("/help", ALICE)  # answered after everything queued before it
    await tg.wait_for(lambda f: any("NoteLens" in c.text for c in f.sent(ALICE["id"])))
    hints = [c for c in tg.sent(ALICE["id"]) if "NoteLens" not in c.text]
    assert len(hints) == HINTS_PER_MINUTE


async def test_admin_cache_is_bounded() -> None:
    async def get_chat_member(chat_id: int, user_id: int) -> Any:
        return SimpleNamespace(status="member")

    bot: Any = SimpleNamespace(get_chat_member=get_chat_member)
    cache = AdminCache(max_entries=50)
    for user_id in range(1, 500):
        assert not await cache.is_admin(bot, -100, user_id)
    assert len(cache) <= 50


async def test_lanes_and_albums_are_bounded() -> None:
    lanes = Lanes(max_pending=3)
    gate = asyncio.Event()

    async def wait() -> None:
        await gate.wait()

    accepted = [lanes.submit("k", wait) for _ in range(6)]
    assert accepted.count(True) <= 4 and accepted[-1] is False
    gate.set()
    await lanes.join(5)

    albums: AlbumCollector[int] = AlbumCollector(0.01, max_items=10)
    album = albums.add("a", 0, 0)
    for i in range(1, 30):
        albums.add("a", i, i)
    assert album is not None
    assert await asyncio.wait_for(album.done, 5) == list(range(10))


async def test_pruning_is_scheduled_on_the_job_queue(start_bot: Any) -> None:
    bot = await start_bot()
    assert bot.app.job_queue is not None
    assert [j.name for j in bot.app.job_queue.jobs()] == ["_prune"]
