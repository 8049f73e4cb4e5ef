"""The notes archive in the bot, end to end through the fake Telegram and model servers:
what is sent is kept for its owner, found, sent again, deleted; nobody else sees it."""

from __future__ import annotations

import asyncio
import io
import zipfile
from typing import Any

import pytest
from sqlalchemy import text as sql

from notelens.telegram.context import services_of
from testsupport.fakes.openai_server import FakeOpenAI, text
from testsupport.fakes.telegram_server import GROUP_ID, Call, FakeTelegram, user

from ..conftest import jpeg

ALICE = user(1001, "en")
BOB = user(1002, "en")
OTHER_GROUP = -1009876543210
LECTURE = "# Linear algebra\nEigenvalue decomposition of 线性代数 matrices"


async def archived(bot: Any, owner: str, n: int = 1) -> None:
    """Wait until `owner` has `n` notes (the filing follows the document)."""
    archive = services_of(bot.app).archive
    for _ in range(500):
        if await archive.count(owner) >= n:
            return
        await asyncio.sleep(0.02)
    raise TimeoutError(f"{owner} never had {n} notes")


async def notes_photo(
    tg: FakeTelegram, model: FakeOpenAI, who: dict[str, Any], chat_id: int | None, lines: list[str]
) -> Call:
    """A photo captioned /notes whose page reads LECTURE; returns the document sent."""
    chat = chat_id or who["id"]
    before = len(tg.calls_of("sendDocument", chat))
    model.reply(text(LECTURE))
    tg.send_photo(jpeg(lines), who, chat_id=chat_id, caption="/notes")
    docs = await tg.wait_for(lambda f: f.calls_of("sendDocument", chat)[before:], timeout=20)
    return docs[0]


async def kept(
    tg: FakeTelegram, model: FakeOpenAI, bot: Any, who: dict[str, Any], lines: list[str]
) -> None:
    """A private notes photo of `who`, answered and archived."""
    await notes_photo(tg, model, who, None, lines)
    await archived(bot, f"tg-user:{who['id']}")


async def say(
    tg: FakeTelegram, words: str, who: dict[str, Any], chat_id: int | None = None
) -> Call:
    chat = chat_id or who["id"]
    before = len(tg.sent(chat))
    tg.send_text(words, who, chat_id=chat_id)
    [reply] = await tg.wait_sent(chat, after=before)
    return reply


async def pressed(tg: FakeTelegram, call: Call, label: str, who: dict[str, Any]) -> Call:
    data = next(d for t, d in call.buttons if label in t)
    return await press_data(tg, call, data, who)


async def confirmed(tg: FakeTelegram, ask: Call, who: dict[str, Any]) -> Call:
    """Press Delete under `ask` and return the edit that answers it."""
    edits = len(tg.calls_of("editMessageText", who["id"]))
    await pressed(tg, ask, "Delete", who)
    [done] = await tg.wait_for(lambda f: f.calls_of("editMessageText", who["id"])[edits:])
    return done


async def press_data(tg: FakeTelegram, call: Call, data: str, who: dict[str, Any]) -> Call:
    before = len(tg.calls_of("answerCallbackQuery"))
    tg.press(tg.message_of(call), data, who)
    [answer] = await tg.wait_for(lambda f: f.calls_of("answerCallbackQuery")[before:])
    return answer


async def test_a_notes_photo_is_kept_found_and_sent_again(
    tg: FakeTelegram, fake_model: FakeOpenAI, start_bot: Any
) -> None:
    bot = await start_bot()
    await kept(tg, fake_model, bot, ALICE, ["Lecture one", "eigen"])

    found = await say(tg, "/notes search eigenvalue", ALICE)
    assert "1." in found.text and "Linear algebra" in found.text
    assert "Eigenvalue" in found.text
    chinese = await say(tg, "?线性", ALICE)  # a private `?` message searches too
    assert "Linear algebra" in chinese.text
    assert "No notes" in (await say(tg, "/notes search zebra", ALICE)).text

    again = await say(tg, "/notes get 1", ALICE)
    name, data = again.document or ("", b"")
    assert name.endswith(".md") and "Eigenvalue decomposition" in data.decode()
    assert "no note 7" in (await say(tg, "/notes get 7", ALICE)).text

    latest = await say(tg, "/notes", ALICE)
    assert "Linear algebra" in latest.text
    await pressed(tg, latest, "1.", ALICE)
    [opened] = await tg.wait_for(lambda f: f.calls_of("sendDocument", ALICE["id"])[2:])
    assert opened.document is not None and opened.document[1] == data

    refiled = await say(tg, "/notes file 1 Mathematics", ALICE)
    assert "Mathematics" in refiled.text
    exported = await say(tg, "/notes export", ALICE)
    assert exported.document is not None and exported.document[0] == "notes.zip"
    with zipfile.ZipFile(io.BytesIO(exported.document[1])) as vault:
        [md] = [n for n in vault.namelist() if n.endswith(".md")]
        assert md.startswith("Mathematics/")
        assert "Eigenvalue" in vault.read(md).decode()


