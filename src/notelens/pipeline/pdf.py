"""Render the pages of a PDF to images, so a PDF can be read like photos of notes.

`render_pdf_png` encodes each page as soon as it is rendered: a 20-page PDF then waits
for its turn as 20 small PNG files, not 20 bitmaps of 11 MB each (the pixel budget
bounds their decoding later, like photos').

pdfium is not thread-safe: every call into it holds one process-wide lock, so
callers may run `render_pdf` in any executor thread. This is CPU work; call it
with `asyncio.to_thread`.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import pypdfium2 as pdfium
from PIL import Image

from .errors import ImageError

_PDFIUM_LOCK = threading.Lock()
# A page larger than this (in points) is not a page; refuse rather than allocate.
MAX_PAGE_POINTS = 14_400

T = TypeVar("T")


def render_pdf(
    data: bytes, *, max_pages: int, target_long_side: int = 2000
) -> tuple[list[Image.Image], int]:
    """The first `max_pages` pages as RGB images (long side ≈ `target_long_side`), and the count.

    Raises ImageError(code="pdf_invalid") for a file pdfium cannot open or
    render, and code="pdf_empty" for a PDF without pages.
    """
    return _render(data, max_pages, target_long_side, lambda image: image)


def render_pdf_png(
    data: bytes, *, max_pages: int, target_long_side: int = 2000
) -> tuple[list[bytes], int]:
    """`render_pdf`, each page PNG-encoded (lossless, fast) before the next is rendered."""
    return _render(data, max_pages, target_long_side, _png)


def pdf_page_count(data: bytes) -> int:
    """How many pages the PDF has (opening it reads only its structure)."""
    with _open(data) as pdf:
        total = len(pdf)
    if total == 0:
        raise ImageError("This PDF has no pages.", code="pdf_empty")
    return total


def render_pdf_page_png(data: bytes, index: int, *, target_long_side: int = 2000) -> bytes:
    """Page `index` (from 0) alone, as `render_pdf_png` renders each page: the job engine
    reads a stored PDF page by page, each page a step of its own."""
    with _open(data) as pdf:
        if not 0 <= index < len(pdf):
            raise ImageError("This PDF has no such page.", code="pdf_invalid")
        try:
            return _png(_render_page(pdf, index, target_long_side))
        except pdfium.PdfiumError as exc:
            raise ImageError("This PDF could not be rendered.", code="pdf_invalid") from exc


@contextmanager
def _open(data: bytes) -> Iterator[pdfium.PdfDocument]:
    """The document, under the process-wide pdfium lock, closed afterwards."""
    if not data:
        raise ImageError("The file is empty.", code="image_empty")
    with _PDFIUM_LOCK:
        try:
            pdf = pdfium.PdfDocument(data)
        except pdfium.PdfiumError as exc:
            raise ImageError("This PDF is damaged or encrypted.", code="pdf_invalid") from exc
        try:
            yield pdf
        finally:
            pdf.close()


def _png(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def _render(
    data: bytes, max_pages: int, target_long_side: int, keep: Callable[[Image.Image], T]
) -> tuple[list[T], int]:
    with _open(data) as pdf:
        try:
            total = len(pdf)
            if total == 0:
                raise ImageError("This PDF has no pages.", code="pdf_empty")
            pages = [
                keep(_render_page(pdf, i, target_long_side)) for i in range(min(total, max_pages))
            ]
        except pdfium.PdfiumError as exc:
            raise ImageError("This PDF could not be rendered.", code="pdf_invalid") from exc
    return pages, total


def _render_page(pdf: pdfium.PdfDocument, index: int, target_long_side: int) -> Image.Image:
    page = pdf[index]
    try:
        width, height = page.get_size()
        long_side = max(width, height, 1.0)
        if long_side > MAX_PAGE_POINTS:
            raise ImageError("A page of this PDF is far too large.", code="pdf_invalid")
        scale = target_long_side / long_side
        bitmap = page.render(scale=scale)
        try:
            image: Image.Image = bitmap.to_pil()
            # to_pil() may share memory with the bitmap; copy before it is freed.
            return image.convert("RGB") if image.mode != "RGB" else image.copy()
        finally:
            bitmap.close()
    finally:
        page.close()
