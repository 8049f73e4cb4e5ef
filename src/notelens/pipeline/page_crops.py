"""Page crops for OCR in bounded memory: find pages on a reduced copy, cut them from the
original one at a time, and encode each before cutting the next.

Split the plain way, a 24 MP photo is alive three times over at its peak (the decoded
image, an array copy, and every page crop at full size: ~250 MB). Here the photo is
decoded into one array, pages are found on a copy of the size the splitter analyses
anyway, and each page is warped from the original, shrunk to what OCR reads and encoded
as JPEG before the next: ~3 bytes per pixel of the photo plus one page. CPU work: run
`encoded_pages` in a worker thread, inside the pixel budget.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

from .enhance import enhance_for_ocr
from .images import decode_array, encode_page
from .pages import DETECT_LONG_SIDE, FLAT_SHORT_SIDE, Point, crop_page, split_pages


def detection_scale(width: int, height: int) -> float:
    """The reduction at which the splitter still sees what it would see in the original:
    it analyses photos at DETECT_LONG_SIDE on the long side and flat images (scans,
    stitched screenshots) at FLAT_SHORT_SIDE on the short side."""
    long_, short = max(width, height), min(width, height)
    return min(1.0, max(DETECT_LONG_SIDE / long_, FLAT_SHORT_SIDE / short))


def encoded_pages(image: bytes | Image.Image, *, max_pixels: int) -> tuple[list[bytes], list[str]]:
    """The pages of one photo in reading order, each an encoded JPEG of at most
    `images.PAGE_MAX_PIXELS`, and the splitter's warnings."""
    rgb, found = locate(image, max_pixels=max_pixels)
    return encode_found(rgb, found), found.warnings


def locate(image: bytes | Image.Image, *, max_pixels: int) -> tuple[np.ndarray, FoundPages]:
    """The decoded photo and its pages: the first half of `encoded_pages`, for callers
    that may replace the pages found before they are cut."""
    if isinstance(image, Image.Image):
        rgb = np.asarray(image.convert("RGB") if image.mode != "RGB" else image)
    else:
        rgb = decode_array(image, max_pixels=max_pixels)
    return rgb, find_pages(rgb)


def encode_found(rgb: np.ndarray, found: FoundPages) -> list[bytes]:
    """Each page cut from the original, cleaned up for OCR and encoded, one at a time."""
    return [encode_page(enhance_for_ocr(cut_page(rgb, q, *found.scale))) for q in found.quads]


@dataclass
class FoundPages:
    quads: list[list[Point]]  # in the reduced copy's pixels, reading order
    scale: tuple[float, float]  # from the reduced copy to the original (x, y)
    warnings: list[str]


def find_pages(rgb: np.ndarray) -> FoundPages:
    """The pages of a decoded photo, found on a reduced copy (the web page draws them)."""
    h, w = rgb.shape[:2]
    scale = detection_scale(w, h)
    small = rgb
    if scale < 1.0:
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        small = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
    split = split_pages(Image.fromarray(small))
    quads = [page.quad for page in split.pages]
    del split.pages[:]  # the reduced crops are not what OCR reads
    return FoundPages(quads, (w / small.shape[1], h / small.shape[0]), list(split.warnings))


def cut_page(rgb: np.ndarray, quad: list[Point], sx: float, sy: float) -> Image.Image:
    """A quad found on the reduced copy, cut from the original: an upright rectangle
    (a scan, a stitched page, the whole photo) exactly, anything else by the warp."""
    h, w = rgb.shape[:2]
    xs, ys = {x for x, _ in quad}, {y for _, y in quad}
    if len(xs) == 2 and len(ys) == 2:
        x0, x1 = (min(w, max(0, round(x * sx))) for x in sorted(xs))
        y0, y1 = (min(h, max(0, round(y * sy))) for y in sorted(ys))
        if x1 > x0 and y1 > y0:
            return Image.fromarray(rgb[y0:y1, x0:x1])
    # Pixel centres of the reduced copy to pixel centres of the original.
    full = [
        (min(w, max(0.0, (x + 0.5) * sx - 0.5)), min(h, max(0.0, (y + 0.5) * sy - 0.5)))
        for x, y in quad
    ]
    return crop_page(rgb, full)
