"""The page splitter on real phone photos with known corners, read from the shared real set
beside the clone (`../shared/real`, present on CI and every development machine; never
copied into the repository). NOTELENS_REAL_SET points elsewhere, for a worktree that does
not sit beside it."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from PIL import Image

from notelens.pipeline.pages import split_pages
from testsupport.imagegen.pages import quad_iou

BESIDE = Path(__file__).resolve().parents[2] / ".." / "shared" / "real"
REAL = Path(os.environ.get("NOTELENS_REAL_SET", BESIDE)) / "pages"


def _items(subset: str) -> list[dict]:
    manifest = json.loads((REAL / "manifest.json").read_text())
    return [item for item in manifest["items"] if item["subset"] == subset]


def _split(item: dict):
    with Image.open(REAL / item["file"]) as img:
        img.load()
        return split_pages(img)


def test_pages_on_real_photos_are_found() -> None:
    """Pages on plants, chairs, desks, in hands, before a lit panel: every one at IoU ≥ 0.9
    bar at most one, and 0.95 on average (the source's corners are within about 0.5%)."""
    ious = []
    for item in _items("single_page"):
        split = _split(item)
        ious.append(max(quad_iou(item["quads"][0], p.quad) for p in split.pages))
    assert len(ious) >= 10
    assert sum(i >= 0.9 for i in ious) >= len(ious) - 1
    assert sum(ious) / len(ious) >= 0.95


@pytest.mark.parametrize("name", ["wt_multipage_094125.jpg"])
def test_two_booklets_side_by_side_are_two_pages(name: str) -> None:
    (item,) = [i for i in _items("multi_page_no_gt") if i["file"] == name]
    split = _split(item)
    assert len(split.pages) == 2 and not split.warnings


def test_open_songbook_is_cut_at_its_crease() -> None:
    """Upside down on a table, its gutter casting no shadow: two pages of about half the
    spread each, meeting at the crease."""
    (item,) = [i for i in _items("multi_page_no_gt") if i["file"] == "wt_multipage_093742.jpg"]
    split = _split(item)
    assert len(split.pages) == 2 and not split.warnings
    left, right = (p.image.width for p in split.pages)
    assert 0.8 < left / right < 1.25
    assert split.pages[0].quad[1] == split.pages[1].quad[0]
