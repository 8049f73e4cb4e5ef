"""Pages found on a reduced copy and cut from the original match a full-size split."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from notelens.pipeline.images import PAGE_MAX_PIXELS
from notelens.pipeline.page_crops import detection_scale, encoded_pages
from notelens.pipeline.pages import split_pages
from testsupport.imagegen import pages as gen


def as_jpeg(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=92)
    return buf.getvalue()


def decoded(data: bytes) -> Image.Image:
    with Image.open(io.BytesIO(data)) as img:
        assert img.format == "JPEG"
        return img.convert("RGB")


def test_detection_scale_keeps_what_the_splitter_analyses() -> None:
    assert detection_scale(4000, 3000) == pytest.approx(1024 / 4000)
    assert detection_scale(1080, 9000) == pytest.approx(600 / 1080)  # a tall screenshot
    assert detection_scale(800, 600) == 1.0


@pytest.mark.parametrize("seed", [3, 11])
def test_photo_pages_match_a_full_size_split(seed: int) -> None:
    sample = gen.photo(seed, n_pages=2, long_side=3200)
    data = as_jpeg(sample.image)
    reference = split_pages(decoded(data))
    pages, warnings = encoded_pages(data, max_pixels=80_000_000)
    assert len(pages) == len(reference.pages) == 2 and warnings == reference.warnings
    for ours, theirs in zip(pages, reference.pages, strict=True):
        img = decoded(ours)
        assert img.width * img.height <= PAGE_MAX_PIXELS
        assert img.width / img.height == pytest.approx(
            theirs.image.width / theirs.image.height, rel=0.03
        )


def test_stitched_pages_are_cut_exactly() -> None:
    sample = gen.stitched(5, n_pages=3, vertical=True)
    data = as_jpeg(sample.image)
    reference = split_pages(decoded(data))
    pages, _ = encoded_pages(data, max_pixels=80_000_000)
    assert len(pages) == len(reference.pages) == 3
    for ours, theirs in zip(pages, reference.pages, strict=True):
        img = decoded(ours)
        assert abs(img.width - theirs.image.width) <= 2
        assert abs(img.height - theirs.image.height) <= 2


def test_a_scan_stays_one_uncropped_page() -> None:
    sample = gen.scan(2)
    original = sample.image.convert("RGB")
    [page], _ = encoded_pages(original, max_pixels=80_000_000)
    img = decoded(page)
    assert original.width * original.height <= PAGE_MAX_PIXELS and img.size == original.size
    diff = np.abs(np.asarray(img, np.int16) - np.asarray(original, np.int16))
    assert diff.mean() < 2  # only the near-lossless JPEG stands between them
