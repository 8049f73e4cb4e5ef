"""`notelens serve` as people run it: with nothing configured (SQLite, offline OCR, loopback
only), and several processes on one PostgreSQL sharing the API's jobs."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest

from notelens.cli import main as cli_main
from tests.conftest import model_env
from testsupport.fakes.openai_server import FakeOpenAI, default_responder, text
from testsupport.postgres import pg_database

from .conftest import KEY, OTHER_KEY, Serve, files, follow, page_png


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[list[Serve]]:
    started: list[Serve] = []
    yield started
    for serve in started:
        if serve.proc.poll() is None:
            serve.stop()


async def test_serve_with_nothing_configured_reads_offline_on_loopback(
    tmp_path: Path, processes: list[Serve]
) -> None:
    """No model key, no database URL, no API keys: SQLite beside the working directory,
    the offline engine, and no key asked (the server listens on 127.0.0.1 only)."""
    serve = Serve(tmp_path, {})
    processes.append(serve)
    await serve.ready()
    lines = ["The quick brown fox", "jumps over the lazy dog"]
    async with httpx.AsyncClient(base_url=serve.url, timeout=120) as client:
        answer = await client.post("/api/v1/ocr", files=files(page_png(lines, size=40)))
    assert answer.status_code == 200, answer.text
    job = answer.json()
    assert job["status"] == "done" and job["result"]["items"][0]["engine"] == "local"
    words = job["result"]["text"].lower()
    assert "quick" in words and "lazy" in words
    assert (tmp_path / "data" / "notelens.db").exists() and (
        tmp_path / "data" / "dbos.sqlite"
    ).exists()


def test_serve_without_keys_refuses_to_listen_beyond_loopback(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert cli_main(["serve", "--host", "0.0.0.0", "--port", "0"]) == 3
    err = capsys.readouterr().err
    assert "API_KEYS" in err and "127.0.0.1" in err and "0.0.0.0" in err


@pytest.fixture
def postgres_url() -> Iterator[str]:
    with pg_database("notelens_api") as url:
        yield url


async def test_two_serve_processes_on_postgresql_share_the_jobs(
    tmp_path: Path, processes: list[Serve], fake_model: FakeOpenAI, postgres_url: str
) -> None:
    """Uploads taken by one process are read by the other; either answers for any job of
    the key; a job deleted through one is gone for both; another key sees none of them."""
    fake_model.responder = lambda req: (
        text("read", delay=0.6) if req.image_urls else default_responder(req)
    )
    env = model_env(
        fake_model, API_KEYS=f"{KEY},{OTHER_KEY}", DATABASE_URL=postgres_url, JOB_CONCURRENCY=1
    )
    first, second = (
        Serve(tmp_path, {**env, "WORKER_ID": name}, name) for name in ("serve-a", "serve-b")
    )
    processes += [first, second]
    await asyncio.gather(first.ready(), second.ready())
    auth = {"Authorization": f"Bearer {KEY}"}
    async with (
        httpx.AsyncClient(base_url=first.url, headers=auth, timeout=60) as a,
        httpx.AsyncClient(base_url=second.url, headers=auth, timeout=60) as b,
    ):
        ids = []
        for _ in range(4):  # all submitted to the first process
            answer = await a.post("/api/v1/jobs", files=files(page_png()), data={"task": "ocr"})
            assert answer.status_code == 202
            ids.append(answer.json()["id"])
        async with asyncio.timeout(60):  # each followed through the other process
            jobs = [await follow(b, job_id) for job_id in ids]
        assert [j["result"]["text"] for j in jobs] == ["read"] * 4
        with psycopg.connect(postgres_url) as conn:
            ran_on = {
                row[0]
                for row in conn.execute(
                    "SELECT executor_id FROM dbos.workflow_status WHERE workflow_uuid LIKE 'api-%'"
                )
            }
        assert ran_on == {"serve-a", "serve-b"}  # each ran some: B read A's uploads
        assert (await b.delete(f"/api/v1/jobs/{ids[0]}")).status_code == 204
        assert (await a.get(f"/api/v1/jobs/{ids[0]}")).status_code == 404
        assert (await a.get(f"/api/v1/jobs/{ids[1]}")).json()["status"] == "done"
        other = {"Authorization": f"Bearer {OTHER_KEY}"}
        assert (await b.get(f"/api/v1/jobs/{ids[1]}", headers=other)).status_code == 404
