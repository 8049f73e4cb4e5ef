"""Preprocessing per task vs the seed tool's way, side by side in one run.

The seed tool (VLMClassifier) decodes every image fully, fits it into 1024×1024,
and sends a JPEG at quality 85 whatever the task; the server then resizes it to
its own token grid (DashScope's default cap: 1,280 tokens). We resize per task to
the token grid, decoding large JPEGs in draft mode.

    python -m benchmarks.preprocess [--runs N]
"""

from __future__ import annotations

import argparse
import base64
import io
import statistics
import time
from collections.abc import Callable

import numpy as np
from captcha.image import ImageCaptcha
from PIL import Image, ImageDraw, ImageFilter

from notelens.config import Settings
from notelens.pipeline.context import Context
from notelens.pipeline.images import Budget, image_tokens, prepare, smart_resize
from testsupport.imagegen.text import EN_SENTENCES, ZH_SENTENCES, font

FACTOR = 32
SERVER_MAX_TOKENS = 1280  # what the server does with an image it receives larger


def camera_jpeg(seed: int = 1) -> bytes:
    """A 12-megapixel phone photo: texture, light falloff, sensor noise, text on paper."""
    rng = np.random.default_rng(seed)
    w, h = 4032, 3024
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    light = 1.0 - 0.35 * (((x - w * 0.4) / w) ** 2 + ((y - h * 0.5) / h) ** 2)
    wood = 150 + 30 * np.sin(x / 37.0 + 3 * np.sin(y / 190.0))
    base = np.stack([wood * 1.0, wood * 0.8, wood * 0.6], axis=-1) * light[..., None]
    base += rng.normal(0, 6, base.shape)
    img = Image.fromarray(np.clip(base, 0, 255).astype(np.uint8))
    page = Image.new("RGB", (2200, 2800), (245, 243, 236))
    draw = ImageDraw.Draw(page)
    f = font("zh-microhei", 56)
    for i, line in enumerate((ZH_SENTENCES + EN_SENTENCES) * 2):
        draw.text((120, 120 + i * 80), line, fill=(30, 30, 40), font=f)
    img.paste(page.rotate(4, expand=True, fillcolor=(0, 0, 0)), (800, 60))
    buf = io.BytesIO()
    img.filter(ImageFilter.GaussianBlur(0.6)).save(buf, format="JPEG", quality=92)
    return buf.getvalue()


def screenshot_png() -> bytes:
    img = Image.new("RGB", (1080, 2400), "white")
    draw = ImageDraw.Draw(img)
    f = font("zh-microhei", 38)
    draw.rectangle((0, 0, 1080, 160), fill=(40, 120, 220))
    for i, line in enumerate((ZH_SENTENCES + EN_SENTENCES) * 3):
        draw.text((40, 200 + i * 46), line[:28], fill=(20, 20, 20), font=f)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def captcha_png() -> bytes:
    buf = io.BytesIO()
    ImageCaptcha(width=160, height=60).generate_image("7K3Q").save(buf, format="PNG")
    return buf.getvalue()


def seed_way(data: bytes) -> tuple[str, tuple[int, int]]:
    """VLMClassifier: full decode, fit into 1024×1024, JPEG q85, base64."""
    img = Image.open(io.BytesIO(data)).convert("RGB")
    img.thumbnail((1024, 1024))
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=85)
    return base64.b64encode(buf.getvalue()).decode(), img.size


def server_tokens(size: tuple[int, int]) -> int:
    """Tokens the server spends on an image it receives at `size`."""
    w, h = size
    hh, ww = smart_resize(
        h, w, factor=FACTOR, min_pixels=4 * FACTOR**2, max_pixels=SERVER_MAX_TOKENS * FACTOR**2
    )
    return image_tokens(ww, hh, FACTOR)


def timed(fn: Callable[[], object], runs: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(runs):
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1000, result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    ctx = Context(Settings(vlm_api_key=None), None, None)
    inputs = {
        "12 MP camera JPEG": camera_jpeg(),
        "1080×2400 screenshot PNG": screenshot_png(),
        "160×60 captcha PNG": captcha_png(),
    }
    tasks: dict[str, Budget] = {t: ctx.budget(t) for t in ("classify", "ocr", "captcha")}
    print(f"token grid {FACTOR} px; median of {args.runs} runs; the server caps at 1280 tokens")
    print(
        f"{'input':26} {'task':9} {'ours ms':>8} {'seed ms':>8} {'speed×':>7} "
        f"{'ours tok':>9} {'seed tok':>9} {'sent as':>12}"
    )
    for name, data in inputs.items():
        seed_ms, (_, seed_size) = timed(lambda d=data: seed_way(d), args.runs)  # type: ignore[misc]
        seed_tok = server_tokens(seed_size)
        for task, budget in tasks.items():
            if task == "captcha" and "captcha" not in name:
                continue
            ours_ms, prepared = timed(
                lambda d=data, b=budget: prepare(d, b, FACTOR, max_pixels=80_000_000), args.runs
            )
            sent = f"{prepared.width}×{prepared.height}"  # type: ignore[attr-defined]
            print(
                f"{name:26} {task:9} {ours_ms:8.1f} {seed_ms:8.1f} {seed_ms / ours_ms:7.1f} "
                f"{prepared.tokens:9d} {seed_tok:9d} {sent:>12}"  # type: ignore[attr-defined]
            )


if __name__ == "__main__":
    main()
