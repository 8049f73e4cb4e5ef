"""Fixtures: the real bot (the `notelens bot` factory) against fake Telegram and model servers."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from notelens.config import Settings
from notelens.pipeline.service import Pipeline
from notelens.telegram.app import build_app, serve
from testsupport.fakes.openai_server import FakeOpenAI
from testsupport.fakes.telegram_server import FakeTelegram
from testsupport.imagegen.text import EN_SENTENCES, render_lines


def jpeg(lines: list[str] | None = None, size: int = 28) -> bytes:
    img = render_lines(lines or list(EN_SENTENCES[:3]), size=size)
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=85)
    return buf.getvalue()


def png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


@pytest.fixture
def tg() -> Iterator[FakeTelegram]:
    with FakeTelegram() as server:
        yield server


@pytest.fixture
def bot_settings(
    monkeypatch: pytest.MonkeyPatch, tg: FakeTelegram, fake_model: FakeOpenAI, tmp_path: Path
) -> Callable[..., Settings]:
    """Settings from the environment, pointing at both fakes; keyword arguments add env vars."""

    def make(**extra: Any) -> Settings:
        env = {
            "VLM_BASE_URL": fake_model.url,
            "VLM_API_KEY": "sk-test-secret-model-key",
            "VLM_TIMEOUT_S": "3",
            "VLM_MAX_RETRIES": "1",
            "OCR_ENGINE": "vlm",
            "DATABASE_PATH": str(tmp_path / "db" / "notelens.db"),
            "ALBUM_WAIT_S": "0.3",
            # PTB 22 warns (an error under filterwarnings=error) when it builds RetryAfter
            # with integer seconds; opting in to timedeltas is what `run_bot` does too.
            "PTB_TIMEDELTA": "true",
            **tg.env(),
        }
        env.update({k.upper(): str(v) for k, v in extra.items()})
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        return Settings()

    return make


class RunningBot:
    """The Application serving in the test's loop; `stop()` shuts it down like SIGTERM."""

    def __init__(self, settings: Settings, pipeline: Any = None) -> None:
        self.settings = settings
        self.own_pipeline = True  # the pipeline passed in (or built) belongs to this bot
        self.pipeline = pipeline or Pipeline(settings)
        self.app = build_app(settings, pipeline=self.pipeline)
        self.stop_event = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    async def start(self, tg: FakeTelegram) -> RunningBot:
        seen = tg.get_updates_calls
        self.task = asyncio.create_task(serve(self.app, self.stop_event, poll_timeout=2))
        await tg.wait_for(lambda f: f.get_updates_calls > seen or self.task.done(), timeout=10)
        if self.task.done():
            self.task.result()
        return self

    async def stop(self) -> None:
        self.stop_event.set()
        if self.task is not None:
            await asyncio.wait_for(self.task, 30)
            self.task = None
        if self.own_pipeline:
            await self.pipeline.aclose()
            self.own_pipeline = False


@pytest.fixture
async def start_bot(
    tg: FakeTelegram, bot_settings: Callable[..., Settings]
) -> AsyncIterator[Callable[..., Any]]:
    """`await start_bot(**env)` → a RunningBot; every bot started is stopped at the end."""
    running: list[RunningBot] = []

    async def start(pipeline: Any = None, **extra: Any) -> RunningBot:
        bot = RunningBot(bot_settings(**extra), pipeline)
        running.append(bot)
        return await bot.start(tg)

    yield start
    for bot in running:
        await bot.stop()
