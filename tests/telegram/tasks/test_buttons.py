"""Buttons act for whoever may act on what they name, never for whoever replays their data."""

from __future__ import annotations

import re
from typing import Any

from testsupport.fakes.openai_server import FakeOpenAI
from testsupport.fakes.telegram_server import GROUP_ID, Call, FakeTelegram, user

from ..conftest import jpeg

ALICE = user(1001, "en")
BOB = user(1002, "en")
CAROL = user(1003, "en")


async def pressed(
    tg: FakeTelegram, message: dict[str, Any], data: str, who: dict[str, Any]
) -> Call:
    """Press a button and return the bot's answer to the press."""
    before = len(tg.calls_of("answerCallbackQuery"))
    tg.press(message, data, who)
    [answer] = await tg.wait_for(lambda f: f.calls_of("answerCallbackQuery")[before:])
    return answer


def task_button(call: Call, label: str) -> str:
    return next(data for text, data in call.buttons if label in text)


async def test_job_ids_in_buttons_cannot_be_guessed(tg: FakeTelegram, start_bot: Any) -> None:
    await start_bot()
    tg.send_photo(jpeg(), ALICE, caption="/ocr")
    [ocr] = await tg.wait_sent(ALICE["id"])
    for _, data in ocr.buttons:
        assert re.fullmatch(r"t:[A-Za-z0-9_-]{12}:[a-z]+", data), data
        assert not data.split(":")[1].isdigit()


async def test_a_replayed_button_does_not_run_someone_elses_photos(
    tg: FakeTelegram, fake_model: FakeOpenAI, start_bot: Any
) -> None:
    await start_bot()
    tg.send_photo(jpeg(), ALICE, caption="/ocr")
    [ocr] = await tg.wait_sent(ALICE["id"])
    tg.send_photo(jpeg(), BOB, caption="/ocr")
    [bobs] = await tg.wait_sent(BOB["id"])
    calls = len(fake_model.requests)
    data = task_button(ocr, "Captcha")

    # Bob replays Alice's data on his own chat's message (a modified client can) …
    refused = await pressed(tg, tg.message_of(bobs), data, BOB)
    assert refused.params["show_alert"] and "someone else" in refused.params["text"]
    # … or on her message, as if he could see it.
    refused = await pressed(tg, tg.message_of(ocr), data, BOB)
    assert refused.params["show_alert"]
    # Nothing ran and nothing was posted; her own press still works.
    tg.press(tg.message_of(ocr), data, ALICE)
    [captcha] = await tg.wait_sent(ALICE["id"], after=1)
    assert "AB12" in captcha.text
    assert len(fake_model.requests) == calls + 1
    assert len(tg.sent(BOB["id"])) == 1


async def test_in_a_group_the_owner_and_admins_may_press(
    tg: FakeTelegram, fake_model: FakeOpenAI, start_bot: Any
) -> None:
    await start_bot()
    tg.set_admin(GROUP_ID, CAROL["id"])
    tg.send_photo(jpeg(), ALICE, chat_id=GROUP_ID, caption="/ocr")
    [ocr] = await tg.wait_sent(GROUP_ID)
    data = task_button(ocr, "Captcha")
    refused = await pressed(tg, tg.message_of(ocr), data, BOB)
    assert refused.params["show_alert"]
    ok = await pressed(tg, tg.message_of(ocr), data, CAROL)  # an admin of the group
    assert not ok.params.get("show_alert")
    [captcha] = await tg.wait_sent(GROUP_ID, after=1)
    assert "AB12" in captcha.text


async def test_malformed_button_data_is_answered_quietly(
    tg: FakeTelegram, fake_model: FakeOpenAI, start_bot: Any
) -> None:
    await start_bot()
    tg.send_photo(jpeg(), ALICE, caption="/ocr")
    [ocr] = await tg.wait_sent(ALICE["id"])
    huge = "9" * 60
    forged = [
        f"t:{huge}:ocr",
        f"r:{huge}",
        f"rc:{huge}:ok",
        f"rl:{huge}:yes",
        f"fm:{huge}:yes",
        "t:abc:rm -rf",
        "nonsense",
        "",
    ]
    calls = len(fake_model.requests)
    for data in forged:
        answer = await pressed(tg, tg.message_of(ocr), data, ALICE)
        assert not answer.params.get("show_alert"), data
    # Anything still on Alice's lane (an error report) would come before this answer.
    tg.send_text("/help", ALICE)
    [help_text] = await tg.wait_sent(ALICE["id"], after=1)
    assert "NoteLens" in help_text.text
    assert len(tg.sent(ALICE["id"])) == 2
    assert len(fake_model.requests) == calls
