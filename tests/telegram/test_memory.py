"""Albums under a tight pixel budget: photos wait their turn, and every one is answered."""

from __future__ import annotations

import io
from typing import Any

from testsupport.fakes.openai_server import FakeOpenAI, Recorded, text
from testsupport.fakes.telegram_server import FakeTelegram, user
from testsupport.imagegen.text import EN_SENTENCES, render_lines

ALICE = user(1001, "en")


def big_page(lines: int) -> bytes:
    """A flat page of about 1.3 MP: larger than the whole 1 MP budget of these tests."""
    img = render_lines(list(EN_SENTENCES[:lines]), size=34, width=1500)
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=90)
    return buf.getvalue()


def ocr_or_polish(req: Recorded) -> Any:
    return text("page text" if req.image_urls else req.user_text)


async def test_album_under_a_tight_budget_reads_every_photo(
    tg: FakeTelegram, fake_model: FakeOpenAI, start_bot: Any
) -> None:
    fake_model.responder = ocr_or_polish
    bot = await start_bot(max_pixels_in_flight=1_000_000)
    photos = [big_page(n) for n in (3, 4, 5, 6)]
    tg.send_album(photos, ALICE)
    [doc] = await tg.wait_for(lambda f: f.calls_of("sendDocument", ALICE["id"]), timeout=60)
    markdown = (doc.document or ("", b""))[1].decode()
    assert [f"## Page {n}" in markdown for n in (1, 2, 3, 4)] == [True] * 4
    assert "could not be read" not in markdown
    assert len([r for r in fake_model.requests if r.image_urls]) == 4
    assert bot.pipeline.ctx.pixels.in_use == 0


async def test_a_broken_photo_in_an_album_is_marked_and_the_rest_read(
    tg: FakeTelegram, fake_model: FakeOpenAI, start_bot: Any
) -> None:
    fake_model.responder = ocr_or_polish
    await start_bot(max_pixels_in_flight=1_000_000)
    broken = big_page(3)[:2000]  # the header is there, the picture is cut off
    tg.send_album([big_page(3), broken, big_page(5)], ALICE)
    [doc] = await tg.wait_for(lambda f: f.calls_of("sendDocument", ALICE["id"]), timeout=60)
    markdown = (doc.document or ("", b""))[1].decode()
    assert "## Page 3" in markdown
    assert markdown.count("could not be read") == 1
    assert len([r for r in fake_model.requests if r.image_urls]) == 2
