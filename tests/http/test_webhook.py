"""`notelens serve`: the Telegram webhook and health checks, over real HTTP on loopback."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
import uvicorn

from notelens.cli import main as cli_main
from notelens.config import Settings
from notelens.http.app import WEBHOOK_PATH, create_app
from testsupport.deployment import loopback_socket
from testsupport.fakes.openai_server import FakeOpenAI
from testsupport.fakes.telegram_server import FakeTelegram, user

SECRET = "webhook-secret-value-123"


class Served:
    def __init__(self, server: uvicorn.Server, url: str) -> None:
        self.server, self.url = server, url


@pytest.fixture
async def serve(
    bot_settings: Callable[..., Settings],
) -> AsyncIterator[Callable[..., Any]]:
    """`await serve(**env)` runs the app on a free loopback port until the test ends."""
    started: list[tuple[uvicorn.Server, asyncio.Task[None]]] = []

    async def start(**extra: Any) -> Served:
        sock = loopback_socket()
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        settings = bot_settings(public_url=url, webhook_secret=SECRET, **extra)
        server = uvicorn.Server(
            uvicorn.Config(create_app(settings), lifespan="on", log_level="warning")
        )
        task = asyncio.create_task(server.serve(sockets=[sock]))
        started.append((server, task))
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.01)
        return Served(server, url)

    yield start
    for server, task in started:
        server.should_exit = True
        await asyncio.wait_for(task, 30)


async def test_updates_arrive_by_webhook_with_the_secret(
    serve: Callable[..., Any], tg: FakeTelegram
) -> None:
    served = await serve()
    assert tg.webhook == {"url": served.url + WEBHOOK_PATH, "secret_token": SECRET}
    tg.send_text("/help", sender=user(1001))
    await tg.wait_sent(chat_id=1001)
    assert tg.webhook_statuses == [200]


@pytest.mark.parametrize(
    ("headers", "status"),
    [({}, 401), ({"X-Telegram-Bot-Api-Secret-Token": "wrong"}, 403)],
)
async def test_a_webhook_call_without_the_secret_is_refused_and_does_nothing(
    serve: Callable[..., Any],
    tg: FakeTelegram,
    fake_model: FakeOpenAI,
    headers: dict[str, str],
    status: int,
) -> None:
    served = await serve()
    update = {
        "update_id": 99,
        "message": {
            "message_id": 1,
            "date": 0,
            "chat": {"id": 1001, "type": "private"},
            "from": user(1001),
            "text": "/help",
            "entities": [{"type": "bot_command", "offset": 0, "length": 5}],
        },
    }
    async with httpx.AsyncClient() as client:
        answer = await client.post(served.url + WEBHOOK_PATH, json=update, headers=headers)
    assert answer.status_code == status
    assert answer.json()["error"]["code"] in ("unauthorized", "forbidden")
    # The webhook answers only after the update was handled, so nothing can still be coming.
    assert tg.sent() == [] and fake_model.requests == []


async def test_health_and_readiness(serve: Callable[..., Any]) -> None:
    served = await serve()
    async with httpx.AsyncClient() as client:
        assert (await client.get(served.url + "/healthz")).json() == {"status": "ok"}
        ready = await client.get(served.url + "/readyz")
    assert ready.status_code == 200 and ready.json() == {"status": "ready"}


def test_serve_with_a_token_needs_a_public_url_and_secret(
    bot_settings: Callable[..., Settings], capsys: pytest.CaptureFixture[str]
) -> None:
    bot_settings()
    assert cli_main(["serve", "--port", "0"]) == 3
    err = capsys.readouterr().err
    assert "PUBLIC_URL" in err and "WEBHOOK_SECRET" in err
