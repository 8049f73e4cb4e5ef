"""A job's whole life on each database (PostgreSQL too), and the API beside the bot in one
`serve`: the bot's job engine runs the API's jobs, Telegram's still answered."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa

from notelens.config import Settings
from notelens.store import Store
from notelens.store.api_schema import api_uploads
from tests.http.test_webhook import SECRET
from testsupport.fakes.openai_server import FakeOpenAI
from testsupport.fakes.telegram_server import FakeTelegram, user

from .conftest import KEY, Api, loopback_socket, page_png, pdf_of, start_server, stop_server


async def uploads_left(settings: Settings) -> int:
    store = await Store.from_settings(settings).open()
    try:
        async with store.engine.connect() as conn:
            return int(await conn.scalar(sa.select(sa.func.count()).select_from(api_uploads)))
    finally:
        await store.close()


@pytest.mark.parametrize("db", ["sqlite", "postgres"])
async def test_submit_follow_download_delete(
    serve_api: Callable[..., Any], fake_model: FakeOpenAI, db: str
) -> None:
    api: Api = await serve_api(db=db)
    async with api.client() as client:
        answer = await client.post(
            "/api/v1/jobs",
            files=[("files", ("two.pdf", pdf_of(2), "application/pdf"))],
            data={"task": "notes", "language": "zh"},
        )
        job_id = answer.json()["id"]
        job = await api.wait_done(client, job_id)
        document = await client.get(f"/api/v1/jobs/{job_id}/document")
        assert await uploads_left(api.settings) == 1
        assert (await client.delete(f"/api/v1/jobs/{job_id}")).status_code == 204
        assert (await client.get(f"/api/v1/jobs/{job_id}")).status_code == 404
    assert job["status"] == "done" and len(job["result"]["items"]) == 2
    assert job["result"]["language"] == "zh" and document.text == job["result"]["markdown"]
    assert await uploads_left(api.settings) == 0


async def test_the_bots_engine_runs_api_jobs_in_serve(
    bot_settings: Callable[..., Settings], tg: FakeTelegram, fake_model: FakeOpenAI
) -> None:
    sock = loopback_socket()
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    settings = bot_settings(public_url=url, webhook_secret=SECRET, api_keys=KEY)
    api, task = await start_server(settings, sock)
    try:
        jobs = api.app.state.api.engine
        assert jobs.api_only is False  # the bot's engine, not one of the API's own
        async with api.client() as client:
            answer = await client.post(
                "/api/v1/ocr", files=[("files", ("a.png", page_png(), "image/png"))]
            )
        assert answer.status_code == 200 and answer.json()["result"]["text"]
        tg.send_text("/help", sender=user(1001))  # and Telegram's updates still answered
        await tg.wait_sent(chat_id=1001)
    finally:
        await stop_server(api, task)
