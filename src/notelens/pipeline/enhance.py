"""Optional clean-up of a page crop before OCR, each step kept only if measured to help.

`benchmarks/pages.py` reads page crops with the offline OCR engine with and without each
step and prints the character error rate; `KEPT` lists the steps that lowered it. Deskew is
not a step: the page splitter's perspective warp already makes each page upright.
Binarization is measured but is known to hurt vision-language models, which read the
grey levels of strokes; it would need a VLM measurement too before being kept.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np
from PIL import Image


def flatten_light(rgb: np.ndarray) -> np.ndarray:
    """Divide out shadows and uneven light: the paper's brightness, estimated by closing the
    text away at low resolution, becomes an even white."""
    h, w = rgb.shape[:2]
    scale = min(1.0, 400 / max(h, w))
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    # bilinear, as measured: INTER_AREA used to be passed here positionally, i.e. as `dst`,
    # which OpenCV ignores
    small = cv2.resize(rgb, size, interpolation=cv2.INTER_LINEAR)
    k = max(3, (max(small.shape[:2]) // 25) | 1)
    paper = cv2.morphologyEx(small, cv2.MORPH_CLOSE, np.ones((k, k), np.uint8))
    paper = cv2.GaussianBlur(paper, (0, 0), k / 2)
    paper = cv2.resize(paper, (w, h), interpolation=cv2.INTER_LINEAR).astype(np.float32)
    out = rgb.astype(np.float32) / np.maximum(paper, 1) * 245
    return np.clip(out, 0, 255).astype(np.uint8)


def clahe(rgb: np.ndarray) -> np.ndarray:
    """Local contrast on the lightness channel only (colours of the ink are kept)."""
    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB)
    lab[..., 0] = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(8, 8)).apply(lab[..., 0])
    return cv2.cvtColor(lab, cv2.COLOR_LAB2RGB)


def sharpen(rgb: np.ndarray) -> np.ndarray:
    """Unsharp mask: crisper strokes after the blur of a phone camera and the warp."""
    blurred = cv2.GaussianBlur(rgb, (0, 0), 1.5)
    return cv2.addWeighted(rgb, 1.6, blurred, -0.6, 0)


def binarize(rgb: np.ndarray) -> np.ndarray:
    """Black ink on white paper, thresholded against each neighbourhood."""
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    block = max(15, (min(gray.shape) // 20) | 1)
    bw = cv2.adaptiveThreshold(
        gray, 255, cv2.ADAPTIVE_THRESH_GAUSSIAN_C, cv2.THRESH_BINARY, block, 15
    )
    return cv2.cvtColor(bw, cv2.COLOR_GRAY2RGB)


STEPS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "flatten": flatten_light,
    "clahe": clahe,
    "sharpen": sharpen,
    "binarize": binarize,
}
# Measured with RapidOCR (`python -m benchmarks.pages --photos 0`) on 48 page crops from
# 2000-px desk photos, small text (CER, none = 15.86%): flatten +1.05 pp, clahe +2.01 pp,
# sharpen -0.60 pp, binarize +16.40 pp, flatten+clahe +2.50 pp. Sharpening's gain did not
# hold on 40 other crops (2000 px: 2.52% -> 2.60% on small crops, 0.14% -> 0.10% on larger
# ones; 4000 px: 0% either way). Nothing is kept.
KEPT: tuple[str, ...] = ()


def apply(image: Image.Image, steps: tuple[str, ...]) -> Image.Image:
    rgb = np.asarray(image.convert("RGB"))
    if min(rgb.shape[:2]) < 8:
        return image
    for name in steps:
        rgb = STEPS[name](rgb)
    return Image.fromarray(rgb)


def enhance_for_ocr(image: Image.Image) -> Image.Image:
    """The measured-useful steps (`KEPT`) applied to a page crop; identity if none are."""
    return apply(image, KEPT) if KEPT else image
