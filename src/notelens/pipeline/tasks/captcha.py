"""Captchas and short codes: the characters alone."""

from __future__ import annotations

import re

from .. import prompts
from ..context import Context, ImageInput, image_message
from ..results import TaskResult
from .ocr import should_fall_back

QUOTED = re.compile(r"[\"'“”‘’「」『』`]([^\"'“”‘’「」『』`]{1,40})[\"'“”‘’「」『』`]")
CODE_CHARS = re.compile(r"[^\w]", re.UNICODE)


def _code_like(token: str) -> bool:
    return any(ch.isdigit() for ch in token) or (token.isupper() and len(token) > 1)


def clean_code(answer: str, *, length: int | None = None, alphabet: str | None = None) -> str:
    """Pull the code out of an answer that may quote it, explain it or space it out."""
    text = answer.strip().strip("`").strip()
    if quoted := QUOTED.findall(text):
        text = quoted[-1]
    elif re.search(r"[:：]", text):
        text = re.split(r"[:：]", text)[-1]
    tokens = [CODE_CHARS.sub("", t) for t in text.split()]
    tokens = [t for t in tokens if t]
    if not tokens:
        return ""
    joined = "".join(tokens)
    if len(tokens) == 1 or all(len(t) <= 2 for t in tokens) or len(joined) <= 8:
        candidate = joined  # "A B 1 2" or a single token
    else:
        if alphabet:
            fitting = [t for t in tokens if all(ch in alphabet for ch in t)]
            tokens = fitting or tokens
        if length:
            exact = [t for t in tokens if len(t) == length]
            tokens = exact or tokens
        code_like = [t for t in tokens if _code_like(t)]
        candidate = (code_like or [max(tokens, key=len)])[-1]
    if alphabet:
        candidate = "".join(ch for ch in candidate if ch in alphabet)
    return candidate


async def captcha(
    ctx: Context,
    image: ImageInput,
    *,
    length: int | None = None,
    alphabet: str | None = None,
    language: str = "zh",
) -> TaskResult:
    if ctx.settings.uses_local_ocr:
        return await _captcha_locally(ctx, image, [], length, alphabet)
    client = ctx.require_vlm("Captcha reading")
    prepared = await ctx.prepare(image, "captcha")
    rules = []
    if length:
        rules.append(f"length={length}" if language == "en" else f"验证码长度为 {length} 个字符。")
    if alphabet:
        rules.append(
            f"Allowed characters: {alphabet}"
            if language == "en"
            else f"只可能包含这些字符：{alphabet}"
        )
    prompt = prompts.render(
        ctx.settings.prompts_dir, "captcha", language, constraints="\n".join(rules)
    )
    try:
        done = await client.complete(
            image_message(prepared, prompt),
            max_tokens=32,
            estimated_image_tokens=prepared.tokens,
            extra_body=client.provider_fields(high_resolution=False),
        )
    except Exception as exc:
        if not should_fall_back(ctx, exc):
            raise
        return await _captcha_locally(
            ctx, image, [f"model failed ({exc}); read offline"], length, alphabet
        )
    code = clean_code(done.text, length=length, alphabet=alphabet)
    return TaskResult(code, done.text, done.usage, done.warnings + _check(code, length))


async def _captcha_locally(
    ctx: Context, image: ImageInput, warnings: list[str], length: int | None, alphabet: str | None
) -> TaskResult:
    from ..local_ocr import get_engine

    img = await ctx.decode(image)
    result = await get_engine().read_code(img, length=length, alphabet=alphabet)
    code = result.text
    return TaskResult(
        code,
        result.text,
        warnings=warnings + result.warnings + _check(code, length),
        engine="local",
    )


def _check(code: str, length: int | None) -> list[str]:
    if not code:
        return ["no characters recognised"]
    if length and len(code) != length:
        return [f"expected {length} characters, read {len(code)}"]
    return []
