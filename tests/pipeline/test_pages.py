from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from notelens.cli import main
from notelens.pipeline.pages import UNSURE, reading_order, split_pages, split_to_json
from testsupport.imagegen import pages as gen
from testsupport.imagegen.text import EN_SENTENCES, render_lines


def best_ious(sample: gen.PageSample, found: list) -> list[float]:
    return [max(gen.quad_iou(q, p.quad) for p in found) for q in sample.quads]


def matched_in_order(sample: gen.PageSample, found: list) -> bool:
    """Found page i is the best match of true page i, for every i."""
    return all(
        max(range(len(found)), key=lambda j: gen.quad_iou(q, found[j].quad)) == i
        for i, q in enumerate(sample.quads)
    )


def corners_match(sample: gen.PageSample, found: list, tolerance: float = 0.04) -> bool:
    """Each corner lands on the true one, in the same place of the clockwise order: a page
    warped upside down or sideways fails this even when its IoU is perfect."""
    for true, page in zip(sample.quads, found, strict=True):
        diag = math.dist(true[0], true[2])
        if any(math.dist(a, b) > tolerance * diag for a, b in zip(true, page.quad, strict=True)):
            return False
    return True


@pytest.mark.parametrize(
    ("seed", "n"), [(101, 1), (102, 2), (103, 3), (104, 4), (105, 5), (106, 6), (45, 4)]
)
def test_pages_on_a_desk(seed: int, n: int) -> None:
    sample = gen.photo(seed, n_pages=n, long_side=1600)
    split = split_pages(sample.image)
    assert split.kind == "photo" and len(split.pages) == n and not split.warnings
    assert min(best_ious(sample, split.pages)) >= 0.9
    assert matched_in_order(sample, split.pages)
    assert corners_match(sample, split.pages)


@pytest.mark.parametrize(("seed", "n", "degrees"), [(61, 1, 15), (62, 1, -15), (63, 2, 14)])
def test_steep_rotation_with_strong_perspective(seed: int, n: int, degrees: float) -> None:
    """The limits of the brief at once: ±15° and a phone tilted well back (the far edge of
    the scene 24% narrower), where a corner sort by x + y alone would start at the wrong one."""
    sample = gen.photo(seed, n_pages=n, long_side=1600, rotation=degrees, keystone=0.12)
    split = split_pages(sample.image)
    assert len(split.pages) == n and not split.warnings
    assert min(best_ious(sample, split.pages)) >= 0.9
    assert corners_match(sample, split.pages)


def test_a_page_in_the_dim_corner_of_the_desk_is_found_whole() -> None:
    """Four sheets under a lamp: the far sheet's corner fades into the desk's shadow and
    breaks up into specks, where a fit to its outline cuts the corner off."""
    sample = gen.sample(32, long_side=1600)
    split = split_pages(sample.image)
    assert len(split.pages) == 4 and not split.warnings
    assert min(best_ious(sample, split.pages)) >= 0.9


def test_cream_pages_on_a_pale_grey_desk_are_found_by_their_outlines() -> None:
    sample = gen.sample(131, long_side=1600)  # paper no brighter than the desk, only yellower
    split = split_pages(sample.image)
    assert len(split.pages) == 2 and not split.warnings
    assert min(best_ious(sample, split.pages)) >= 0.9
    assert matched_in_order(sample, split.pages)


@pytest.mark.parametrize(
    ("seed", "traits"),
    [
        (0, {"panel", "curled", "border", "hand"}),
        (3, {"plant", "curled"}),
        (7, {"clutter", "coloured", "curled", "hand"}),
        (19, {"chair", "border", "hand"}),
        (20, {"chair", "coloured", "curled"}),
        (23, {"panel"}),
        (36, {"panel", "coloured"}),
    ],
)
def test_a_page_where_people_really_photograph_one(seed: int, traits: set[str]) -> None:
    """On a plant, a slatted chair, before a lit panel brighter than the paper, on a busy
    table; coloured, curled, held by a hand, running to the photo's border."""
    sample = gen.scene(seed, long_side=1600)
    assert set(sample.traits) == traits
    split = split_pages(sample.image)
    assert len(split.pages) == 1 and not split.warnings
    assert best_ious(sample, split.pages)[0] >= 0.9
    assert corners_match(sample, split.pages, tolerance=0.05)


def test_crops_are_upright_with_the_pages_aspect() -> None:
    sample = gen.photo(102, n_pages=2, long_side=1600)
    for true, page in zip(sample.quads, split_pages(sample.image).pages, strict=True):
        true_aspect = math.dist(true[0], true[3]) / math.dist(true[0], true[1])
        assert page.image.height / page.image.width == pytest.approx(true_aspect, rel=0.05)
        assert page.image.height > page.image.width  # portrait pages stay portrait


def test_crops_come_from_the_full_resolution_photo() -> None:
    sample = gen.photo(101, n_pages=1, long_side=3000)
    page = split_pages(sample.image).pages[0]
    true = sample.quads[0]
    assert page.image.width == pytest.approx(math.dist(true[0], true[1]), rel=0.05)


@pytest.mark.parametrize("seed", [7, 12])
def test_open_notebook_is_two_pages(seed: int) -> None:
    sample = gen.photo(seed, long_side=1600, notebook=True)
    split = split_pages(sample.image)
    assert len(split.pages) == 2
    assert min(best_ious(sample, split.pages)) >= 0.85
    assert matched_in_order(sample, split.pages)


@pytest.mark.parametrize("seed", [0, 3, 8])
def test_open_book_without_a_shadow_is_cut_at_its_crease(seed: int) -> None:
    """No shaded gutter: only a faint crease and one half lit less. 3: a ruled page's
    margin line runs beside the crease, darker than it."""
    sample = gen.photo(seed, long_side=1600, notebook=True, fold=True)
    split = split_pages(sample.image)
    assert len(split.pages) == 2
    assert min(best_ious(sample, split.pages)) >= 0.9
    assert matched_in_order(sample, split.pages)


