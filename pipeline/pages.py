"""Split a photo into flat, upright pages in reading order.

Three layouts, told apart on a downscaled copy:
- a *scan* (the page fills the frame: its border is paper) stays one uncropped page,
  unless it is a *stitched* image: pages stacked in a tall or wide strip, cut where
  the page count implied by the aspect ratio puts the breaks, snapped to the white gap
  or the faint page edge, and only where the cut crosses no text;
- a *photo* of pages on a desk: paper is bright and unsaturated, the desk is not;
  each paper region becomes a quadrilateral (an open notebook is split at its shaded
  gutter) and is warped, from the full-resolution original, to an upright rectangle.

Reading order: rows of pages from top to bottom (a page belongs to a row when its
centre lies within half a page height of the row's), left to right within a row.
When unsure, the whole image comes back as one page, with a warning: a missed cut
costs a little accuracy, a wrong cut loses text.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import Literal

import cv2
import numpy as np
from PIL import Image

Point = tuple[float, float]
WORK_SIDE = 1000  # detection runs at this long side
PAGE_ASPECT_MIN = 1.25  # a portrait page is at least this tall for its width (A4: 1.41)
MIN_AREA = 0.02  # a page covers at least this share of the photo
UNSURE = "page detection unsure: the whole image is kept as one page"


@dataclass
class Page:
    quad: list[Point]  # clockwise from the page's top-left, in source pixels
    image: Image.Image


@dataclass
class PageSplit:
    pages: list[Page]
    kind: Literal["photo", "stitched", "single"]
    warnings: list[str] = field(default_factory=list)


def split_to_json(split: PageSplit) -> dict:
    return {
        "pages": [
            {"quad": [[round(x, 1), round(y, 1)] for x, y in page.quad]} for page in split.pages
        ]
    }


def whole(image: Image.Image, warnings: list[str] | None = None) -> PageSplit:
    w, h = image.size
    quad = [(0.0, 0.0), (float(w), 0.0), (float(w), float(h)), (0.0, float(h))]
    return PageSplit([Page(quad, image)], "single", warnings or [])


def split_pages(image: Image.Image, *, max_pages: int = 6) -> PageSplit:
    """Never raises: odd input (tiny, blank, a strip) comes back as one page."""
    image = image.convert("RGB")
    w, h = image.size
    if min(w, h) < 32:
        return whole(image)
    scale = min(1.0, WORK_SIDE / max(w, h))
    small = np.asarray(image.resize((max(1, round(w * scale)), max(1, round(h * scale)))))
    paper = paper_mask(small)
    if border_is_paper(paper):
        cuts = stitched_cuts(small, vertical=h >= w, max_pages=max_pages)
        if not cuts:
            return whole(image)
        return cut_strip(image, [c / scale for c in cuts], vertical=h >= w)
    quads = find_quads(paper, small)
    if not quads:
        return whole(image, [UNSURE])
    warnings: list[str] = []
    if len(quads) > max_pages:
        quads = sorted(quads, key=lambda q: -cv2.contourArea(np.float32(q)))[:max_pages]
        warnings.append(f"more than {max_pages} pages found; kept the {max_pages} largest")
    full = np.asarray(image)
    pages = []
    for quad in reading_order(quads):
        src = [(x / scale, y / scale) for x, y in quad]
        src = [(min(max(x, 0.0), w), min(max(y, 0.0), h)) for x, y in src]
        pages.append(Page(src, Image.fromarray(warp(full, src))))
    return PageSplit(pages, "photo", warnings)


# ------------------------------------------------------------------ detection


def paper_mask(rgb: np.ndarray) -> np.ndarray:
    """Bright, unsaturated pixels (paper) against the desk, text filled in."""
    hsv = cv2.cvtColor(rgb, cv2.COLOR_RGB2HSV)
    score = hsv[:, :, 2].astype(np.float32) - 1.5 * hsv[:, :, 1].astype(np.float32)
    score = cv2.GaussianBlur(np.clip(score, 0, 255).astype(np.uint8), (5, 5), 0)
    if int(score.max()) - int(score.min()) < 30:  # one flat colour: nothing to separate
        return np.full(score.shape, 255 if score.mean() > 170 else 0, np.uint8)
    _, mask = cv2.threshold(score, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    k = max(3, min(rgb.shape[:2]) // 60) | 1
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (k, k))
    return cv2.morphologyEx(mask, cv2.MORPH_CLOSE, kernel)


def border_is_paper(mask: np.ndarray) -> bool:
    """The page fills the frame (a scan, a screenshot, stitched scans)."""
    b = max(2, min(mask.shape) // 40)
    edges = np.concatenate(
        [mask[:b].ravel(), mask[-b:].ravel(), mask[:, :b].ravel(), mask[:, -b:].ravel()]
    )
    return float((edges > 0).mean()) > 0.75


def find_quads(mask: np.ndarray, rgb: np.ndarray) -> list[list[Point]]:
    """One quadrilateral per paper region; touching regions separated by erosion."""
    area = mask.shape[0] * mask.shape[1]
    k = max(3, min(mask.shape) // 80) | 1
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (k, k))
    core = cv2.erode(mask, kernel, iterations=2)
    count, labels = cv2.connectedComponents(core)
    quads: list[list[Point]] = []
    for label in range(1, count):
        region = cv2.dilate((labels == label).astype(np.uint8) * 255, kernel, iterations=2)
        region = cv2.bitwise_and(region, mask)
        contours, _ = cv2.findContours(region, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        if not contours:
            continue
        contour = max(contours, key=cv2.contourArea)
        c_area = cv2.contourArea(contour)
        if c_area < MIN_AREA * area or c_area > 0.97 * area:
            continue
        quad = to_quad(contour)
        if cv2.contourArea(np.float32(quad)) < 0.8 * cv2.contourArea(cv2.convexHull(contour)):
            continue  # not page-shaped
        if not has_ink(warp(rgb, quad)):
            continue  # a bright patch of desk, not a page of notes
        quads.extend(split_spread(quad, rgb))
    return quads


def has_ink(flat: np.ndarray) -> bool:
    """Strokes much darker than the paper around them cover a little of the page."""
    gray = cv2.cvtColor(flat, cv2.COLOR_RGB2GRAY)
    paper = cv2.medianBlur(gray, 21) if min(gray.shape) > 21 else gray
    dark = (paper.astype(np.int16) - gray.astype(np.int16)) > 50
    return float(dark.mean()) > 0.003


def to_quad(contour: np.ndarray) -> list[Point]:
    hull = cv2.convexHull(contour)
    perimeter = cv2.arcLength(hull, True)
    for eps in (0.01, 0.02, 0.03, 0.05):
        approx = cv2.approxPolyDP(hull, eps * perimeter, True)
        if len(approx) == 4:
            return order_corners(approx.reshape(4, 2))
    return order_corners(cv2.boxPoints(cv2.minAreaRect(contour)))


def order_corners(pts: np.ndarray) -> list[Point]:
    """Clockwise from the top-left; pages are tilted well under 45°."""
    pts = np.asarray(pts, dtype=np.float32)
    s, d = pts.sum(axis=1), pts[:, 1] - pts[:, 0]
    tl, br = pts[np.argmin(s)], pts[np.argmax(s)]
    tr, bl = pts[np.argmin(d)], pts[np.argmax(d)]
    return [(float(p[0]), float(p[1])) for p in (tl, tr, br, bl)]


def edge_lengths(quad: list[Point]) -> tuple[float, float]:
    (tl, tr, br, bl) = [np.array(p) for p in quad]
    width = (np.linalg.norm(tr - tl) + np.linalg.norm(br - bl)) / 2
    height = (np.linalg.norm(bl - tl) + np.linalg.norm(br - tr)) / 2
    return float(width), float(height)


def split_spread(quad: list[Point], rgb: np.ndarray) -> list[list[Point]]:
    """An open notebook (two pages, wider than tall) splits at its darker gutter."""
    w, h = edge_lengths(quad)
    if w < 1.15 * h:
        return [quad]
    flat = cv2.cvtColor(warp(rgb, quad), cv2.COLOR_RGB2GRAY).astype(np.float32)
    # Smoothed over ~2% of the width: text averages out, a gutter's shadow does not.
    box = max(3, flat.shape[1] // 50)
    profile = np.convolve(flat.mean(axis=0), np.ones(box) / box, mode="same")
    n = len(profile)
    lo, hi = int(0.35 * n), int(0.65 * n)
    if hi - lo < 3:
        return [quad]
    at = lo + int(np.argmin(profile[lo:hi]))
    reach = max(2, int(0.1 * n))
    sides = max(profile[max(0, at - reach)], profile[min(n - 1, at + reach)])
    if profile[at] > np.median(profile) - 15 or profile[at] > sides - 10:
        return [quad]  # no gutter shading: one wide page
    f = at / len(profile)
    tl, tr, br, bl = (np.array(p) for p in quad)
    top, bottom = tl + f * (tr - tl), bl + f * (br - bl)
    left = [tuple(map(float, p)) for p in (tl, top, bottom, bl)]
    right = [tuple(map(float, p)) for p in (top, tr, br, bottom)]
    return [left, right]  # type: ignore[list-item]


def reading_order(quads: list[list[Point]]) -> list[list[Point]]:
    def centre(q: list[Point]) -> tuple[float, float]:
        return sum(p[0] for p in q) / 4, sum(p[1] for p in q) / 4

    rows: list[list[list[Point]]] = []
    for q in sorted(quads, key=lambda q: centre(q)[1]):
        cy, half = centre(q)[1], edge_lengths(q)[1] / 2
        for row in rows:
            if abs(np.mean([centre(r)[1] for r in row]) - cy) < half:
                row.append(q)
                break
        else:
            rows.append([q])
    return [q for row in rows for q in sorted(row, key=lambda q: centre(q)[0])]


def warp(rgb: np.ndarray, quad: list[Point]) -> np.ndarray:
    """The quad as an upright rectangle of its own size."""
    w, h = edge_lengths(quad)
    w, h = max(1, round(w)), max(1, round(h))
    dst = np.float32([(0, 0), (w, 0), (w, h), (0, h)])
    m = cv2.getPerspectiveTransform(np.float32(quad), dst)
    return cv2.warpPerspective(
        rgb, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )


# ------------------------------------------------------------------ stitched


def stitched_cuts(rgb: np.ndarray, *, vertical: bool, max_pages: int = 6) -> list[float]:
    """Where to cut a strip of stacked pages (in work pixels), or [] for one page."""
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32)
    if not vertical:
        gray = gray.T
    length, width = gray.shape
    # Portrait pages: stacked, each is ≥ 1.25× as tall as wide (so a long screenshot
    # stays whole); side by side, each is about 1/1.38 as wide as tall.
    ratio = length / width
    n = math.floor(ratio / PAGE_ASPECT_MIN) if vertical else round(ratio * 1.38)
    if not 2 <= n <= max_pages:
        return []
    mean, std = gray.mean(axis=1), gray.std(axis=1)
    paper = float(np.median(mean))
    # A white gap is a uniform row brighter than paper; a page edge a uniform dark line.
    gap = (mean > paper + 4) & (std < 6)
    edge = (mean < paper - 6) & (std < 12)
    ink = (gray < 160).mean(axis=1)
    step = length / n
    window = max(2, int(0.06 * step))
    cuts: list[float] = []
    for k in range(1, n):
        guess = int(k * step)
        lo, hi = max(0, guess - window), min(length, guess + window)
        marks = np.flatnonzero(gap[lo:hi] | edge[lo:hi])
        if marks.size:
            at = lo + int(marks[np.argmin(np.abs(marks + lo - guess))])
        elif vertical and ink[max(0, guess - 2) : guess + 3].max(initial=0) <= 0.02:
            at = guess  # same-size pages with no gap: the cut falls in the margins
        else:
            return []  # no visible break, or the cut would cross text
        cuts.append(float(at))
    bounds = [0, *map(int, cuts), length]
    if any((ink[a:b] > 0.02).mean() < 0.05 for a, b in itertools.pairwise(bounds)):
        return []  # a "page" without text: this is not a stack of pages
    return cuts


def cut_strip(image: Image.Image, cuts: list[float], *, vertical: bool) -> PageSplit:
    w, h = image.size
    bounds = [0.0, *cuts, float(h if vertical else w)]
    pages = []
    for a, b in itertools.pairwise(bounds):
        if vertical:
            quad = [(0.0, a), (float(w), a), (float(w), b), (0.0, b)]
            crop = image.crop((0, round(a), w, round(b)))
        else:
            quad = [(a, 0.0), (b, 0.0), (b, float(h)), (a, float(h))]
            crop = image.crop((round(a), 0, round(b), h))
        pages.append(Page(quad, crop))
    return PageSplit(pages, "stitched")
