from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from notelens.pipeline import enhance
from testsupport.imagegen.text import EN_SENTENCES, render_lines


def shaded_page() -> np.ndarray:
    """A page of text lit from the left: the paper falls from white to mid grey."""
    page = np.asarray(render_lines(EN_SENTENCES[:8], size=26, width=900)).astype(np.float32)
    light = np.linspace(1.0, 0.55, page.shape[1], dtype=np.float32)[None, :, None]
    return (page * light).astype(np.uint8)


def paper(rgb: np.ndarray) -> np.ndarray:
    """The paper's brightness per column (ink excluded by the upper percentile)."""
    return np.percentile(rgb.mean(axis=2), 90, axis=0)


@pytest.mark.parametrize("name", list(enhance.STEPS))
def test_every_step_keeps_the_page_size_and_type(name: str) -> None:
    rgb = shaded_page()
    out = enhance.STEPS[name](rgb)
    assert out.shape == rgb.shape and out.dtype == np.uint8


def test_flattening_evens_out_the_light_and_keeps_the_ink() -> None:
    rgb = shaded_page()
    flat = enhance.flatten_light(rgb)
    assert np.ptp(paper(rgb)) > 80
    assert np.ptp(paper(flat)) < 25
    ink = rgb.mean(axis=2) < 60
    assert flat.mean(axis=2)[ink].mean() < 120  # strokes stay dark


def test_binarize_gives_black_and_white_only() -> None:
    out = enhance.binarize(shaded_page())
    assert set(np.unique(out)) <= {0, 255}


def test_sharpen_raises_stroke_contrast() -> None:
    rgb = np.asarray(Image.fromarray(shaded_page()).resize((450, 200))).copy()
    assert enhance.sharpen(rgb).std() > rgb.std()


def test_only_measured_steps_are_applied_and_tiny_crops_pass_through() -> None:
    img = Image.fromarray(shaded_page())
    assert set(enhance.KEPT) <= set(enhance.STEPS)
    out = enhance.enhance_for_ocr(img)
    expected = enhance.apply(img, enhance.KEPT)
    assert np.array_equal(np.asarray(out), np.asarray(expected))
    tiny = Image.new("RGB", (5, 300), "white")
    assert enhance.apply(tiny, ("binarize",)) is tiny
