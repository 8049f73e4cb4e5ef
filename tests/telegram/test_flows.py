"""End to end: the real bot against fake Telegram and fake model servers, flow by flow."""

from __future__ import annotations

import asyncio
from typing import Any

from testsupport.fakes.openai_server import FakeOpenAI, error, text
from testsupport.fakes.telegram_server import BOT_USERNAME, GROUP_ID, FakeTelegram, user

from .conftest import jpeg

ALICE = user(1001, "en")
LI = user(1002, "zh-hans")


async def test_start_and_help_follow_the_language(tg: FakeTelegram, start_bot: Any) -> None:
    await start_bot()
    tg.send_text("/start", ALICE)
    tg.send_text("/help", LI)
    [en] = await tg.wait_sent(ALICE["id"])
    [zh] = await tg.wait_sent(LI["id"])
    assert "I'm <b>NoteLens</b>" in en.text
    assert "我是" in zh.text
    commands = tg.calls_of("setMyCommands")
    assert {c.params.get("language_code") for c in commands} == {None, "zh"}
    assert any(cmd["command"] == "categories" for cmd in commands[0].params["commands"])


async def test_photo_runs_default_mode_with_buttons(
    tg: FakeTelegram, fake_model: FakeOpenAI, start_bot: Any
) -> None:
    await start_bot()
    tg.send_text("/mode ocr", ALICE)
    await tg.wait_sent(ALICE["id"])
    photo = tg.send_photo(jpeg(), ALICE)
    [reply] = await tg.wait_sent(ALICE["id"], after=1)
    assert "Fake OCR text" in reply.text
    assert reply.reply_to == photo["message_id"]
    labels = [label for label, _ in reply.buttons]
    assert any("Notes" in label for label in labels) and any("Captcha" in label for label in labels)
    assert tg.calls_of("sendChatAction", ALICE["id"])
    # The model saw the full-size photo, not the thumbnail.
    assert fake_model.requests[-1].images[0].size[0] > 200


async def test_caption_command_and_question(
    tg: FakeTelegram, fake_model: FakeOpenAI, start_bot: Any
) -> None:
    await start_bot()
    tg.send_photo(jpeg(), ALICE, caption="/captcha")
    [reply] = await tg.wait_sent(ALICE["id"])
    assert "AB12" in reply.text
    fake_model.reply(text("It says <hello> & goodbye"))
    tg.send_photo(jpeg(), ALICE, caption="What does this say?")
    [answer] = await tg.wait_sent(ALICE["id"], after=1)
    assert "It says &lt;hello&gt; &amp; goodbye" in answer.text
    assert "What does this say?" in fake_model.requests[-1].texts


async def test_command_as_reply_to_photo_and_button(
    tg: FakeTelegram, fake_model: FakeOpenAI, start_bot: Any
) -> None:
    await start_bot()
    photo = tg.send_photo(jpeg(), ALICE, caption="/ocr")
    [ocr] = await tg.wait_sent(ALICE["id"])
    tg.send_text("/classify cats, receipts, notes", ALICE, reply_to=photo["message_id"])
    [cls] = await tg.wait_sent(ALICE["id"], after=1)
    assert "cats" in cls.text  # the fake answers with the first category
    assert "1. cats" in fake_model.requests[-1].texts
    data = next(d for label, d in ocr.buttons if "Captcha" in label)
    tg.press(tg.message_of(ocr), data, ALICE)
    [cap] = await tg.wait_sent(ALICE["id"], after=2)
    assert "AB12" in cap.text
    assert tg.calls_of("answerCallbackQuery")


