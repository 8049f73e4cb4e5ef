from __future__ import annotations

import io

import pytest
from PIL import Image

from notelens.pipeline.service import Pipeline
from notelens.pipeline.tasks.classify import match_category
from testsupport.fakes import openai_server as fake

DEFAULT = ["二次元", "生活照片", "宠物", "工作", "表情包"]
CUSTOM = ["sunset", "food", "portrait", "city skyline", "beach at dusk"]


@pytest.mark.parametrize(
    ("answer", "categories", "expected"),
    [
        ("宠物", DEFAULT, "宠物"),
        ("「宠物」", DEFAULT, "宠物"),
        ('"表情包"。', DEFAULT, "表情包"),
        ("【工作】", DEFAULT, "工作"),
        ("3", DEFAULT, "宠物"),
        ("这张图片属于宠物类别。", DEFAULT, "宠物"),
        ("这不是二次元，是宠物", DEFAULT, "宠物"),
        ("并非表情包，而是生活照片", DEFAULT, "生活照片"),
        ("other", DEFAULT, "other"),
        ("其他", DEFAULT, "other"),
        ("Food", CUSTOM, "food"),
        ("The image shows a city skyline at night.", CUSTOM, "city skyline"),
        ("It's not a sunset, it's a beach at dusk.", CUSTOM, "beach at dusk"),
        ("This is a portrait rather than food.", CUSTOM, "portrait"),
        ("portraits", CUSTOM, "portrait"),
        ("sunsett", CUSTOM, "sunset"),
        ("猫", ["猫", "狗", "猫头鹰"], "猫"),
        ("这是一只猫头鹰", ["猫", "狗", "猫头鹰"], "猫头鹰"),
        ("Категория: кошки", ["кошки", "собаки"], "кошки"),
    ],
)
def test_answers_are_matched_by_rules(answer: str, categories: list[str], expected: str) -> None:
    assert match_category(answer, categories)[0] == expected


@pytest.mark.parametrize(
    ("answer", "categories"),
    [("pet", DEFAULT), ("宠物", CUSTOM), ("not food", CUSTOM), ("I cannot tell.", CUSTOM)],
)
def test_what_rules_cannot_place_is_left_open(answer: str, categories: list[str]) -> None:
    assert match_category(answer, categories)[0] is None


def photo_bytes(size=(4032, 3024)) -> bytes:
    img = Image.linear_gradient("L").resize(size).convert("RGB")
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=85)
    return buf.getvalue()


async def test_classify_sends_a_small_image_and_lists_the_categories(
    fake_model: fake.FakeOpenAI, settings_for
) -> None:
    fake_model.reply(fake.text("宠物"))
    async with Pipeline(settings_for(fake_model)) as pipeline:
        result = await pipeline.classify(photo_bytes())
    assert result.category == "宠物" and result.raw == "宠物"
    (req,) = fake_model.requests
    assert req.model == "qwen-vl-plus"
    for i, name in enumerate(DEFAULT, 1):
        assert f"{i}. {name}" in req.texts
    (img,) = req.images
    assert img.width % 32 == 0 and img.height % 32 == 0
    assert (img.width // 32) * (img.height // 32) + 2 <= 258
    assert result.usage.estimated_image_tokens == (img.width // 32) * (img.height // 32) + 2
    assert result.usage.image_tokens == 100  # what the fake server reported


async def test_custom_categories_and_english_prompt(
    fake_model: fake.FakeOpenAI, settings_for
) -> None:
    fake_model.reply(fake.text("I'd say: city skyline"))
    async with Pipeline(settings_for(fake_model, default_language="en")) as pipeline:
        result = await pipeline.classify(photo_bytes((800, 600)), CUSTOM)
    assert result.category == "city skyline"
    assert "CATEGORIES:" in fake_model.requests[0].texts
    assert "1. sunset" in fake_model.requests[0].texts


async def test_an_answer_in_another_language_is_mapped_by_the_llm(
    fake_model: fake.FakeOpenAI, settings_for
) -> None:
    fake_model.reply(fake.text("It is a pet."), fake.text("3"))
    async with Pipeline(settings_for(fake_model)) as pipeline:
        result = await pipeline.classify(photo_bytes((800, 600)))
    assert result.category == "宠物"
    mapping = fake_model.requests[1]
    assert not mapping.image_urls and "It is a pet." in mapping.texts
    assert mapping.model == "qwen-plus"
    assert result.usage.calls == 2


async def test_an_unplaceable_answer_is_other_with_a_warning(
    fake_model: fake.FakeOpenAI, settings_for
) -> None:
    fake_model.reply(fake.text("a blurry thing"), fake.text("0"))
    fake_model.reply(fake.text("a blurry thing"), fake.text("no idea"))
    async with Pipeline(settings_for(fake_model)) as pipeline:
        none_of_them = await pipeline.classify(photo_bytes((800, 600)))
        unplaceable = await pipeline.classify(photo_bytes((800, 600)))
    assert none_of_them.category == "other" and not none_of_them.warnings
    assert unplaceable.category == "other"
    assert any("could not match" in w for w in unplaceable.warnings)
