"""captcha, ocr and ask through the fake model server."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from notelens.pipeline.errors import ConfigError, ImageError, ModelError
from notelens.pipeline.service import Pipeline
from notelens.pipeline.tasks.captcha import clean_code
from testsupport.fakes import openai_server as fake
from testsupport.imagegen.text import EN_SENTENCES, render_lines


def png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


@pytest.mark.parametrize(
    ("answer", "kw", "expected"),
    [
        ("AB12", {}, "AB12"),
        ('"x7Kp"', {}, "x7Kp"),
        ("验证码是：3F9K", {}, "3F9K"),
        ("The code is: 9 4 2 7", {}, "9427"),
        ("A B 1 2", {}, "AB12"),
        ("```\nQW3E\n```", {}, "QW3E"),
        ("The characters in the image are XK42P, as far as I can see", {"length": 5}, "XK42P"),
        ("I read the captcha as 0O1l7", {"alphabet": "0123456789"}, "017"),
        ("「天地玄黄」", {}, "天地玄黄"),
    ],
)
def test_clean_code(answer: str, kw: dict, expected: str) -> None:
    assert clean_code(answer, **kw) == expected


async def test_captcha_is_upscaled_and_cleaned(fake_model: fake.FakeOpenAI, settings_for) -> None:
    fake_model.reply(fake.text('验证码是 "k3Xq"'))
    async with Pipeline(settings_for(fake_model, vlm_token_pixels=28)) as pipeline:
        result = await pipeline.captcha(png(Image.new("RGB", (90, 24), "white")), length=4)
    assert result.text == "k3Xq" and not result.warnings
    (img,) = fake_model.requests[0].images
    assert min(img.size) >= 56  # two tokens: Ollama fails under 28 px
    assert fake_model.requests[0].image_mimes == ["image/png"]
    assert "4" in fake_model.requests[0].texts


async def test_captcha_length_mismatch_is_a_warning(
    fake_model: fake.FakeOpenAI, settings_for
) -> None:
    fake_model.reply(fake.text("ABC"))
    async with Pipeline(settings_for(fake_model)) as pipeline:
        result = await pipeline.captcha(png(Image.new("RGB", (90, 30), "white")), length=4)
    assert result.text == "ABC"
    assert any("expected 4" in w for w in result.warnings)


async def test_ocr_uses_the_ocr_model_and_a_large_budget(
    fake_model: fake.FakeOpenAI, settings_for
) -> None:
    page = render_lines(list(EN_SENTENCES), size=28)
    fake_model.reply(fake.text("```markdown\nThe quick brown fox\n```"))
    async with Pipeline(settings_for(fake_model, ocr_max_tokens=2560)) as pipeline:
        result = await pipeline.ocr(png(page.resize((page.width * 3, page.height * 3))))
    assert result.text == "The quick brown fox"
    req = fake_model.requests[0]
    assert req.model == "qwen-vl-ocr"
    assert "Read all the text in the image" in req.texts
    (img,) = req.images
    tokens = (img.width // 32) * (img.height // 32)
    assert 1280 < tokens <= 2560
    assert "vl_high_resolution_images" not in req.body  # not a DashScope URL


async def test_dashscope_gets_its_own_fields(fake_model: fake.FakeOpenAI, settings_for) -> None:
    page = render_lines(["Some text"], size=28)
    settings = settings_for(fake_model, vlm_provider="dashscope", ocr_max_tokens=2560)
    async with Pipeline(settings) as pipeline:
        await pipeline.ocr(png(page))
    assert fake_model.requests[0].body["vl_high_resolution_images"] is True


async def test_ocr_of_a_blank_image_makes_no_call(
    fake_model: fake.FakeOpenAI, settings_for
) -> None:
    async with Pipeline(settings_for(fake_model)) as pipeline:
        result = await pipeline.ocr(png(Image.new("RGB", (800, 600), "white")))
    assert result.text == "" and result.warnings
    assert fake_model.requests == []


async def test_ask_passes_the_question(fake_model: fake.FakeOpenAI, settings_for) -> None:
    fake_model.reply(fake.text("There are three apples."))
    async with Pipeline(settings_for(fake_model, default_language="en")) as pipeline:
        result = await pipeline.ask(png(Image.new("RGB", (300, 200), "red")), "How many apples?")
    assert result.text == "There are three apples."
    assert "Question: How many apples?" in fake_model.requests[0].texts


async def test_bad_image_fails_before_any_call(fake_model: fake.FakeOpenAI, settings_for) -> None:
    async with Pipeline(settings_for(fake_model)) as pipeline:
        with pytest.raises(ImageError):
            await pipeline.classify(b"definitely not an image")
    assert fake_model.requests == []


async def test_model_failure_surfaces_as_model_error(
    fake_model: fake.FakeOpenAI, settings_for
) -> None:
    fake_model.reply(*[fake.error(500)] * 3)
    async with Pipeline(settings_for(fake_model)) as pipeline:
        with pytest.raises(ModelError):
            await pipeline.ask(png(Image.new("RGB", (300, 200), "red")), "What is this?")


async def test_no_key_means_no_vision_model() -> None:
    from notelens.config import Settings

    async with Pipeline(Settings()) as pipeline:
        with pytest.raises(ConfigError, match="VLM_API_KEY"):
            await pipeline.classify(png(Image.new("RGB", (50, 50))))
