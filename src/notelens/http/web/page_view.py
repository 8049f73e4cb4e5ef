"""What the page shows of a notes photo: the photo with the pages found drawn on it, and
each page's crop, as small JPEGs. The pages are found exactly as the notes pipeline finds
them (`page_crops.find_pages`), so the outlines are the ones that were read.

CPU work: `draw_pages` runs in a worker thread. One photo is decoded at a time (the web
page's own small budget, beside the jobs' pixel budget), and the last few results are
kept, so the overlay and its crops cost one decode.
"""

from __future__ import annotations

import asyncio
import io
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

from ...pipeline.images import decode_array, open_image
from ...pipeline.page_crops import cut_page, find_pages

OVERLAY_SIDE = 1280  # the long side of the photo with its outlines
CROP_SIDE = 1000  # the long side of a page crop
THUMB_SIDE = 160
OUTLINE_RGB = (255, 87, 34)
JPEG_QUALITY = 82


@dataclass(frozen=True)
class PageView:
    overlay: bytes  # JPEG: the photo with each page's outline and number
    crops: tuple[bytes, ...]  # JPEG per page, reading order
    quads: tuple[tuple[tuple[float, float], ...], ...]  # in the photo's own pixels
    size: tuple[int, int]  # the upright photo's width and height


def _jpeg(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=JPEG_QUALITY, optimize=True)
    return buf.getvalue()


def _shrunk(img: Image.Image, side: int) -> Image.Image:
    if max(img.size) > side:
        img.thumbnail((side, side), Image.Resampling.LANCZOS)
    return img


def draw_pages(data: bytes, *, max_pixels: int) -> PageView:
    """The overlay and crops of one photo (raises ImageError for what is no image)."""
    rgb = decode_array(data, max_pixels=max_pixels)
    h, w = rgb.shape[:2]
    found = find_pages(rgb)
    sx, sy = found.scale
    crops = tuple(_jpeg(_shrunk(cut_page(rgb, q, sx, sy), CROP_SIDE)) for q in found.quads)
    quads = tuple(tuple((x * sx, y * sy) for x, y in q) for q in found.quads)
    f = min(1.0, OVERLAY_SIDE / max(w, h))
    small = cv2.resize(
        rgb, (max(1, round(w * f)), max(1, round(h * f))), interpolation=cv2.INTER_AREA
    )
    del rgb
    thick = max(3, round(max(small.shape[:2]) / 250))
    for n, quad in enumerate(quads, 1):
        pts = np.array([[x * f, y * f] for x, y in quad], np.int32)
        cv2.polylines(small, [pts], True, OUTLINE_RGB, thick, cv2.LINE_AA)
        x, y = pts[0]
        r = thick * 5
        cx, cy = (
            int(min(max(x + r, r), small.shape[1] - r)),
            int(min(max(y + r, r), small.shape[0] - r)),
        )
        cv2.circle(small, (cx, cy), r, OUTLINE_RGB, -1, cv2.LINE_AA)
        label = str(n)
        scale = r / 16
        (tw, th), _ = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, scale, max(1, thick // 2))
        org = (cx - tw // 2, cy + th // 2)
        cv2.putText(
            small,
            label,
            org,
            cv2.FONT_HERSHEY_SIMPLEX,
            scale,
            (255, 255, 255),
            max(1, thick // 2),
            cv2.LINE_AA,
        )
    return PageView(_jpeg(Image.fromarray(small)), crops, quads, (w, h))


def thumbnail(data: bytes, *, max_pixels: int) -> bytes:
    """A small JPEG of a photo for a table row."""
    img = open_image(data, max_pixels=max_pixels, target_pixels=4 * THUMB_SIDE**2)
    return _jpeg(_shrunk(img, THUMB_SIDE))


class PageViews:
    """Page views computed one at a time in a thread, the last few kept."""

    def __init__(self, max_pixels: int, keep: int = 8) -> None:
        self.max_pixels = max_pixels
        self.keep = keep
        self._lock = asyncio.Lock()
        self._views: OrderedDict[str, PageView] = OrderedDict()

    async def view(self, key: str, load: Callable[[], Awaitable[bytes]]) -> PageView:
        async with self._lock:
            found = self._views.get(key)
            if found is not None:
                self._views.move_to_end(key)
                return found
            view = await asyncio.to_thread(draw_pages, await load(), max_pixels=self.max_pixels)
            self._views[key] = view
            while len(self._views) > self.keep:
                self._views.popitem(last=False)
            return view

    async def thumbnail(self, load: Callable[[], Awaitable[bytes]]) -> bytes:
        async with self._lock:
            return await asyncio.to_thread(thumbnail, await load(), max_pixels=self.max_pixels)
