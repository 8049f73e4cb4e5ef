from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from pipeline.cli import main
from pipeline.pages import UNSURE, reading_order, split_pages, split_to_json
from tests.imagegen import pages as gen


def best_ious(sample: gen.PageSample, found: list) -> list[float]:
    return [max(gen.quad_iou(q, p.quad) for p in found) for q in sample.quads]


def matched_in_order(sample: gen.PageSample, found: list) -> bool:
    """Found page i is the best match of true page i, for every i."""
    return all(
        max(range(len(found)), key=lambda j: gen.quad_iou(q, found[j].quad)) == i
        for i, q in enumerate(sample.quads)
    )


@pytest.mark.parametrize(("seed", "n"), [(101, 1), (102, 2), (103, 3), (104, 4)])
def test_pages_on_a_desk(seed: int, n: int) -> None:
    sample = gen.photo(seed, n_pages=n, long_side=1600)
    split = split_pages(sample.image)
    assert split.kind == "photo" and len(split.pages) == n
    assert min(best_ious(sample, split.pages)) >= 0.9
    assert matched_in_order(sample, split.pages)
    for page in split.pages:  # upright: portrait pages come out portrait
        tl, tr, _, bl = page.quad
        assert page.image.height > page.image.width * 1.1 or tr[0] - tl[0] > bl[1] - tl[1]


def test_open_notebook_is_two_pages() -> None:
    sample = gen.photo(7, long_side=1600, notebook=True)
    split = split_pages(sample.image)
    assert len(split.pages) == 2
    assert min(best_ious(sample, split.pages)) >= 0.85
    assert matched_in_order(sample, split.pages)


@pytest.mark.parametrize("seed", [3, 8, 21])
def test_stitched_tall_images(seed: int) -> None:
    sample = gen.stitched(seed, vertical=True)
    split = split_pages(sample.image)
    assert split.kind == "stitched" and len(split.pages) == len(sample.quads)
    assert min(best_ious(sample, split.pages)) >= 0.9
    assert matched_in_order(sample, split.pages)


@pytest.mark.parametrize("seed", [1, 2, 5])
def test_a_scan_or_screenshot_stays_whole_and_uncropped(seed: int) -> None:
    sample = gen.scan(seed)
    split = split_pages(sample.image)
    assert len(split.pages) == 1
    assert split.pages[0].image.size == sample.image.size
    assert split.pages[0].quad == [tuple(p) for p in sample.quads[0]]


def test_reading_order_is_rows_then_columns() -> None:
    def box(x: float, y: float) -> list[tuple[float, float]]:
        return [(x, y), (x + 100, y), (x + 100, y + 140), (x, y + 140)]

    # the right-hand page of the top row sits a little lower than the left one
    quads = [box(300, 320), box(0, 0), box(300, 20), box(0, 300)]
    assert reading_order(quads) == [box(0, 0), box(300, 20), box(0, 300), box(300, 320)]


@pytest.mark.parametrize(
    "image",
    [
        Image.new("RGB", (5, 5), "white"),
        Image.new("RGB", (1200, 900), "white"),
        Image.new("RGB", (1200, 900), "black"),
        Image.new("RGB", (1, 800), "white"),
        Image.new("RGB", (40, 2000), (240, 240, 235)),
        Image.fromarray(np.random.default_rng(0).integers(0, 255, (600, 800, 3), dtype=np.uint8)),
    ],
    ids=["tiny", "white", "black", "1px-strip", "1:50", "noise"],
)
def test_odd_images_come_back_whole(image: Image.Image) -> None:
    split = split_pages(image)
    assert len(split.pages) == 1
    assert split.pages[0].image.size == image.size


def test_a_desk_with_no_page_is_whole_and_says_so() -> None:
    sample = gen.empty(4, long_side=1600)
    split = split_pages(sample.image)
    assert len(split.pages) == 1 and split.pages[0].image.size == sample.image.size
    assert UNSURE in split.warnings


def test_pages_command_prints_the_contract_shape(tmp_path, capsys) -> None:
    sample = gen.photo(102, n_pages=2, long_side=1600)
    path = tmp_path / "desk.jpg"
    sample.image.save(path, quality=90)
    out = tmp_path / "crops"
    assert main(["pages", str(path), "--json", "--out", str(out)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert len(data["pages"]) == 2
    for page in data["pages"]:
        assert len(page["quad"]) == 4 and all(len(p) == 2 for p in page["quad"])
    assert sorted(p.name for p in out.iterdir()) == ["page-01.png", "page-02.png"]
    assert data == split_to_json(split_pages(Image.open(path).convert("RGB")))
