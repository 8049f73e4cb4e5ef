"""PDF pages → images: page limit, size, broken files, and concurrent use from threads."""

from __future__ import annotations

import io
from concurrent.futures import ThreadPoolExecutor

import pytest
from PIL import Image, ImageStat

from notelens.pipeline.errors import ImageError
from notelens.pipeline.pdf import render_pdf
from testsupport.imagegen.text import render_lines


def make_pdf(pages: int = 3) -> bytes:
    images = [render_lines([f"Page number {i + 1}", "Some notes here."]) for i in range(pages)]
    buf = io.BytesIO()
    images[0].save(buf, format="PDF", save_all=True, append_images=images[1:], resolution=72)
    return buf.getvalue()


def test_renders_pages_up_to_the_limit_and_counts_all() -> None:
    images, total = render_pdf(make_pdf(5), max_pages=3, target_long_side=1000)
    assert total == 5
    assert len(images) == 3
    for img in images:
        assert img.mode == "RGB"
        assert max(img.size) == 1000
        # Text was drawn: the page is not uniformly white.
        assert ImageStat.Stat(img.convert("L")).extrema[0][0] < 100


def test_fewer_pages_than_limit() -> None:
    images, total = render_pdf(make_pdf(2), max_pages=20)
    assert (len(images), total) == (2, 2)


@pytest.mark.parametrize("data", [b"%PDF-1.4 garbage", b"not a pdf at all", make_pdf(1)[:200]])
def test_broken_pdf_is_an_image_error(data: bytes) -> None:
    with pytest.raises(ImageError) as info:
        render_pdf(data, max_pages=3)
    assert info.value.code == "pdf_invalid"


def test_empty_file() -> None:
    with pytest.raises(ImageError) as info:
        render_pdf(b"", max_pages=3)
    assert info.value.code == "image_empty"


def test_threads_can_render_at_once() -> None:
    data = make_pdf(2)
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: render_pdf(data, max_pages=2), range(8)))
    assert all(total == 2 and len(imgs) == 2 for imgs, total in results)
    assert isinstance(results[0][0][0], Image.Image)