async def test_nobody_else_sees_a_persons_or_a_groups_notes(
    tg: FakeTelegram, fake_model: FakeOpenAI, start_bot: Any
) -> None:
    bot = await start_bot()
    await kept(tg, fake_model, bot, ALICE, ["Private lecture"])
    await notes_photo(tg, fake_model, ALICE, GROUP_ID, ["Group lecture"])
    await archived(bot, f"tg-chat:{GROUP_ID}")

    # Bob, privately, has nothing; in the group he sees the group's note, not Alice's own.
    assert "No notes" in (await say(tg, "/notes search eigenvalue", BOB)).text
    in_group = await say(tg, "/notes search eigenvalue", BOB, GROUP_ID)
    assert "Linear algebra" in in_group.text
    assert "No notes" in (await say(tg, "/notes search eigenvalue", ALICE, OTHER_GROUP)).text
    assert "no note 1" in (await say(tg, "/notes get 1", BOB)).text
    assert await services_of(bot.app).archive.count("tg-user:1002") == 0

    # Alice's open button, replayed by Bob on his own chat's message or on hers: refused.
    latest = await say(tg, "/notes", ALICE)
    data = next(d for t, d in latest.buttons if t.startswith("1."))
    bobs = await say(tg, "/help", BOB)
    documents = len(tg.calls_of("sendDocument"))
    refused = await press_data(tg, bobs, data, BOB)
    assert refused.params["show_alert"] and "not yours" in refused.params["text"]
    refused = await press_data(tg, latest, data, BOB)
    assert refused.params["show_alert"]
    # The group's list, replayed in the other group: refused too.
    group_list = await say(tg, "/notes", ALICE, GROUP_ID)
    elsewhere = await say(tg, "/help", ALICE, OTHER_GROUP)
    group_data = next(d for t, d in group_list.buttons if t.startswith("1."))
    assert (await press_data(tg, elsewhere, group_data, ALICE)).params["show_alert"]
    assert len(tg.calls_of("sendDocument")) == documents


async def test_delete_asks_then_removes_the_note_from_search(
    tg: FakeTelegram, fake_model: FakeOpenAI, start_bot: Any
) -> None:
    bot = await start_bot()
    await kept(tg, fake_model, bot, ALICE, ["To delete"])
    ask = await say(tg, "/notes delete 1", ALICE)
    assert "Delete note 1" in ask.text
    bobs = await say(tg, "/help", BOB)
    data = next(d for t, d in ask.buttons if "Delete" in t)
    assert (await press_data(tg, bobs, data, BOB)).params["show_alert"]
    assert "Linear algebra" in (await say(tg, "/notes search eigenvalue", ALICE)).text

    assert "deleted" in (await confirmed(tg, ask, ALICE)).text
    assert "No notes" in (await say(tg, "/notes search eigenvalue", ALICE)).text


async def test_forgetme_forgets_the_private_archive(
    tg: FakeTelegram, fake_model: FakeOpenAI, start_bot: Any
) -> None:
    bot = await start_bot()
    await kept(tg, fake_model, bot, ALICE, ["Forget me"])
    ask = await say(tg, "/forgetme", ALICE)
    assert "deleted" in (await confirmed(tg, ask, ALICE)).text
    assert await services_of(bot.app).archive.count("tg-user:1001") == 0
    assert "No notes" in (await say(tg, "/notes search eigenvalue", ALICE)).text


async def test_without_durable_jobs_the_notes_are_kept_too(
    tg: FakeTelegram, fake_model: FakeOpenAI, start_bot: Any
) -> None:
    bot = await start_bot(durable_jobs="false")
    await kept(tg, fake_model, bot, ALICE, ["In memory"])
    assert "Linear algebra" in (await say(tg, "/notes search eigenvalue", ALICE)).text


async def test_a_failed_filing_is_logged_and_the_notes_still_sent(
    tg: FakeTelegram, fake_model: FakeOpenAI, start_bot: Any, caplog: pytest.LogCaptureFixture
) -> None:
    bot = await start_bot()
    async with services_of(bot.app).store.engine.begin() as db:  # a real database failure
        await db.execute(sql("DROP TABLE archive_pages"))
    doc = await notes_photo(tg, fake_model, ALICE, None, ["Not kept"])
    assert doc.document is not None and "Eigenvalue" in doc.document[1].decode()
    await tg.wait_for(lambda f: "not archived" in caplog.text, timeout=10)
    assert await services_of(bot.app).archive.count("tg-user:1001") == 0
