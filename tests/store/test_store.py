"""Users, jobs and the bot's messages, on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import URL

from notelens.jobs.types import Job, MediaRef
from notelens.store import Store
from notelens.store.schema import jobs, rate_hits


def photo_job(user: int = 7, chat: int = 7, **kw: object) -> Job:
    return Job(user, chat, "ocr", [MediaRef("FILE1", "photo", 10, None, 3)], **kw)  # type: ignore[arg-type]


async def test_roundtrip_and_reopen(db_url: URL) -> None:
    store = await Store(db_url).open()
    await store.set_categories(7, ["猫", "狗"])
    await store.set_mode(7, "ocr")
    job = photo_job(categories=["x"], question="什么?")
    job_id = await store.add_job(job)
    assert job.job_id == job_id
    await store.link_message(7, 99, job_id)
    await store.close()

    again = await Store(db_url).open()
    prefs = await again.user(7)
    assert (prefs.lang, prefs.mode, prefs.categories) == (None, "ocr", ["猫", "狗"])
    loaded = await again.job_for_message(7, 99)
    assert loaded == job
    assert loaded is not None and loaded.media[0].file_id == "FILE1"
    assert await again.job_for_message(7, 100) is None
    assert await again.user(8) == type(prefs)(8)  # nobody yet: the defaults
    await again.ping()
    if db_url.get_backend_name() == "sqlite":
        async with again.engine.connect() as conn:
            assert await conn.scalar(sa.text("PRAGMA journal_mode")) == "wal"
    await again.close()


async def test_job_ids_cannot_be_guessed(store: Store) -> None:
    ids = [await store.add_job(photo_job()) for _ in range(20)]
    assert len(set(ids)) == 20
    assert all(len(i) >= 12 and not i.isdigit() for i in ids)
    assert await store.job("1") is None
    assert await store.job(ids[0][:-1]) is None
    found = await store.job(ids[5])
    assert found is not None and found.job_id == ids[5]


async def test_a_message_can_be_relinked(store: Store) -> None:
    first, second = await store.add_job(photo_job()), await store.add_job(photo_job(question="x"))
    await store.link_message(7, 5, first)
    await store.link_message(7, 5, second)
    linked = await store.job_for_message(7, 5)
    assert linked is not None and linked.job_id == second


async def test_settings_change_one_at_a_time(store: Store) -> None:
    """Two processes changing different settings of one user: neither change is lost."""
    other = Store(store.url)
    await other.open()
    try:
        await store.set_lang(1, "zh")
        await other.set_mode(1, "classify")
        await store.set_categories(1, ["a"])
        assert await other.user(1) == await store.user(1)
        prefs = await other.user(1)
        assert (prefs.lang, prefs.mode, prefs.categories) == ("zh", "classify", ["a"])
        await other.set_categories(1, [])
        assert (await store.user(1)).categories is None  # empty: back to the defaults
    finally:
        await other.close()


async def test_prune_forgets_old_jobs_and_their_messages(store: Store) -> None:
    old, new = await store.add_job(photo_job()), await store.add_job(photo_job())
    await store.link_message(7, 1, old)
    await store.link_message(7, 2, new)
    async with store.engine.begin() as conn:
        await conn.execute(
            jobs.update().where(jobs.c.job_id == old).values(created_at=time.time() - 8 * 86400)
        )
    assert await store.prune(timedelta(days=7)) == 1
    assert await store.job(old) is None and await store.job_for_message(7, 1) is None
    assert (await store.job_for_message(7, 2)) is not None
    assert await store.prune(timedelta(days=7)) == 0
    assert await store.prune() == 0  # by default: 30 days


async def test_forget_user_takes_their_jobs_and_receipt_jobs_on_their_photos(
    store: Store,
) -> None:
    await store.set_lang(1, "en")
    await store.set_lang(2, "zh")
    mine = await store.add_job(photo_job(1, 1))
    on_my_photo = await store.add_job(photo_job(2, -100, meta={"poster_id": 1, "name": "A"}))
    theirs = await store.add_job(photo_job(2, -100, meta={"poster_id": 2}))
    for n, job_id in enumerate((mine, on_my_photo, theirs)):
        await store.link_message(-100, n, job_id)

    await store.forget_user(1)
    assert await store.job(mine) is None and await store.job(on_my_photo) is None
    assert await store.job_for_message(-100, 0) is None
    assert await store.job_for_message(-100, 1) is None
    assert await store.job(theirs) is not None and await store.job_for_message(-100, 2)
    assert (await store.user(1)).lang is None and (await store.user(2)).lang == "zh"


async def test_telegram_ids_beyond_32_bits(store: Store) -> None:
    chat = -1001234567890
    job_id = await store.add_job(photo_job(8_000_000_000, chat))
    await store.link_message(chat, 2_200_000_000, job_id)
    found = await store.job_for_message(chat, 2_200_000_000)
    assert found is not None and (found.user_id, found.chat_id) == (8_000_000_000, chat)


async def test_rate_limit_is_a_sliding_window_with_a_row_per_person(store: Store) -> None:
    assert await store.take_rate("jobs", 1, 2, 60, now=100.0) == 0
    assert await store.take_rate("jobs", 1, 2, 60, now=110.0) == 0
    assert await store.take_rate("jobs", 1, 2, 60, now=120.0) == 40  # the first leaves at 160
    assert await store.take_rate("jobs", 2, 2, 60, now=120.0) == 0  # someone else
    assert await store.take_rate("hints", 1, 2, 60, now=120.0) == 0  # another kind
    assert await store.take_rate("jobs", 1, 2, 60, now=160.5) == 0
    assert await store.take_rate("jobs", 1, 2, 60, now=161.0) == pytest.approx(9.0)
    async with store.engine.connect() as conn:
        rows = (await conn.execute(sa.select(rate_hits))).all()
    assert len(rows) == 3
    assert all(len(json.loads(row.hits)) <= 2 for row in rows)  # bounded per person


async def test_two_app_instances_share_one_rate_limit(db_url: URL) -> None:
    """What two processes on one database do: 20 jobs at once, 10 from each, limit 5."""
    first, second = await Store(db_url).open(), await Store(db_url).open()
    try:
        waits = await asyncio.gather(
            *[s.take_rate("jobs", 7, 5, 60) for _ in range(10) for s in (first, second)]
        )
        assert sum(w == 0 for w in waits) == 5
        assert await second.take_rate("jobs", 7, 5, 60) > 0
    finally:
        await first.close()
        await second.close()


async def test_idle_rate_rows_are_pruned(store: Store) -> None:
    await store.take_rate("jobs", 1, 2, 60, now=time.time() - 7200)
    await store.take_rate("jobs", 2, 2, 60)
    await store.prune()
    async with store.engine.connect() as conn:
        keys = (await conn.execute(sa.select(rate_hits.c.key))).scalars().all()
    assert keys == [2]
