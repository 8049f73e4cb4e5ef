"""OCR_ENGINE: auto picks by configuration, vlm falls back offline, local never calls out."""

from __future__ import annotations

import io

from notelens.config import Settings
from notelens.pipeline.service import Pipeline
from testsupport.fakes import openai_server as fake
from testsupport.imagegen.captchas import Captcha
from testsupport.imagegen.text import render_lines

SENTENCE = "The quick brown fox jumps over the lazy dog."


def edit_distance(a: str, b: str) -> int:
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def page_bytes(lines: list[str] | None = None) -> bytes:
    buf = io.BytesIO()
    render_lines(lines or [SENTENCE], size=36).save(buf, format="PNG")
    return buf.getvalue()


async def test_auto_without_a_key_reads_offline() -> None:
    settings = Settings()
    assert settings.uses_local_ocr
    async with Pipeline(settings) as pipeline:
        result = await pipeline.ocr(page_bytes())
    assert result.engine == "local"
    assert edit_distance(result.text, SENTENCE) <= 2


async def test_auto_with_a_key_uses_the_model(fake_model, settings_for) -> None:
    settings = settings_for(fake_model, ocr_engine="auto")
    assert not settings.uses_local_ocr
    fake_model.reply(fake.text("from the model"))
    async with Pipeline(settings) as pipeline:
        result = await pipeline.ocr(page_bytes())
    assert (result.engine, result.text) == ("vlm", "from the model")


def test_a_self_hosted_url_counts_as_configured(monkeypatch) -> None:
    monkeypatch.setenv("VLM_BASE_URL", "http://127.0.0.1:11434/v1")
    settings = Settings()
    assert settings.has_vlm and not settings.uses_local_ocr
    assert settings.resolved_provider == "ollama"


async def test_vlm_falls_back_offline_when_the_endpoint_fails(fake_model, settings_for) -> None:
    fake_model.responder = lambda req: fake.error(503)
    async with Pipeline(settings_for(fake_model, vlm_max_retries=1)) as pipeline:
        result = await pipeline.ocr(page_bytes())
    assert result.engine == "local"
    assert edit_distance(result.text, SENTENCE) <= 2
    assert any("read offline" in w for w in result.warnings)
    assert len(fake_model.requests) == 2  # the first try and one retry, then offline


async def test_local_never_calls_the_model(fake_model, settings_for) -> None:
    async with Pipeline(settings_for(fake_model, ocr_engine="local")) as pipeline:
        ocr = await pipeline.ocr(page_bytes())
        notes = await pipeline.notes([page_bytes()], language="en")
    assert ocr.engine == "local" and edit_distance(ocr.text, SENTENCE) <= 2
    assert fake_model.requests == []  # nor polishing: offline text stays offline
    assert "Not polished" in notes.markdown
    assert notes.pages[0].polished is None


async def test_captcha_offline_is_one_line_without_spaces() -> None:
    buf = io.BytesIO()
    Captcha("7K3Q9", seed=5).render().save(buf, format="PNG")
    async with Pipeline(Settings()) as pipeline:
        result = await pipeline.captcha(buf.getvalue())
        spaced = await pipeline.captcha(page_bytes(["A B 1 2"]))
    assert result.engine == "local"
    assert " " not in result.text and "\n" not in result.text
    assert edit_distance(result.text.upper(), "7K3Q9") <= 2
    assert spaced.text == "AB12"


async def test_captcha_falls_back_offline(fake_model, settings_for) -> None:
    fake_model.responder = lambda req: fake.error(500)
    async with Pipeline(settings_for(fake_model, vlm_max_retries=0)) as pipeline:
        result = await pipeline.captcha(page_bytes(["XY42"]))
    assert result.engine == "local" and result.text == "XY42"
    assert any("read offline" in w for w in result.warnings)


def test_the_locale_variable_language_is_not_ours(monkeypatch) -> None:
    monkeypatch.setenv("LANGUAGE", "en_US:en")
    monkeypatch.setenv("DEFAULT_LANGUAGE", "en")
    assert Settings().default_language == "en"
