"""The API served by `create_app` on real uvicorn (loopback), its jobs on the real engine and
pipeline against the fake model server.

- `shared_api` (module scope): one server for a module's tests (its tests run in the
  module's event loop: `pytestmark = pytest.mark.asyncio(loop_scope="module")`).
- `serve_api(**env)` (function scope): a server of its own, for a setting under test.
"""

from __future__ import annotations

import asyncio
import io
import os
import re
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
import uvicorn
from fastapi import FastAPI

from notelens.config import Settings
from notelens.http.app import create_app
from tests.conftest import SETTING_PREFIXES, model_env
from testsupport.deployment import loopback_socket
from testsupport.fakes.openai_server import FakeOpenAI, default_responder
from testsupport.imagegen.text import EN_SENTENCES, render_lines
from testsupport.postgres import pg_database

ROOT = Path(__file__).resolve().parents[3]
RUNNING_ON = re.compile(r"Uvicorn running on (http://127\.0\.0\.1:\d+)")
KEY = "key-one-0123456789"
OTHER_KEY = "key-two-9876543210"


def page_png(lines: list[str] | None = None, size: int = 30) -> bytes:
    img = render_lines(lines or list(EN_SENTENCES[:3]), size=size)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def pdf_of(pages: int) -> bytes:
    """A PDF of `pages` rendered text pages (Pillow writes PDFs)."""
    images = [render_lines([f"Page {n + 1}", *EN_SENTENCES[:2]], size=30) for n in range(pages)]
    buf = io.BytesIO()
    images[0].save(buf, format="PDF", save_all=True, append_images=images[1:])
    return buf.getvalue()


def files(*contents: bytes, name: str = "photo.png") -> list[tuple[str, tuple[str, bytes, str]]]:
    return [("files", (f"{i}-{name}", data, "image/png")) for i, data in enumerate(contents)]


@dataclass
class Api:
    url: str
    app: FastAPI
    settings: Settings
    server: uvicorn.Server
    clients: list[httpx.AsyncClient] = field(default_factory=list)

    def client(self, key: str | None = KEY, **kw: Any) -> httpx.AsyncClient:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        headers.update(kw.pop("headers", {}))
        return httpx.AsyncClient(base_url=self.url, headers=headers, timeout=60, **kw)

    async def submit(
        self, client: httpx.AsyncClient, task: str, *contents: bytes, **data: str
    ) -> str:
        answer = await client.post(
            "/api/v1/jobs", files=files(*(contents or (page_png(),))), data={"task": task, **data}
        )
        assert answer.status_code == 202, answer.text
        job_id: str = answer.json()["id"]
        return job_id

    async def wait_done(self, client: httpx.AsyncClient, job_id: str) -> dict[str, Any]:
        return await follow(client, job_id)


async def follow(client: httpx.AsyncClient, job_id: str) -> dict[str, Any]:
    """Follow the job's events to its end; then the job as `GET` shows it."""
    async with client.stream("GET", f"/api/v1/jobs/{job_id}/events") as events:
        assert events.status_code == 200
        async for line in events.aiter_lines():
            if line == "event: done":
                break
    answer = await client.get(f"/api/v1/jobs/{job_id}")
    assert answer.status_code == 200
    job: dict[str, Any] = answer.json()
    assert job["status"] in ("done", "failed")
    return job


class Serve:
    """`python -m notelens serve` in a subprocess, its log in a file. It binds a port of its
    own choosing (`--port 0`, read back from its log): a port picked free beforehand can be
    taken by another test worker before the server binds it."""

    def __init__(self, tmp: Path, env: dict[str, str], name: str = "serve") -> None:
        base = {k: v for k, v in os.environ.items() if not k.startswith(SETTING_PREFIXES)}
        self.log_path = tmp / f"{name}.log"
        self.log = self.log_path.open("w")
        self.url = ""  # known once `ready`
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "notelens", "serve", "--port", "0"],
            env={**base, "PYTHONPATH": f"{ROOT / 'src'}:{ROOT}", **env},
            stdout=self.log,
            stderr=subprocess.STDOUT,
            cwd=tmp,
        )

    async def ready(self) -> None:
        async with httpx.AsyncClient() as client, asyncio.timeout(60):
            while True:
                assert self.proc.poll() is None, self.log_path.read_text()
                if not self.url:
                    found = RUNNING_ON.search(self.log_path.read_text())
                    self.url = found.group(1) if found else ""
                try:
                    if self.url and (await client.get(f"{self.url}/readyz")).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(30)
        finally:
            self.log.close()


def clean_settings(env: dict[str, str]) -> Settings:
    """Settings from exactly `env` (whatever else the process environment holds)."""
    with pytest.MonkeyPatch.context() as mp:
        for name in list(os.environ):
            if name.startswith(SETTING_PREFIXES):
                mp.delenv(name)
        for key, value in env.items():
            mp.setenv(key, value)
        return Settings(_env_file=None)


async def start_server(
    settings: Settings, sock: socket.socket | None = None
) -> tuple[Api, asyncio.Task[None]]:
    sock = sock or loopback_socket()
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    app = create_app(settings)
    server = uvicorn.Server(uvicorn.Config(app, lifespan="on", log_level="warning"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    return Api(url, app, settings, server), task


async def stop_server(api: Api, task: asyncio.Task[None]) -> None:
    api.server.should_exit = True
    await asyncio.wait_for(task, 30)


def database_env(kind: str, root: Path) -> Iterator[dict[str, str]]:
    """A fresh SQLite file, or a fresh PostgreSQL database (dropped afterwards)."""
    env = {"DATABASE_PATH": str(root / "data" / "notelens.db")}
    if kind == "sqlite":
        yield env
        return
    with pg_database("notelens_api") as url:
        yield {**env, "DATABASE_URL": url}


def api_env(server: FakeOpenAI, db: dict[str, str], **extra: Any) -> dict[str, str]:
    return model_env(server, API_KEYS=f"{KEY},{OTHER_KEY}", **db, **extra)


@pytest.fixture(scope="module")
def shared_model() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as server:
        yield server


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def shared_api(
    shared_model: FakeOpenAI, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Api]:
    """One server for the module: SQLite, keys KEY and OTHER_KEY, a 1 MB upload limit."""
    for db in database_env("sqlite", tmp_path_factory.mktemp("api")):
        env = api_env(shared_model, db, API_MAX_UPLOAD_MB="1", API_RATE_PER_MIN="10000")
        api, task = await start_server(clean_settings(env))
        try:
            yield api
        finally:
            await stop_server(api, task)


@pytest.fixture
def fresh_model(shared_model: FakeOpenAI) -> FakeOpenAI:
    """The shared fake model, with no scripted answers or recorded requests left over."""
    shared_model.clear()
    shared_model.responder = default_responder
    return shared_model


@pytest.fixture
async def serve_api(fake_model: FakeOpenAI, tmp_path: Path) -> AsyncIterator[Callable[..., Any]]:
    """`await serve_api(db="sqlite"|"postgres", **env)`: a server of its own for the test."""
    started: list[tuple[Api, asyncio.Task[None]]] = []
    databases: list[Iterator[dict[str, str]]] = []

    async def start(db: str = "sqlite", **extra: Any) -> Api:
        gen = database_env(db, tmp_path / f"s{len(started)}")
        databases.append(gen)
        api, task = await start_server(clean_settings(api_env(fake_model, next(gen), **extra)))
        started.append((api, task))
        return api

    yield start
    for api, task in started:
        await stop_server(api, task)
    for gen in databases:
        for _ in gen:  # runs the generator's clean-up
            pass
