"""The drop-in endpoints answer in the earlier services' shapes, through the same jobs."""

from __future__ import annotations

import base64
import io

import pytest
from PIL import Image, ImageChops

from notelens.i18n import plain
from testsupport.fakes.openai_server import FakeOpenAI

from .conftest import Api, page_png

pytestmark = pytest.mark.asyncio(loop_scope="module")


async def test_ocr_answers_the_text_and_the_image_the_model_was_sent(
    shared_api: Api, fresh_model: FakeOpenAI
) -> None:
    image = base64.b64encode(page_png()).decode()
    async with shared_api.client() as client:
        answer = await client.post("/ocr", json={"image": image})
        listed = await client.post("/ocr", json={"image": f"data:image/png;base64,{image}"})
    assert answer.status_code == 200 and listed.status_code == 200
    body = answer.json()
    assert set(body) == {"success", "ocr_result", "preprocessed_image", "error"}
    assert body["success"] is True and body["error"] is None
    assert body["ocr_result"] == "Fake OCR text\nsecond line"
    png = base64.b64decode(body["preprocessed_image"])
    assert png.startswith(b"\x89PNG")
    ours = Image.open(io.BytesIO(png)).convert("RGB")
    sent = fresh_model.requests[0].images[0].convert("RGB")
    assert ours.size == sent.size
    assert ImageChops.difference(ours, sent).getbbox() is None  # the very same pixels


@pytest.mark.parametrize(
    ("payload", "status"),
    [
        ({"image": "not base64 at all!"}, 422),
        ({"image": base64.b64encode(b"plain text").decode()}, 415),
        ({"picture": "aGVsbG8="}, 422),
    ],
)
async def test_ocr_failures_keep_the_old_shape(
    shared_api: Api, fresh_model: FakeOpenAI, payload: dict[str, str], status: int
) -> None:
    async with shared_api.client() as client:
        answer = await client.post("/ocr", json=payload)
    assert answer.status_code == status
    body = answer.json()
    assert body["success"] is False and isinstance(body["error"], str) and body["error"]
    assert fresh_model.requests == []


async def test_ocr_says_when_the_image_cannot_be_read(
    shared_api: Api, fresh_model: FakeOpenAI
) -> None:
    """A PNG cut short passes the content check, then fails in the job: its reason comes back."""
    broken = base64.b64encode(page_png()[:300]).decode()
    async with shared_api.client() as client:
        answer = await client.post("/ocr", json={"image": broken})
    assert answer.status_code == 422
    assert answer.json() == {"success": False, "error": plain("en", "image_corrupt")}
    assert fresh_model.requests == []


async def test_analyze_answers_the_question_as_text(
    shared_api: Api, fresh_model: FakeOpenAI
) -> None:
    async with shared_api.client() as client:
        answer = await client.post(
            "/api/v1/analyze",
            files={"image": ("a.png", page_png(), "image/png")},
            data={"query": "What colour is the paper?"},
        )
        no_query = await client.post(
            "/api/v1/analyze", files={"image": ("a.png", page_png(), "image/png")}
        )
        not_image = await client.post(
            "/api/v1/analyze",
            files={"image": ("a.png", b"text", "image/png")},
            data={"query": "why?"},
        )
    assert answer.status_code == 200 and answer.json() == {"text": "A fake answer."}
    assert "What colour is the paper?" in fresh_model.requests[0].texts
    assert no_query.status_code == 422 and no_query.json()["error"]["code"] == "invalid"
    assert not_image.status_code == 415 and not_image.json()["error"]["code"] == "not_image"
