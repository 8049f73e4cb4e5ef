"""The engine in one process: submit, order, progress, cancel, albums, on both databases."""

from __future__ import annotations

import asyncio
from pathlib import Path

import psycopg
import pytest
from dbos import DBOS
from dbos._error import DBOSAwaitedWorkflowCancelledError

from notelens.jobs import Job, JobClient, JobEngine, JobOutcome, api_job_id, telegram_job_id
from notelens.jobs._config import journal_mode
from notelens.jobs.types import MediaRef
from testsupport.fakes.openai_server import FakeOpenAI

from .conftest import Delivered, by_page, ocr_calls_per_page, store_pages


async def test_a_notes_job_reads_every_page_once(
    engine: tuple[JobEngine, Delivered], uploads: Path, fake_model
) -> None:
    eng, delivered = engine
    refs = store_pages(uploads, range(3))
    job_id = telegram_job_id(1)
    await eng.submit(job_id, Job(user_id=7, chat_id=7, task="notes", media=refs))
    await delivered.wait_for(job_id)
    outcome = delivered.outcomes[job_id]
    assert outcome.ok
    notes = outcome.results[0]
    assert [p.ocr_text for p in notes.pages] == [f"text of page {n}" for n in range(3)]
    assert all(p.polished and p.polished.startswith("POLISHED") for p in notes.pages)
    assert ocr_calls_per_page(fake_model) == {0: 1, 1: 1, 2: 1}
    assert await eng.result(job_id) == "ok"
    progress = await eng.progress(job_id)
    assert progress is not None
    assert (progress.status, progress.stage, progress.done, progress.total) == (
        "SUCCESS",
        "polish",
        3,
        3,
    )


async def test_jobs_run_on_the_loop_that_started_the_engine(
    engine: tuple[JobEngine, Delivered], uploads: Path
) -> None:
    """Launched inside the running loop, DBOS runs our async workflows on it (not on a
    loop thread of its own, where our clients and caches would not work)."""
    eng, delivered = engine
    loops = []
    inner = delivered.__call__

    async def record_loop(job: Job, outcome: JobOutcome) -> None:
        loops.append(asyncio.get_running_loop())
        await inner(job, outcome)

    eng.runtime.deliver = record_loop
    refs = store_pages(uploads, range(1))
    await eng.submit(telegram_job_id(1), Job(user_id=1, chat_id=1, task="notes", media=refs))
    await delivered.wait_for(telegram_job_id(1))
    assert loops == [asyncio.get_running_loop()]


async def test_one_chat_in_order_even_within_one_second_other_chats_in_parallel(
    engine: tuple[JobEngine, Delivered], uploads: Path, fake_model, jobs_env
) -> None:
    """SQLite stamps queued jobs in whole seconds and breaks ties by id: ids that sort in
    arrival order keep a chat's jobs in order."""
    eng, delivered = engine
    fake_model.responder = by_page(delay=0.2)
    refs = store_pages(uploads, range(6))
    ids = [telegram_job_id(u) for u in (8, 9, 10, 11, 12)]  # 8 < 12 as numbers and as ids
    for job_id, ref in zip(ids, refs, strict=False):
        await eng.submit(job_id, Job(user_id=1, chat_id=1, task="notes", media=[ref]))
    other = telegram_job_id(13)
    await eng.submit(other, Job(user_id=2, chat_id=2, task="notes", media=[refs[5]]))
    await delivered.wait_for(*ids, other)
    assert [j for j in delivered.order if j in ids] == ids
    assert delivered.order.index(other) < delivered.order.index(ids[-1])
    created = [w.created_at for w in await DBOS.list_workflows_async(workflow_ids=ids)]
    if "DATABASE_URL" not in jobs_env:  # SQLite: the tie-break by id did the ordering
        assert len(set(created)) < len(created)
        assert all(c is not None and c % 1000 == 0 for c in created)


async def submit_slow_notes(
    eng: JobEngine, uploads: Path, fake_model: FakeOpenAI, job_id: str, pages: int, delay: float
) -> list[MediaRef]:
    """A notes job whose every OCR call takes `delay` seconds."""
    fake_model.responder = by_page(delay=delay)
    refs = store_pages(uploads, range(pages))
    await eng.submit(job_id, Job(user_id=1, chat_id=1, task="notes", media=refs))
    return refs


async def test_cancel_stops_a_running_job_without_a_reply(
    engine: tuple[JobEngine, Delivered], uploads: Path, fake_model
) -> None:
    eng, delivered = engine
    job_id = telegram_job_id(1)
    refs = await submit_slow_notes(eng, uploads, fake_model, job_id, pages=2, delay=1.0)
    assert await DBOS.get_event_async(job_id, "progress", timeout_seconds=20)  # it runs
    await eng.cancel(job_id)
    with pytest.raises(DBOSAwaitedWorkflowCancelledError):
        await eng.result(job_id)
    progress = await eng.progress(job_id)
    assert progress is not None and progress.status == "CANCELLED" and progress.finished
    # The next job of the chat runs; the cancelled one never replied.
    await eng.submit(telegram_job_id(2), Job(user_id=1, chat_id=1, task="notes", media=refs))
    await delivered.wait_for(telegram_job_id(2))
    assert job_id not in delivered.outcomes


