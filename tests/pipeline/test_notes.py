"""notes(): pages in order, concurrent OCR, polishing, failures kept visible."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from notelens.pipeline.errors import ImageError
from notelens.pipeline.service import Pipeline
from notelens.pipeline.tasks.notes import demote_headings, fenced
from testsupport.fakes import openai_server as fake
from testsupport.fakes.openai_server import Recorded
from testsupport.imagegen.text import EN_SENTENCES, render_lines

TINTS = {"red": (255, 235, 235), "green": (235, 255, 235), "blue": (235, 235, 255)}


def tinted_page(name: str) -> bytes:
    """A flat page whose paper colour tells the fake model which page it sees."""
    img = render_lines(list(EN_SENTENCES[:4]), size=30, background=TINTS[name])
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def tint_of(img: Image.Image) -> str:
    r, g, b = img.convert("RGB").getpixel((3, 3))
    return "red" if r > max(g, b) else "green" if g > max(r, b) else "blue"


def by_page(req: Recorded) -> fake.Reply:
    """OCR answers name the page, slowest first; polishing marks the text."""
    if req.image_urls:
        name = tint_of(req.images[0])
        delay = {"red": 0.6, "green": 0.3, "blue": 0.0}[name]
        return fake.text(f"## Heading {name}\ntext of the {name} page", delay=delay)
    return fake.text(f"POLISHED\n{req.user_text}")


async def test_pages_keep_their_order_and_both_texts(fake_model, settings_for) -> None:
    fake_model.responder = by_page
    seen: list[tuple[int, int]] = []

    async def progress(done: int, total: int) -> None:
        seen.append((done, total))

    async with Pipeline(settings_for(fake_model)) as pipeline:
        result = await pipeline.notes(
            [tinted_page("red"), tinted_page("green"), tinted_page("blue")],
            language="en",
            progress=progress,
        )
    assert [p.ocr_text.split("\n")[1] for p in result.pages] == [
        "text of the red page",
        "text of the green page",
        "text of the blue page",
    ]
    assert all(p.polished and p.polished.startswith("POLISHED") for p in result.pages)
    md = result.markdown
    assert md.index("## Page 1") < md.index("## Page 2") < md.index("## Page 3")
    assert md.index("red page") < md.index("green page") < md.index("blue page")
    assert "<summary>Raw OCR text</summary>" in md
    assert "#### Heading red" in md  # the page's own heading sits below the page heading
    assert result.title == "Heading red"
    assert seen[-1] == (3, 3) and len(seen) == 3
    ocr_calls = [r for r in fake_model.requests if r.image_urls]
    assert {r.model for r in ocr_calls} == {"qwen-vl-ocr"}
    # OCR ran concurrently: the slow red page did not hold the others back
    assert max(r.at for r in ocr_calls) - min(r.at for r in ocr_calls) < 0.5


async def test_a_page_that_fails_stays_marked(fake_model, settings_for) -> None:
    fake_model.responder = by_page
    async with Pipeline(settings_for(fake_model)) as pipeline:
        result = await pipeline.notes(
            [tinted_page("red"), b"this upload is not an image", tinted_page("blue")],
            language="zh",
        )
    assert [p.ok for p in result.pages] == [True, False, True]
    assert result.failed_pages[0].index == 2
    assert "第 2 页" in result.markdown and "这一页没能识别" in result.markdown
    assert "1 页识别失败" in result.markdown
    assert "blue page" in result.markdown


async def test_polishing_failure_keeps_the_raw_text(fake_model, settings_for) -> None:
    def no_polish(req: Recorded) -> fake.Reply:
        return by_page(req) if req.image_urls else fake.error(500)

    fake_model.responder = no_polish
    async with Pipeline(settings_for(fake_model, vlm_max_retries=0)) as pipeline:
        result = await pipeline.notes([tinted_page("green")], language="en")
    page = result.pages[0]
    assert page.ok and page.polished is None
    assert "could not be polished" in result.markdown
    assert "text of the green page" in result.markdown


async def test_all_inputs_bad_is_an_error(fake_model, settings_for) -> None:
    async with Pipeline(settings_for(fake_model)) as pipeline:
        with pytest.raises(ImageError):
            await pipeline.notes([b"nope"])


async def test_a_blank_page_is_not_sent(fake_model, settings_for) -> None:
    buf = io.BytesIO()
    Image.new("RGB", (1200, 1600), "white").save(buf, format="PNG")
    async with Pipeline(settings_for(fake_model)) as pipeline:
        result = await pipeline.notes([buf.getvalue()], language="en")
    assert "(blank page)" in result.markdown
    assert fake_model.requests == []


def test_markdown_helpers() -> None:
    assert demote_headings("# A\ntext\n### B") == "### A\ntext\n##### B"
    assert fenced("x ``` y").startswith("````text\n")
