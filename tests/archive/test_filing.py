"""Filing a notes result: the category from the text (no image sent), keywords, models."""

from __future__ import annotations

import pytest

from notelens.archive import Source, note_from_result
from notelens.config import Settings
from notelens.pipeline.context import Context
from notelens.pipeline.results import NotesResult, PageResult
from notelens.pipeline.tasks.classify import classify_text
from tests.conftest import model_env
from testsupport.fakes import openai_server as fake
from testsupport.fakes.openai_server import FakeOpenAI

CATEGORIES = ["数学", "历史", "宠物"]


@pytest.fixture
async def ctx(fake_model: FakeOpenAI, monkeypatch: pytest.MonkeyPatch):
    for key, value in model_env(fake_model).items():
        monkeypatch.setenv(key, value)
    context = Context.from_settings(Settings())
    yield context
    await context.aclose()


def result() -> NotesResult:
    pages = [
        PageResult(
            1, 1, ocr_text="线性代数\n矩阵乘法", polished="## 矩阵乘法\n\n**特征值** 与矩阵。"
        ),
        PageResult(2, 1, error="the model timed out"),
        PageResult(3, 2, ocr_text="Eigenvalue eigenvalue kernel", polished=None),
    ]
    return NotesResult(
        text="", title="线性代数", markdown="# 线性代数\n", pages=pages, engine="vlm"
    )


async def test_the_category_comes_from_the_text_alone(ctx: Context, fake_model: FakeOpenAI):
    fake_model.reply(fake.text("这份笔记不是历史，是数学"))
    note, warnings = await note_from_result(
        ctx, result(), source=Source("telegram", 5, 6), categories=CATEGORIES, language="zh"
    )
    assert note.category == "数学" and warnings == []
    (request,) = fake_model.requests
    assert request.image_urls == []
    assert "1. 数学" in request.texts and "矩阵乘法" in request.texts
    assert note.keywords[:2] == ["矩阵乘法", "特征值"] and "eigenvalue" in note.keywords
    assert note.model == "qwen-vl-ocr + qwen-plus"
    assert [p.error for p in note.pages] == [None, "the model timed out", None]
    assert "Eigenvalue" in note.body and "timed out" not in note.body


async def test_an_unplaceable_answer_is_mapped_then_other(ctx: Context, fake_model: FakeOpenAI):
    fake_model.reply(fake.text("Linear algebra"), fake.text("1"))
    chosen = await classify_text(ctx, "矩阵", CATEGORIES, language="en")
    assert chosen.category == "数学"
    assert "CATEGORY-MAPPING" in fake_model.requests[1].texts
    fake_model.reply(fake.error(400))
    note, warnings = await note_from_result(
        ctx, result(), source=Source("api"), categories=CATEGORIES, language="en"
    )
    assert note.category == "other"
    assert warnings and "classification failed" in warnings[0]


async def test_without_a_model_the_note_is_filed_under_other() -> None:
    context = Context.from_settings(Settings(vlm_provider="dashscope", ocr_engine="local"))
    assert context.vlm is None and context.llm is None
    note, _ = await note_from_result(
        context, result(), source=Source("files"), categories=CATEGORIES, language="zh"
    )
    assert note.category == "other" and note.keywords