async def test_model_failure_offers_retry(
    tg: FakeTelegram, fake_model: FakeOpenAI, start_bot: Any
) -> None:
    await start_bot()
    fake_model.reply(error(500), error(500), error(500))
    tg.send_photo(jpeg(), ALICE, caption="What is this?")
    [failed] = await tg.wait_sent(ALICE["id"], timeout=20)
    assert "Sorry" in failed.text
    [(label, data)] = failed.buttons
    assert "Retry" in label and data.startswith("r:")
    tg.press(tg.message_of(failed), data, ALICE)
    [ok] = await tg.wait_sent(ALICE["id"], after=1)
    assert "A fake answer." in ok.text


async def test_notes_preview_document_and_progress(
    tg: FakeTelegram, fake_model: FakeOpenAI, start_bot: Any
) -> None:
    await start_bot()
    tg.send_album([jpeg(), jpeg(), jpeg()], ALICE)  # default mode: notes
    sent = await tg.wait_for(lambda f: f.calls_of("sendDocument", ALICE["id"]), timeout=20)
    [doc] = sent
    name, data = doc.document or ("", b"")
    assert name.endswith(".md") and name[:4].isdigit()
    markdown = data.decode()
    assert markdown.startswith("# ")
    messages = tg.calls_of("sendMessage", ALICE["id"])
    status, preview = messages[0], messages[-1]
    assert "page" in status.text
    edits = [c.text for c in tg.calls_of("editMessageText", ALICE["id"])]
    assert any("3/3" in e for e in edits) or "3/3" in status.text
    assert "Notes" in preview.text
    assert [label for label, _ in doc.buttons if "Notes" in label] == []
    assert tg.calls_of("sendChatAction", ALICE["id"])[0].params["action"] == "upload_document"
    # One document for the whole album: every photo was read.
    assert len(fake_model.requests) >= 3


async def test_album_classification_one_line_per_photo(
    tg: FakeTelegram, fake_model: FakeOpenAI, start_bot: Any
) -> None:
    await start_bot()
    tg.send_album([jpeg(), jpeg(), jpeg()], ALICE, caption="/classify")
    [reply] = await tg.wait_sent(ALICE["id"], timeout=20)
    lines = reply.text.splitlines()
    assert [line[:3] for line in lines] == ["1. ", "2. ", "3. "]


async def test_categories_survive_a_restart(
    tg: FakeTelegram, fake_model: FakeOpenAI, start_bot: Any
) -> None:
    first = await start_bot()
    tg.send_text("/categories set 猫, 狗, 风景", LI)
    [shown] = await tg.wait_sent(LI["id"])
    assert "• 猫" in shown.text and "• 风景" in shown.text
    tg.send_text("/categories add 发票", LI)
    tg.send_text("/categories remove 狗", LI)
    tg.send_text("/lang en", LI)
    await tg.wait_sent(LI["id"], 3, after=1)
    await first.stop()

    await start_bot()
    tg.send_text("/categories", LI)
    [again] = await tg.wait_sent(LI["id"], after=4)
    assert "Your categories" in again.text  # /lang en survived too
    assert "• 猫" in again.text and "• 发票" in again.text and "狗" not in again.text
    tg.send_photo(jpeg(), LI, caption="/classify")
    await tg.wait_sent(LI["id"], after=5)
    prompt = fake_model.requests[-1].texts
    assert "1. 猫" in prompt and "发票" in prompt and "狗" not in prompt


async def test_oversize_file_refused_before_download(tg: FakeTelegram, start_bot: Any) -> None:
    await start_bot()
    tg.send_document(b"x" * 100, "huge.png", "image/png", ALICE, size=25 * 1024 * 1024)
    [reply] = await tg.wait_sent(ALICE["id"])
    # Telegram states its limit as 20 MB (20 MiB): a 25 MiB file is "25 MB", the limit "20 MB".
    assert "is 25 MB;" in reply.text and "up to 20 MB." in reply.text
    assert tg.calls_of("getFile") == []


