from __future__ import annotations

import time

import pytest

from notelens.pipeline.errors import ModelAuthError, ModelError, ModelOutputError, ModelUnavailable
from notelens.pipeline.vlm import ModelClient, repetition_loop, strip_fences
from testsupport.fakes import openai_server as fake
from testsupport.fakes.openai_server import FakeOpenAI

MESSAGES = [{"role": "user", "content": "hello"}]


def client_for(server: FakeOpenAI, **kw) -> ModelClient:
    args = {
        "base_url": server.url,
        "api_key": "sk-test",
        "model": "qwen-vl-plus",
        "timeout": 2.0,
        "max_retries": 2,
        "max_concurrency": 4,
    }
    args.update(kw)
    return ModelClient(**args)


@pytest.mark.parametrize(
    ("text", "looping"),
    [
        ("的" * 300, True),
        ("开头。" + "重复的句子。" * 60, True),
        ("line one\n" * 40, True),
        ("A normal paragraph of notes. " * 3, False),
        ("目录 ........ 12\n第一章 ...... 15\n", False),
        ("| a | b |\n|---|---|\n| 1 | 2 |\n", False),
        ("", False),
    ],
)
def test_repetition_loop(text: str, looping: bool) -> None:
    assert repetition_loop(text) is looping


def test_strip_fences() -> None:
    assert strip_fences("```markdown\n# Title\ntext\n```") == "# Title\ntext"
    assert strip_fences("  plain  ") == "plain"
    assert strip_fences("a ```code``` inside") == "a ```code``` inside"


async def test_usage_is_read_from_the_answer(fake_model: FakeOpenAI) -> None:
    fake_model.reply(fake.text("hi", usage={"prompt_tokens": 7, "completion_tokens": 3}))
    client = client_for(fake_model)
    done = await client.complete(MESSAGES, estimated_image_tokens=42)
    await client.aclose()
    assert done.text == "hi"
    assert (done.usage.prompt_tokens, done.usage.completion_tokens) == (7, 3)
    assert done.usage.estimated_image_tokens == 42 and done.usage.calls == 1
    assert fake_model.requests[0].headers["Authorization"] == "Bearer sk-test"


async def test_429_with_retry_after_is_retried(fake_model: FakeOpenAI) -> None:
    fake_model.reply(fake.error(429, retry_after=0.3), fake.text("after the wait"))
    client = client_for(fake_model)
    start = time.monotonic()
    done = await client.complete(MESSAGES)
    await client.aclose()
    assert done.text == "after the wait"
    assert len(fake_model.requests) == 2
    assert fake_model.requests[1].at - fake_model.requests[0].at >= 0.25
    assert time.monotonic() - start < 5


async def test_server_errors_are_retried_then_reported(fake_model: FakeOpenAI) -> None:
    fake_model.reply(fake.error(500), fake.text("recovered"))
    client = client_for(fake_model)
    assert (await client.complete(MESSAGES)).text == "recovered"
    fake_model.reply(*[fake.error(503)] * 3)
    with pytest.raises(ModelUnavailable) as info:
        await client.complete(MESSAGES)
    await client.aclose()
    assert info.value.code == "model_server_error"
    assert len(fake_model.requests) == 2 + 3  # one retry, then the first try and two retries


async def test_a_hang_past_the_timeout_is_a_timeout(fake_model: FakeOpenAI) -> None:
    fake_model.reply(fake.hang(5), fake.hang(5))
    client = client_for(fake_model, timeout=0.5, max_retries=1)
    with pytest.raises(ModelUnavailable) as info:
        await client.complete(MESSAGES)
    await client.aclose()
    assert info.value.code == "model_timeout"


async def test_unreachable_endpoint() -> None:
    client = ModelClient(
        base_url="http://127.0.0.1:9/v1", api_key="k", model="m", timeout=1, max_retries=0
    )
    with pytest.raises(ModelUnavailable) as info:
        await client.complete(MESSAGES)
    await client.aclose()
    assert info.value.code == "model_unreachable"


async def test_rejected_key_is_an_auth_error_without_the_key(fake_model: FakeOpenAI) -> None:
    fake_model.reply(fake.error(401))
    client = client_for(fake_model, api_key="sk-very-secret")
    with pytest.raises(ModelAuthError) as info:
        await client.complete(MESSAGES)
    await client.aclose()
    assert "sk-very-secret" not in str(info.value)


@pytest.mark.parametrize("bad", [fake.empty(), fake.cut_off(), fake.looping()])
async def test_useless_answer_is_retried_hotter(fake_model: FakeOpenAI, bad: fake.Reply) -> None:
    fake_model.reply(bad, fake.text("good"))
    client = client_for(fake_model)
    done = await client.complete(MESSAGES)
    await client.aclose()
    assert done.text == "good"
    assert done.attempts == 2 and done.warnings
    first, second = (r.body for r in fake_model.requests)
    assert first["temperature"] == 0.0 and "presence_penalty" not in first
    assert second["temperature"] > first["temperature"]
    assert done.usage.calls == 2


@pytest.mark.parametrize("bad", [fake.empty(), fake.cut_off(), fake.looping()])
async def test_useless_twice_is_a_clear_error(fake_model: FakeOpenAI, bad: fake.Reply) -> None:
    fake_model.reply(bad, bad)
    client = client_for(fake_model)
    with pytest.raises(ModelOutputError, match="twice"):
        await client.complete(MESSAGES)
    await client.aclose()
    assert len(fake_model.requests) == 2


async def test_empty_may_be_accepted_after_the_retry(fake_model: FakeOpenAI) -> None:
    fake_model.reply(fake.empty(), fake.empty())
    client = client_for(fake_model)
    done = await client.complete(MESSAGES, allow_empty=True)
    await client.aclose()
    assert done.text == "" and len(fake_model.requests) == 2


async def test_garbage_body_is_a_model_error(fake_model: FakeOpenAI) -> None:
    fake_model.reply(*[fake.garbage()] * 3)
    client = client_for(fake_model)
    with pytest.raises(ModelError):
        await client.complete(MESSAGES)
    await client.aclose()


async def test_concurrency_is_bounded(fake_model: FakeOpenAI) -> None:
    import asyncio

    fake_model.latency = 0.2
    client = client_for(fake_model, max_concurrency=3)
    await asyncio.gather(*(client.complete(MESSAGES) for _ in range(9)))
    await client.aclose()
    assert fake_model.max_in_flight == 3


def test_dashscope_fields_go_to_dashscope_only() -> None:
    dash = ModelClient(base_url="http://x/v1", api_key="k", model="m", provider="dashscope")
    other = ModelClient(base_url="http://x/v1", api_key="k", model="m", provider="ollama")
    assert dash.provider_fields(high_resolution=True) == {"vl_high_resolution_images": True}
    assert other.provider_fields(high_resolution=True) == {}
