"""The API served by `create_app` on real uvicorn (loopback), with jobs on the real engine
and pipeline against the fake model server. `await serve_api(**env)` → an `Api`."""

from __future__ import annotations

import asyncio
import io
import socket
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import psycopg
import pytest
import uvicorn
from fastapi import FastAPI

from notelens.http.app import create_app
from testsupport.fakes.openai_server import FakeOpenAI
from testsupport.imagegen.text import EN_SENTENCES, render_lines

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"
KEY = "key-one-0123456789"
OTHER_KEY = "key-two-9876543210"


def page_png(lines: list[str] | None = None) -> bytes:
    img = render_lines(lines or list(EN_SENTENCES[:3]), size=30)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def pdf_of(pages: int) -> bytes:
    """A PDF of `pages` rendered text pages (Pillow writes PDFs)."""
    images = [render_lines([f"Page {n + 1}", *EN_SENTENCES[:2]], size=30) for n in range(pages)]
    buf = io.BytesIO()
    images[0].save(buf, format="PDF", save_all=True, append_images=images[1:])
    return buf.getvalue()


@dataclass
class Api:
    url: str
    app: FastAPI
    server: uvicorn.Server

    def client(self, key: str | None = KEY, **kw: Any) -> httpx.AsyncClient:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.AsyncClient(base_url=self.url, headers=headers, timeout=60, **kw)

    async def wait_done(self, client: httpx.AsyncClient, job_id: str) -> dict[str, Any]:
        """Follow the job's events to the end; the job as `GET` then shows it."""
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


@pytest.fixture(params=["sqlite"])
def db_env(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[dict[str, str]]:
    yield from database_env(request.param, tmp_path)


def database_env(kind: str, tmp_path: Any) -> Iterator[dict[str, str]]:
    """A fresh SQLite file, or a fresh PostgreSQL database dropped afterwards."""
    env = {"DATABASE_PATH": str(tmp_path / "data" / "notelens.db")}
    if kind == "sqlite":
        yield env
        return
    name = f"notelens_api_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield {**env, "DATABASE_URL": f"postgresql://postgres@127.0.0.1:5432/{name}"}
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
async def serve_api(
    fake_model: FakeOpenAI, settings_for: Any, db_env: dict[str, str]
) -> AsyncIterator[Callable[..., Any]]:
    """`await serve_api(**env)`: the app on a free loopback port until the test ends."""
    started: list[tuple[uvicorn.Server, asyncio.Task[None]]] = []

    async def start(**extra: Any) -> Api:
        env = {"API_KEYS": f"{KEY},{OTHER_KEY}", **db_env, **extra}
        settings = settings_for(fake_model, **env)
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        app = create_app(settings)
        server = uvicorn.Server(uvicorn.Config(app, lifespan="on", log_level="warning"))
        task = asyncio.create_task(server.serve(sockets=[sock]))
        started.append((server, task))
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.01)
        return Api(url, app, server)

    yield start
    for server, task in started:
        server.should_exit = True
        await asyncio.wait_for(task, 30)