@pytest.mark.parametrize(
    ("seed", "vertical"),
    [(3, True), (8, True), (21, True), (5, False), (7094, None), (7106, None)],
)
def test_stitched_images(seed: int, vertical: bool | None) -> None:
    """7094 and 7106: pages side by side with white gaps and faint edges, a ruled page's
    margin line close to the gap, and one page greyer than the others."""
    sample = gen.stitched(seed, vertical=vertical)
    split = split_pages(sample.image)
    assert split.kind == "stitched" and len(split.pages) == len(sample.quads)
    assert min(best_ious(sample, split.pages)) >= 0.9
    assert matched_in_order(sample, split.pages)


def test_a_blank_line_inside_a_page_is_not_a_page_break() -> None:
    sample = gen.stitched(30, n_pages=2, vertical=True)
    assert len(split_pages(sample.image).pages) == 2
    # half of the same strip is one page, however much whitespace it holds
    w, _h = sample.image.size
    one = sample.image.crop((0, 0, w, round(sample.quads[0][2][1])))
    assert len(split_pages(one).pages) == 1


@pytest.mark.parametrize("seed", [1, 2, 5, 34])
def test_a_scan_or_screenshot_stays_whole_and_uncropped(seed: int) -> None:
    sample = gen.scan(seed)
    split = split_pages(sample.image)
    assert len(split.pages) == 1 and split.kind == "single"
    assert split.pages[0].image.size == sample.image.size
    assert split.pages[0].quad == [tuple(p) for p in sample.quads[0]]


def test_a_dark_mode_screenshot_stays_whole_without_a_warning() -> None:
    lines = [EN_SENTENCES[i % len(EN_SENTENCES)] for i in range(30)]
    shot = render_lines(lines, size=28, width=1080, background=(28, 28, 30), color=(230, 230, 230))
    split = split_pages(shot)
    assert len(split.pages) == 1 and split.kind == "single" and not split.warnings
    assert split.pages[0].image.size == shot.size


def test_pages_on_a_flat_dark_desk_are_not_taken_for_a_dark_screen() -> None:
    sample = gen.photo(7015, long_side=1600)  # three sheets on an evenly lit slate-grey desk
    split = split_pages(sample.image)
    assert split.kind == "photo" and len(split.pages) == 3
    assert min(best_ious(sample, split.pages)) >= 0.9


def test_a_light_card_on_a_dark_screen_is_not_cropped_out_of_it() -> None:
    lines = [EN_SENTENCES[i % len(EN_SENTENCES)] for i in range(30)]
    shot = render_lines(lines, size=28, width=1080, background=(28, 28, 30), color=(230, 230, 230))
    shot.paste(render_lines(lines[:6], size=28, width=900, background=(245, 245, 245)), (90, 700))
    split = split_pages(shot)
    assert len(split.pages) == 1 and split.pages[0].image.size == shot.size


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
        Image.new("RGB", (800, 1), "black"),
        Image.new("RGB", (40, 2000), (240, 240, 235)),
        Image.new("RGB", (2000, 40), (30, 90, 30)),
        Image.fromarray(np.random.default_rng(0).integers(0, 255, (600, 800, 3), dtype=np.uint8)),
    ],
    ids=["tiny", "white", "black", "1px-strip", "1px-row", "1:50", "50:1", "noise"],
)
def test_odd_images_come_back_whole(image: Image.Image) -> None:
    split = split_pages(image)
    assert len(split.pages) == 1
    assert split.pages[0].image.size == image.size
    assert split.pages[0].image.mode == "RGB"


@pytest.mark.parametrize("seed", [4, 48])
def test_a_desk_with_no_page_is_whole_and_says_so(seed: int) -> None:
    sample = gen.empty(seed, long_side=1600)
    split = split_pages(sample.image)
    assert len(split.pages) == 1 and split.pages[0].image.size == sample.image.size
    assert UNSURE in split.warnings


def test_max_pages_is_respected_by_falling_back_to_the_whole_photo() -> None:
    sample = gen.photo(104, n_pages=4, long_side=1600)
    split = split_pages(sample.image, max_pages=2)
    assert len(split.pages) == 1 and split.warnings


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    w=st.integers(1, 300),
    h=st.integers(1, 300),
    seed=st.integers(0, 2**16),
    mode=st.sampled_from(["noise", "blocks", "flat"]),
)
def test_never_raises_and_never_returns_nothing(w: int, h: int, seed: int, mode: str) -> None:
    rng = np.random.default_rng(seed)
    if mode == "noise":
        arr = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    elif mode == "blocks":
        arr = np.full((h, w, 3), rng.integers(0, 256, 3), dtype=np.uint8)
        arr[h // 4 : h * 3 // 4, w // 4 : w * 3 // 4] = 250
    else:
        arr = np.full((h, w, 3), rng.integers(0, 256), dtype=np.uint8)
    split = split_pages(Image.fromarray(arr))
    assert split.pages
    for page in split.pages:
        assert len(page.quad) == 4 and page.image.width >= 1 and page.image.height >= 1


def test_json_shape() -> None:
    split = split_pages(gen.photo(102, n_pages=2, long_side=1200).image)
    data = split_to_json(split)
    assert list(data) == ["pages"] and len(data["pages"]) == 2
    for page in data["pages"]:
        assert list(page) == ["quad"] and len(page["quad"]) == 4
        assert all(len(p) == 2 and all(isinstance(v, int | float) for v in p) for p in page["quad"])
    json.dumps(data)


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
