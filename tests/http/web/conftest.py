"""The web page served for real: `create_app` on uvicorn on a loopback port, a real SQLite
store, the fake model server; a browser-like client that keeps cookies."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from notelens.config import Settings
from notelens.http.app import create_app
from notelens.store import Store
from testsupport.deployment import loopback_socket
from testsupport.fakes.openai_server import FakeOpenAI

from ...conftest import model_env

SECRET = "web-secret-for-tests-0123456789"


@dataclass
class WebServer:
    url: str
    settings: Settings
    server: uvicorn.Server

    def client(self, **kw: Any) -> httpx.AsyncClient:
        """A client that keeps cookies, like a browser (redirects not followed)."""
        return httpx.AsyncClient(base_url=self.url, timeout=30, **kw)

    async def store(self) -> Store:
        return await Store.from_settings(self.settings).open()


async def start_server(settings: Settings) -> tuple[uvicorn.Server, asyncio.Task[None], str]:
    sock = loopback_socket()
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), lifespan="on", log_level="warning")
    )
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    return server, task, url


@pytest.fixture
def web_settings(
    monkeypatch: pytest.MonkeyPatch, fake_model: FakeOpenAI, tmp_path: Path
) -> Callable[..., Settings]:
    def make(**extra: Any) -> Settings:
        env = {
            **model_env(fake_model),
            "DATABASE_PATH": str(tmp_path / "db" / "notelens.db"),
            "WEB_SECRET": SECRET,
            **{k.upper(): str(v) for k, v in extra.items()},
        }
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        return Settings()

    return make


@pytest.fixture
async def web(web_settings: Callable[..., Settings]) -> AsyncIterator[Callable[..., Any]]:
    """`await web(**env)` → a WebServer running until the test ends."""
    started: list[tuple[uvicorn.Server, asyncio.Task[None]]] = []

    async def start(**extra: Any) -> WebServer:
        settings = web_settings(**extra)
        server, task, url = await start_server(settings)
        started.append((server, task))
        return WebServer(url, settings, server)

    yield start
    for server, task in started:
        server.should_exit = True
        await asyncio.wait_for(task, 30)
