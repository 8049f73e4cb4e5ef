"""Page boxes from the vision model when the page finder is unsure: parsed defensively,
asked only when the setting is on, and the whole photo kept whenever the answer is no use.
The photo is the real newspaper held up in a kitchen (`../shared/real`, never copied
here), which the geometric finder keeps whole."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from notelens.pipeline.page_boxes import MODEL_PAGES, parse_boxes
from notelens.pipeline.pages import UNSURE
from notelens.pipeline.service import Pipeline
from testsupport.fakes import openai_server as fake
from testsupport.fakes.openai_server import Recorded

BESIDE = Path(__file__).resolve().parents[2] / ".." / "shared" / "real"
NEWSPAPER = Path(os.environ.get("NOTELENS_REAL_SET", BESIDE)) / "pages" / "wt_multipage_095727.jpg"

# the newspaper's two sides of the fold, as fractions of the photo: (x0, y0, x1, y1)
SIDES = [(0.1, 0.17, 0.9, 0.87), (0.12, 0.87, 0.9, 1.0)]


def test_boxes_are_read_from_a_fenced_grounding_answer() -> None:
    answer = (
        'Here are the pages:\n```json\n[{"bbox_2d": [10, 20, 400, 300], "label": "page"},\n'
        ' {"bbox_2d": [410, 20, 790, 300], "label": "page"}]\n```'
    )
    assert parse_boxes(answer, 800, 600) == [(10, 20, 400, 300), (410, 20, 790, 300)]


def test_boxes_are_clipped_and_what_is_no_page_is_dropped() -> None:
    answer = (
        "[[-30, 700, 500, 100], [600, 10, 610, 20], [50, 150, 300, 250],"
        ' {"bbox": [520, 0, 820, 600]}, {"label": "no box"}, [1, 2, "x", 4]]'
    )
    # corners sorted and clipped; a 10×10 speck and a box inside the first are dropped
    assert parse_boxes(answer, 800, 600) == [(0, 100, 500, 600), (520, 0, 800, 600)]


@pytest.mark.parametrize(
    "answer", ["", "no pages here", "[]", '[{"bbox_2d": [0, 0, 800, 600]}]', "[1, 2,"]
)
def test_no_usable_box_is_nothing(answer: str) -> None:
    """Nothing, garbage, or the whole photo again: the finder's answer stands."""
    assert parse_boxes(answer, 800, 600) == []


def answering(boxes: Callable[[int, int], str]) -> Callable[[Recorded], fake.Reply]:
    """`boxes(width, height)` for the grounding prompt, in the pixels of the image it got;
    for OCR, the size of the crop the model was sent."""

    def respond(req: Recorded) -> fake.Reply:
        if "bbox_2d" in req.user_text:
            return fake.text(boxes(*req.images[0].size))
        if req.image_urls:
            w, h = req.images[0].size
            return fake.text(f"crop {w}x{h}")
        return fake.text(req.user_text)

    return respond


def side_boxes(w: int, h: int) -> str:
    boxes = [
        {"bbox_2d": [round(x0 * w), round(y0 * h), round(x1 * w), round(y1 * h)], "label": "page"}
        for x0, y0, x1, y1 in SIDES
    ]
    return "```json\n" + json.dumps(boxes) + "\n```"


async def test_an_unsure_photo_is_cut_where_the_model_sees_pages(fake_model, settings_for) -> None:
    fake_model.responder = answering(side_boxes)
    settings = settings_for(fake_model, page_boxes_from_model="true", llm_api_key="")
    async with Pipeline(settings) as pipeline:
        result = await pipeline.notes([NEWSPAPER.read_bytes()], language="en")
    asks = [r for r in fake_model.requests if "bbox_2d" in r.user_text]
    assert len(asks) == 1 and asks[0].model == settings.vlm_model
    assert len(result.pages) == 2
    for page, (x0, y0, x1, y1) in zip(result.pages, SIDES, strict=True):
        w, h = (int(v) for v in page.ocr_text.split()[1].split("x"))
        # the photo is 3648 × 2736: each crop keeps its box's shape
        assert w / h == pytest.approx((x1 - x0) * 3648 / ((y1 - y0) * 2736), rel=0.08)
    assert MODEL_PAGES in result.markdown and UNSURE not in result.markdown


async def test_a_useless_answer_keeps_the_whole_photo(fake_model, settings_for) -> None:
    fake_model.responder = answering(lambda w, h: "I cannot see any pages.")
    settings = settings_for(fake_model, page_boxes_from_model="true", llm_api_key="")
    async with Pipeline(settings) as pipeline:
        result = await pipeline.notes([NEWSPAPER.read_bytes()], language="en")
    assert len(result.pages) == 1 and UNSURE in result.markdown
    assert sum("bbox_2d" in r.user_text for r in fake_model.requests) == 1


async def test_a_failing_model_keeps_the_whole_photo(fake_model, settings_for) -> None:
    fake_model.reply(fake.error(500), fake.error(500), fake.error(500))
    fake_model.responder = answering(side_boxes)
    settings = settings_for(fake_model, page_boxes_from_model="true", llm_api_key="")
    async with Pipeline(settings) as pipeline:
        result = await pipeline.notes([NEWSPAPER.read_bytes()], language="en")
    assert len(result.pages) == 1 and not result.pages[0].error
    assert UNSURE in result.markdown


async def test_off_by_default(fake_model, settings_for) -> None:
    fake_model.responder = answering(side_boxes)
    async with Pipeline(settings_for(fake_model, llm_api_key="")) as pipeline:
        result = await pipeline.notes([NEWSPAPER.read_bytes()], language="en")
    assert len(result.pages) == 1
    assert not any("bbox_2d" in r.user_text for r in fake_model.requests)