async def test_bad_files_get_clear_messages(
    tg: FakeTelegram, fake_model: FakeOpenAI, start_bot: Any
) -> None:
    await start_bot()
    tg.send_document(b"hello", "notes.txt", "text/plain", ALICE)
    [unsupported] = await tg.wait_sent(ALICE["id"])
    assert "notes.txt" in unsupported.text and "PDF" in unsupported.text
    assert tg.calls_of("getFile") == []
    tg.send_document(jpeg()[:300], "broken.jpg", "image/jpeg", ALICE, caption="/ocr")
    [corrupt] = await tg.wait_sent(ALICE["id"], after=1)
    assert "damaged" in corrupt.text or "not an image" in corrupt.text
    tg.send_document(b"%PDF-1.4 nonsense", "paper.pdf", "application/pdf", ALICE)
    [pdf] = await tg.wait_sent(ALICE["id"], after=2)
    assert "PDF" in pdf.text
    assert fake_model.requests == []


async def test_decompression_bomb_is_refused(
    tg: FakeTelegram, fake_model: FakeOpenAI, start_bot: Any
) -> None:
    from PIL import Image

    from .conftest import png

    await start_bot(max_image_pixels=1_000_000)
    tg.send_document(png(Image.new("1", (3000, 3000))), "bomb.png", "image/png", ALICE)
    [reply] = await tg.wait_sent(ALICE["id"])
    assert "too many pixels" in reply.text
    assert fake_model.requests == []


async def test_pdf_pages_become_notes(tg: FakeTelegram, start_bot: Any) -> None:
    from tests.pipeline.test_pdf import make_pdf

    await start_bot(pdf_max_pages=2)
    tg.send_document(make_pdf(3), "lecture.pdf", "application/pdf", ALICE)
    [doc] = await tg.wait_for(lambda f: f.calls_of("sendDocument", ALICE["id"]), timeout=20)
    assert doc.document and doc.document[0].endswith(".md")
    texts = " ".join(c.text for c in tg.calls_of("sendMessage", ALICE["id"]))
    assert "3 pages" in texts and "first 2" in texts


async def test_allowlist_refuses_politely_without_model_calls(
    tg: FakeTelegram, fake_model: FakeOpenAI, start_bot: Any
) -> None:
    await start_bot(allowed_user_ids="1002", admin_user_ids="9999")
    tg.send_photo(jpeg(), ALICE, caption="/ocr")
    [reply] = await tg.wait_sent(ALICE["id"])
    assert "1001" in reply.text and "approved" in reply.text
    tg.send_photo(jpeg(), LI, caption="/captcha")
    [ok] = await tg.wait_sent(LI["id"])
    assert "验证码" in ok.text
    assert len(fake_model.requests) == 1
    # A button pressed by someone not on the list: a plain-text alert, and no model call.
    before = len(tg.calls_of("answerCallbackQuery"))
    tg.press(tg.message_of(ok), ok.buttons[0][1], ALICE)
    [alert] = await tg.wait_for(lambda f: f.calls_of("answerCallbackQuery")[before:])
    assert alert.params["show_alert"] and "1001" in alert.params["text"]
    assert "<code>" not in alert.params["text"]
    await asyncio.sleep(0.3)
    assert len(fake_model.requests) == 1


async def test_rate_limit(tg: FakeTelegram, fake_model: FakeOpenAI, start_bot: Any) -> None:
    await start_bot(user_jobs_per_minute=2)
    for _ in range(3):
        tg.send_photo(jpeg(), ALICE, caption="/captcha")
    replies = await tg.wait_sent(ALICE["id"], 3)
    assert sum("too fast" in r.text for r in replies) == 1
    assert len(fake_model.requests) == 2