async def test_progress_is_readable_by_a_process_that_runs_no_jobs(
    engine: tuple[JobEngine, Delivered], uploads: Path, fake_model
) -> None:
    eng, _ = engine
    job_id = api_job_id(1)
    await submit_slow_notes(eng, uploads, fake_model, job_id, pages=4, delay=0.3)
    client = JobClient(eng.settings)  # DBOSClient: what an API process holds
    try:
        seen = set()
        async with asyncio.timeout(30):
            while (p := await client.progress(job_id)) is None or not p.finished:
                if p is not None and p.stage == "ocr":
                    seen.add(p.done)
                await asyncio.sleep(0.02)
        assert p.status == "SUCCESS" and (p.stage, p.done, p.total) == ("polish", 4, 4)
        assert seen and max(seen) <= 4
        assert await client.progress(api_job_id(2)) is None
    finally:
        client.close()


async def test_an_album_is_one_job_and_a_late_photo_starts_another(
    engine: tuple[JobEngine, Delivered], uploads: Path
) -> None:
    eng, delivered = engine
    refs = store_pages(uploads, range(5))
    key = "1:album-77"

    def photo(n: int) -> Job:
        return Job(user_id=1, chat_id=1, task="notes", media=[refs[n]])

    landed = [await eng.submit_album(key, telegram_job_id(20 + n), photo(n)) for n in range(3)]
    assert landed == [telegram_job_id(20)] * 3
    await delivered.wait_for(telegram_job_id(20))
    album = delivered.outcomes[telegram_job_id(20)].results[0]
    assert [p.ocr_text for p in album.pages] == [f"text of page {n}" for n in range(3)]
    # The album's job has finished: a message to it would be dropped without a word. The
    # late photo's job gathers what comes after it.
    late = [await eng.submit_album(key, telegram_job_id(30 + n), photo(3 + n)) for n in range(2)]
    assert late == [telegram_job_id(30)] * 2
    await delivered.wait_for(telegram_job_id(30))
    pages = delivered.outcomes[telegram_job_id(30)].results[0].pages
    assert [p.ocr_text for p in pages] == ["text of page 3", "text of page 4"]
    assert telegram_job_id(31) not in delivered.outcomes


async def test_a_gathered_album_is_settled_into_the_products_jobs(
    engine: tuple[JobEngine, Delivered], uploads: Path
) -> None:
    """The `settle` hook sees every item's own job and decides: here, one job per photo."""
    eng, delivered = engine
    refs = store_pages(uploads, range(3))
    seen: list[list[str]] = []

    async def one_job_each(items: list[Job]) -> list[Job]:
        seen.append([item.media[0].file_id for item in items])
        return [Job(user_id=1, chat_id=1, task="notes", media=item.media) for item in items]

    eng.runtime.settle = one_job_each
    for n in range(3):
        job = Job(user_id=1, chat_id=1, task="album", media=[refs[n]])
        await eng.submit_album("1:album-9", telegram_job_id(40 + n), job)
    first = telegram_job_id(40)
    await delivered.wait_for(*[f"{first}-{i:02d}" for i in range(3)])
    assert seen == [[r.file_id for r in refs]]
    assert [
        delivered.outcomes[f"{first}-{i:02d}"].results[0].pages[0].ocr_text for i in range(3)
    ] == [f"text of page {n}" for n in range(3)]
    assert await eng.result(first) == "ok"


async def test_job_state_has_its_own_sqlite_file_in_wal_or_the_dbos_schema(
    engine: tuple[JobEngine, Delivered], jobs_env: dict[str, str]
) -> None:
    eng, _ = engine
    if "DATABASE_URL" not in jobs_env:
        app_db = Path(jobs_env["DATABASE_PATH"])
        assert eng.url == f"sqlite:///{app_db.parent.resolve() / 'dbos.sqlite'}"
        assert journal_mode(eng.url) == "wal"
        assert not await asyncio.to_thread(app_db.exists)  # DBOS wrote nothing there
        return
    assert eng.url.startswith("postgresql://") and "+asyncpg" not in eng.url
    with psycopg.connect(eng.url) as conn:
        tables = conn.execute(
            "SELECT table_schema, table_name FROM information_schema.tables"
            " WHERE table_schema NOT IN ('pg_catalog', 'information_schema')"
        ).fetchall()
    assert ("dbos", "workflow_status") in tables and ("dbos", "notelens_workers") in tables
    assert {schema for schema, _ in tables} == {"dbos"}
