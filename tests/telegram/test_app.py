"""Start-up and failure behaviour: token problems, crashing handlers, secrets in logs."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from notelens.cli import main as cli_main
from notelens.config import Settings
from notelens.pipeline.service import Pipeline
from notelens.telegram.app import run_bot
from testsupport.fakes.openai_server import FakeOpenAI, text, truncated
from testsupport.fakes.telegram_server import TOKEN, FakeTelegram, user

from .conftest import jpeg

ALICE = user(1001, "en")


def test_missing_token_exits_with_a_clear_message(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["bot"]) == 3
    assert "TELEGRAM_BOT_TOKEN is not set" in capsys.readouterr().err


def test_rejected_token_exits_without_printing_it(
    tg: FakeTelegram,
    bot_settings: Callable[..., Settings],
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    wrong = "999999:wrong-token-value"
    settings = bot_settings(telegram_bot_token=wrong)
    assert run_bot(settings) == 3
    err = capsys.readouterr().err
    assert "rejected TELEGRAM_BOT_TOKEN" in err
    assert wrong not in err and wrong not in caplog.text


class CrashingPipeline(Pipeline):
    async def run(self, task: str, images: Any, options: Any) -> Any:
        if task == "ocr":
            raise RuntimeError(f"boom with {TOKEN} and sk-test-secret-model-key inside")
        return await super().run(task, images, options)


async def test_a_crash_is_answered_logged_without_secrets_and_the_bot_goes_on(
    tg: FakeTelegram,
    fake_model: FakeOpenAI,
    bot_settings: Callable[..., Settings],
    start_bot: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    settings = bot_settings()
    await start_bot(pipeline=CrashingPipeline(settings))
    tg.send_photo(jpeg(), ALICE, caption="/ocr")
    [sorry] = await tg.wait_sent(ALICE["id"])
    assert "went wrong" in sorry.text
    tg.send_photo(jpeg(), ALICE, caption="/captcha")
    [ok] = await tg.wait_sent(ALICE["id"], after=1)
    assert "AB12" in ok.text
    assert "boom with" in caplog.text  # the error was logged …
    assert TOKEN not in caplog.text  # … without the token (file URLs, exceptions)
    assert "sk-test-secret-model-key" not in caplog.text
    for call in tg.sent():
        assert TOKEN not in call.text


async def test_download_failure_offers_retry(
    tg: FakeTelegram, fake_model: FakeOpenAI, start_bot: Any
) -> None:
    await start_bot()
    tg.fail("getFile", 400, "Bad Request: temporary failure")
    tg.send_photo(jpeg(), ALICE, caption="/captcha")
    [failed] = await tg.wait_sent(ALICE["id"])
    assert "Downloading" in failed.text
    [(_, data)] = failed.buttons
    tg.press(tg.message_of(failed), data, ALICE)
    [ok] = await tg.wait_sent(ALICE["id"], after=1)
    assert "AB12" in ok.text


def test_notelens_bot_process_answers_and_stops_on_sigterm(
    tg: FakeTelegram, fake_model: FakeOpenAI, tmp_path: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "VLM_"))}
    env.update(
        tg.env(),
        VLM_BASE_URL=fake_model.url,
        VLM_API_KEY="sk-test-secret-model-key",
        DATABASE_PATH=str(tmp_path / "data" / "bot.db"),
    )
    code = "import sys; from notelens.cli import main; sys.exit(main(['bot']))"
    proc = subprocess.Popen(
        [sys.executable, "-c", code], env=env, cwd=tmp_path, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 30
        while not tg.get_updates_calls and time.monotonic() < deadline:
            time.sleep(0.05)
        tg.send_text("/start", ALICE)
        while not tg.sent(ALICE["id"]) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert "NoteLens" in tg.sent(ALICE["id"])[0].text
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert TOKEN not in err
    assert (tmp_path / "data" / "bot.db").exists()


async def test_secrets_in_model_output_are_redacted_in_replies(
    tg: FakeTelegram, fake_model: FakeOpenAI, start_bot: Any
) -> None:
    leaked = (
        f"token {TOKEN}, our key sk-test-secret-model-key, "
        "someone's key sk-proj-AbCdEfGhIjKlMnOp1234 "
        "and a bot 987654321:AAFakeFakeFakeFakeFakeFake1234567"
    )
    await start_bot()
    fake_model.reply(text(leaked))
    tg.send_photo(jpeg(), ALICE, caption="/ocr")
    [reply] = await tg.wait_sent(ALICE["id"])
    assert "[REDACTED]" in reply.text
    for secret in (TOKEN, "sk-test-secret", "sk-proj-AbCd", "AAFakeFake"):
        assert secret not in reply.text


async def test_truncated_json_from_the_model_gets_the_model_error_reply(
    tg: FakeTelegram, fake_model: FakeOpenAI, start_bot: Any
) -> None:
    await start_bot()
    fake_model.reply(truncated(), truncated(), truncated())
    tg.send_photo(jpeg(), ALICE, caption="What is this?")  # a question: no offline fallback
    [failed] = await tg.wait_sent(ALICE["id"], timeout=20)
    assert "Sorry" in failed.text and "went wrong" not in failed.text
    [(label, _)] = failed.buttons
    assert "Retry" in label
