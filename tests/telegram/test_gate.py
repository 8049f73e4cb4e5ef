"""The gate parses each update once; handlers read the intent it left on the context."""

from __future__ import annotations

from typing import Any

import pytest

from notelens.telegram import gate as gate_module
from notelens.telegram import intent as intent_module
from testsupport.fakes.openai_server import FakeOpenAI
from testsupport.fakes.telegram_server import GROUP_ID, FakeTelegram, user

from .conftest import jpeg

ALICE = user(1001, "en")


async def test_a_captioned_photo_is_parsed_once(
    tg: FakeTelegram, fake_model: FakeOpenAI, start_bot: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    counts = {"parse": 0, "parse_command": 0, "mentions": 0}

    def count(module: Any, name: str) -> None:
        real = getattr(module, name)

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            counts[name] += 1
            return real(*args, **kwargs)

        monkeypatch.setattr(module, name, wrapper)

    count(gate_module, "parse")  # the gate's one call per update
    count(intent_module, "parse_command")
    count(intent_module, "mentions")
    await start_bot()
    tg.send_photo(jpeg(), ALICE, chat_id=GROUP_ID, caption="@notelens_test_bot what is this?")
    [answer] = await tg.wait_sent(GROUP_ID)
    assert "A fake answer." in answer.text
    assert counts == {"parse": 1, "parse_command": 1, "mentions": 1}
