"""A question about a photo, answered by the VLM."""

from __future__ import annotations

from .. import prompts
from ..context import Context, ImageInput, image_message
from ..results import TaskResult

ANSWER_MAX_TOKENS = 1500


async def ask(
    ctx: Context, image: ImageInput, question: str, *, language: str = "zh"
) -> TaskResult:
    question = question.strip()
    if not question:
        raise ValueError("empty question")
    client = ctx.require_vlm("Answering questions")
    prepared = await ctx.prepare(image, "ask")
    prompt = prompts.render(ctx.settings.prompts_dir, "ask", language, question=question[:2000])
    done = await client.complete(
        image_message(prepared, prompt),
        max_tokens=ANSWER_MAX_TOKENS,
        temperature=0.2,
        estimated_image_tokens=prepared.tokens,
        extra_body=client.provider_fields(high_resolution=ctx.high_resolution()),
    )
    return TaskResult(done.text, done.text, done.usage, done.warnings)
