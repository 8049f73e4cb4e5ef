"""Job engine fixtures: a fresh job database on SQLite and on PostgreSQL, stored uploads
as the media source, and a deliver hook that records outcomes."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from notelens.jobs import DirectoryMedia, Job, JobEngine, JobOutcome, MediaRef
from testsupport.fakes.openai_server import FakeOpenAI, Recorded, Reply, text
from testsupport.imagegen.text import EN_SENTENCES, render_lines
from testsupport.postgres import pg_database


@pytest.fixture(params=["sqlite", "postgres"])
def jobs_env(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, str]]:
    """Environment for one fresh job database (a unique PostgreSQL database, dropped after)."""
    env = {"DATABASE_PATH": str(tmp_path / "data" / "notelens.db"), "WORKER_SILENCE_S": "60"}
    if request.param == "sqlite":
        yield env
        return
    with pg_database("notelens_jobs") as url:
        yield {**env, "DATABASE_URL": url.replace("postgresql:", "postgresql+asyncpg:", 1)}


def page_png(n: int) -> bytes:
    """A flat page whose paper colour tells the fake model its number (0-8)."""
    img = render_lines(list(EN_SENTENCES[:3]), size=30, background=(245, 245, 120 + 15 * n))
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def page_of(req: Recorded) -> int:
    return round((req.images[0].convert("RGB").getpixel((3, 3))[2] - 120) / 15)


def by_page(delay: float = 0.0):  # type: ignore[no-untyped-def]
    """OCR answers name the page; polishing marks the text."""

    def respond(req: Recorded) -> Reply:
        if req.image_urls:
            return text(f"text of page {page_of(req)}", delay=delay)
        return text(f"POLISHED {req.user_text}")

    return respond


def ocr_calls_per_page(server: FakeOpenAI) -> dict[int, int]:
    calls: dict[int, int] = {}
    for req in list(server.requests):
        if req.image_urls:
            calls[page_of(req)] = calls.get(page_of(req), 0) + 1
    return calls


def store_pages(root: Path, pages: range) -> list[MediaRef]:
    root.mkdir(parents=True, exist_ok=True)
    refs = []
    for n in pages:
        (root / f"page{n}.png").write_bytes(page_png(n))
        refs.append(MediaRef(file_id=f"page{n}.png", kind="image"))
    return refs


@dataclass
class Delivered:
    outcomes: dict[str, JobOutcome] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    async def __call__(self, job: Job, outcome: JobOutcome) -> None:
        self.outcomes[outcome.job_id] = outcome
        self.order.append(outcome.job_id)
        self.changed.set()

    async def wait_for(self, *job_ids: str) -> None:
        async with asyncio.timeout(30):
            while not all(j in self.outcomes for j in job_ids):
                self.changed.clear()
                await self.changed.wait()


@pytest.fixture
def uploads(tmp_path: Path) -> Path:
    (tmp_path / "uploads").mkdir()
    return tmp_path / "uploads"


@pytest.fixture
async def engine(
    jobs_env: dict[str, str], fake_model: FakeOpenAI, settings_for: Any, uploads: Path
) -> AsyncIterator[tuple[JobEngine, Delivered]]:
    delivered = Delivered()
    fake_model.responder = by_page()
    settings = settings_for(fake_model, **jobs_env)
    eng = JobEngine(settings, media=DirectoryMedia(uploads), deliver=delivered)
    await eng.start()
    try:
        yield eng, delivered
    finally:
        await eng.stop(grace_s=0)