async def test_group_reacts_only_when_addressed(
    tg: FakeTelegram, fake_model: FakeOpenAI, start_bot: Any
) -> None:
    await start_bot()
    group = GROUP_ID
    tg.send_photo(jpeg(), ALICE, chat_id=group)  # not for us
    tg.send_text("nice photo", ALICE, chat_id=group)
    tg.send_photo(jpeg(), ALICE, chat_id=group, caption="/ocr@other_bot")
    tg.send_photo(jpeg(), ALICE, chat_id=group, caption=f"@{BOT_USERNAME} what is this?")
    [answer] = await tg.wait_sent(group)
    assert "A fake answer." in answer.text
    assert len(fake_model.requests) == 1
    # A reply to the bot's answer asks about the same photo.
    tg.reply_to_bot(answer, "and the colour?", ALICE)
    [second] = await tg.wait_sent(group, after=1)
    assert "A fake answer." in second.text
    assert "and the colour?" in fake_model.requests[-1].texts
    assert fake_model.requests[-1].images
    tg.send_text(f"/help@{BOT_USERNAME}", ALICE, chat_id=group)
    [help_text] = await tg.wait_sent(group, after=2)
    assert "privacy" in help_text.text
    photo = tg.send_photo(jpeg(), ALICE, chat_id=group)
    tg.send_text("/captcha", ALICE, chat_id=group, reply_to=photo["message_id"])
    [captcha] = await tg.wait_sent(group, after=3)
    assert "AB12" in captcha.text


async def test_each_users_photos_answered_in_order(
    tg: FakeTelegram, fake_model: FakeOpenAI, start_bot: Any
) -> None:
    await start_bot()
    # The first question is slow, the later ones fast: answers must still come in order.
    fake_model.reply(text("answer 1", delay=0.6), text("answer 2"), text("answer 3"))
    for i in range(3):
        tg.send_photo(jpeg(), ALICE, caption=f"question {i + 1}?")
    replies = await tg.wait_sent(ALICE["id"], 3, timeout=20)
    assert [r.text for r in replies] == ["answer 1", "answer 2", "answer 3"]


async def test_long_answer_split_at_paragraphs(
    tg: FakeTelegram, fake_model: FakeOpenAI, start_bot: Any
) -> None:
    await start_bot()
    vocab = [f"w{n}x{m}" for n in range(40) for m in range(40)]
    paragraphs = [
        f"Paragraph {i}: "
        + " ".join(vocab[(i * 300 + j) % len(vocab)] for j in range(300))
        + " word"
        for i in range(6)
    ]
    fake_model.reply(text("\n\n".join(paragraphs)))
    tg.send_photo(jpeg(), ALICE, caption="Explain this?")
    messages = await tg.wait_sent(ALICE["id"], 2, timeout=20)
    await asyncio.sleep(0.3)
    messages = tg.sent(ALICE["id"])
    assert len(messages) >= 2 and all(len(m.text) <= 4096 for m in messages)
    joined = "".join(m.text for m in messages)
    assert joined.replace("\n", "").replace(" ", "") == "".join(paragraphs).replace(" ", "")
    assert all(m.text.rstrip().endswith("word") for m in messages)
    assert messages[-1].buttons and not messages[0].buttons


async def test_telegram_flood_limit_is_retried(
    tg: FakeTelegram, fake_model: FakeOpenAI, start_bot: Any
) -> None:
    await start_bot()
    tg.fail("sendMessage", 429, retry_after=1)
    tg.send_photo(jpeg(), ALICE, caption="/captcha")
    [reply] = await tg.wait_for(lambda f: [c for c in f.sent(ALICE["id"]) if c.result], timeout=15)
    assert "AB12" in reply.text


async def test_model_outage_reads_offline_and_says_so(
    tg: FakeTelegram, fake_model: FakeOpenAI, start_bot: Any
) -> None:
    await start_bot()
    fake_model.responder = lambda req: error(503)
    tg.send_photo(jpeg(["Offline reading works"], size=40), ALICE, caption="/ocr")
    # The first offline reading loads the engine's models: seconds on a busy machine.
    [reply] = await tg.wait_sent(ALICE["id"], timeout=60)
    assert "read offline" in reply.text
    assert "reading works" in reply.text
    assert len(fake_model.requests) == 2  # one try and one retry, then the offline engine
