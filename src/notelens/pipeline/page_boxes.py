"""Page boxes proposed by the vision model, when the page finder is unsure.

The geometric finder keeps the whole photo when it cannot tell pages from their
surroundings (a newspaper held up in a cluttered kitchen). With `PAGE_BOXES_FROM_MODEL`,
a grounding model (Qwen2.5-VL answers `{"bbox_2d": [x1, y1, x2, y2]}` in the pixels of
the image it was sent) is asked for the pages instead; whatever it answers is checked,
and anything unusable leaves the whole photo, as before. Boxes are upright rectangles:
they crop, but do not flatten a tilted page.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from typing import Any

import numpy as np
from PIL import Image

from . import images, prompts
from .context import Context, image_message
from .errors import ModelError
from .page_crops import FoundPages
from .pages import MIN_PAGE_AREA, UNSURE, reading_order

log = logging.getLogger(__name__)

MAX_PAGES = 6
MODEL_PAGES = "pages proposed by the vision model (the page finder was unsure)"
BOX_TOKENS = 1024  # image tokens: enough to see the pages, not to read them


def unsure(found: FoundPages) -> bool:
    return UNSURE in found.warnings


async def ask_model(ctx: Context, rgb: np.ndarray, found: FoundPages, language: str) -> FoundPages:
    """`found` with the model's pages instead of the whole photo, when it proposes usable
    ones; `found` unchanged otherwise (never an error: the whole photo is still read)."""
    if ctx.vlm is None:
        return found
    prepared = await asyncio.to_thread(_prepare, rgb, ctx.factor)
    prompt = prompts.render(
        ctx.settings.prompts_dir,
        "page_boxes",
        language,
        width=str(prepared.width),
        height=str(prepared.height),
    )
    try:
        done = await ctx.vlm.complete(
            image_message(prepared, prompt),
            max_tokens=512,
            estimated_image_tokens=prepared.tokens,
        )
    except ModelError as exc:
        log.warning("page boxes: the model failed (%s); the whole photo is kept", exc.code)
        return found
    boxes = parse_boxes(done.text, prepared.width, prepared.height)
    if not boxes:
        log.info("page boxes: no usable box in the model's answer; the whole photo is kept")
        return found
    # the model's pixels → the reduced copy's pixels the quads are kept in
    h, w = rgb.shape[:2]
    sx = w / found.scale[0] / prepared.width
    sy = h / found.scale[1] / prepared.height
    quads = [
        [(x0 * sx, y0 * sy), (x1 * sx, y0 * sy), (x1 * sx, y1 * sy), (x0 * sx, y1 * sy)]
        for x0, y0, x1, y1 in boxes
    ]
    warnings = [MODEL_PAGES if w == UNSURE else w for w in found.warnings]
    return FoundPages(reading_order(quads), found.scale, warnings)


def _prepare(rgb: np.ndarray, factor: int) -> images.PreparedImage:
    return images.prepare_image(Image.fromarray(rgb), images.Budget(max_tokens=BOX_TOKENS), factor)


Box = tuple[float, float, float, float]


def parse_boxes(answer: str, width: int, height: int) -> list[Box]:
    """Page boxes from a grounding answer (a JSON list of {"bbox_2d": [...]}, fenced or
    not, or bare [x1, y1, x2, y2] lists), clipped to the image; boxes too small to be a
    page, or mostly inside a larger one, are dropped. Empty when nothing is usable."""
    found: list[Box] = []
    for item in _json_list(answer)[: MAX_PAGES * 2]:
        raw = item.get("bbox_2d", item.get("bbox")) if isinstance(item, dict) else item
        if not (isinstance(raw, list) and len(raw) == 4):
            continue
        try:
            x0, y0, x1, y1 = (float(v) for v in raw)
        except (TypeError, ValueError):
            continue
        x0, x1 = sorted((min(max(x0, 0.0), width), min(max(x1, 0.0), width)))
        y0, y1 = sorted((min(max(y0, 0.0), height), min(max(y1, 0.0), height)))
        if (x1 - x0) * (y1 - y0) >= MIN_PAGE_AREA * width * height:
            found.append((x0, y0, x1, y1))
    found.sort(key=lambda b: -(b[2] - b[0]) * (b[3] - b[1]))
    kept: list[Box] = []
    for box in found:
        if all(_inside(box, other) < 0.8 for other in kept):
            kept.append(box)
    whole = len(kept) == 1 and _inside((0, 0, width, height), kept[0]) > 0.9
    return [] if whole or len(kept) > MAX_PAGES else kept


def _inside(a: Box, b: Box) -> float:
    """How much of `a` lies inside `b`."""
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    area = (a[2] - a[0]) * (a[3] - a[1])
    return max(0.0, w) * max(0.0, h) / area if area else 0.0


def _json_list(answer: str) -> list[Any]:
    match = re.search(r"\[.*\]", answer, re.DOTALL)
    if not match:
        return []
    try:
        value = json.loads(match.group())
    except json.JSONDecodeError:
        return []
    return value if isinstance(value, list) else []
