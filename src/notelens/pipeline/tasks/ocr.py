"""All the text of an image, in reading order: the VLM, or the offline engine."""

from __future__ import annotations

import asyncio
import base64
import io
from typing import TYPE_CHECKING

from PIL import Image, ImageStat

from .. import prompts
from ..context import Context, ImageInput, image_message
from ..errors import ModelError
from ..images import PAGE_MAX_PIXELS, PreparedImage
from ..results import TaskResult

if TYPE_CHECKING:
    from ..local_ocr import LocalOcrResult

OCR_MAX_OUTPUT_TOKENS = 4096


def should_fall_back(ctx: Context, exc: BaseException) -> bool:
    """A failed model call falls back to the offline engine unless told otherwise."""
    return isinstance(exc, ModelError) and ctx.settings.ocr_engine != "local"


def is_blank(img: Image.Image) -> bool:
    """A page with (almost) no ink: models tend to invent text for these."""
    small = img.convert("L")
    small.thumbnail((256, 256))
    return ImageStat.Stat(small).stddev[0] < 4.0


async def read_locally(
    ctx: Context, image: ImageInput, *, single_line: bool = False
) -> LocalOcrResult:
    from ..local_ocr import get_engine

    img = await ctx.decode(image, target_pixels=PAGE_MAX_PIXELS)
    return await get_engine().read(img, single_line=single_line)


async def ocr_locally(ctx: Context, image: ImageInput, warnings: list[str]) -> TaskResult:
    result = await read_locally(ctx, image)
    return TaskResult(result.text, result.text, warnings=warnings + result.warnings, engine="local")


async def prepare_unless_blank(ctx: Context, image: ImageInput) -> PreparedImage | None:
    """The model-sized image, or None for a blank page. The decoded image lives only
    here, not across the model call that follows."""
    img = await ctx.decode(image, target_pixels=PAGE_MAX_PIXELS)
    if await asyncio.to_thread(is_blank, img):
        return None
    return await ctx.prepare(img, "ocr")


async def ocr_input_png(ctx: Context, image: ImageInput, *, offline: bool = False) -> bytes:
    """The image `ocr` hands its engine, as PNG: the model's resized copy (as `ocr` prepares
    it), or the page the offline engine reads (`offline`: it read this one, the model having
    failed). For clients that want to see what was read."""
    img = await ctx.decode(image, target_pixels=PAGE_MAX_PIXELS)
    if not (offline or ctx.settings.uses_local_ocr):
        prepared = await ctx.prepare(img, "ocr")
        sent = base64.b64decode(prepared.data_url.split(",", 1)[1])
        if prepared.mime == "image/png":
            return sent
        img = await asyncio.to_thread(Image.open, io.BytesIO(sent))
    return await asyncio.to_thread(_png, img)


def _png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


async def ocr(ctx: Context, image: ImageInput, *, language: str = "zh") -> TaskResult:
    if ctx.settings.uses_local_ocr:
        return await ocr_locally(ctx, image, [])
    client = ctx.require_vlm("OCR")
    prepared = await prepare_unless_blank(ctx, image)
    if prepared is None:
        return TaskResult("", "", warnings=["the image looks blank"])
    prompt = prompts.render(ctx.settings.prompts_dir, "ocr", language)
    try:
        done = await client.complete(
            image_message(prepared, prompt),
            model=ctx.settings.ocr_model,
            max_tokens=OCR_MAX_OUTPUT_TOKENS,
            estimated_image_tokens=prepared.tokens,
            extra_body=client.provider_fields(high_resolution=ctx.high_resolution()),
            allow_empty=True,
        )
    except ModelError as exc:
        if not should_fall_back(ctx, exc):
            raise
        return await ocr_locally(ctx, image, [f"the model failed ({exc}); read offline instead"])
    return TaskResult(done.text, done.text, done.usage, done.warnings)
