"""Split a photo of several pages into one flat, upright, tightly cropped image per page.

Three kinds of input, told apart by the image's border:

- photo: pages on a background (a desk). Paper is found on a downscaled copy as bright,
  low-saturation regions: Otsu on a brightness-minus-saturation score, then again minus a
  smooth fit of the desk's own light (kept when the first pass was unsure or this one finds
  more paper), and, when paper and desk are equally bright, as the areas its edges enclose.
  Pages that touch are separated by erosion or cut along strong edges; each page gets a
  quadrilateral fitted line by line to its outline (or its hull, when a dim corner broke up),
  an open notebook's spread is cut at its shaded gutter, and every page is warped from the
  full-resolution original to an upright rectangle.
- stitched: pages stacked in one tall (or wide) image with a paper-coloured border. It is cut
  at visible seams (a faint page edge, a gap whiter than the paper, a change of paper tint);
  a strip long enough for several pages with none is taken for equal pages, cut where its
  aspect ratio puts the breaks, moved to the nearest blank row, never across text. A blank
  line inside a page is never a cut by itself.
- single: a plain scan or screenshot (light or flat-coloured border): one page, uncropped.
  A border of one flat dark colour all round is a dark-mode screen unless pages are found
  on it with nothing written around them (then it is an evenly lit dark desk).

Reading order: rows of pages top to bottom, and left to right within a row. Two pages share
a row when their vertical extents overlap by at least half of the shorter one.

Never lose content: whenever detection is unsure, the whole image comes back as one page and
the result's warnings say so. CPU-bound: callers run `split_pages` in an executor.
"""

from __future__ import annotations

import itertools
import logging
import math
from dataclasses import dataclass, field
from typing import Literal, cast

import cv2
import numpy as np
import numpy.typing as npt
from cv2.typing import MatLike
from PIL import Image

from notelens.pipeline import page_outlines

log = logging.getLogger(__name__)

Point = tuple[float, float]
Kind = Literal["photo", "stitched", "single"]

DETECT_LONG_SIDE = 1024  # photos are analysed at this size; pages are warped at full size
MIN_PAGE_AREA = 0.02  # of the photo: anything smaller is not a page we can read
MAX_SKEW = 12  # degrees between a page's opposite sides in a photo
UNSURE = "page detection unsure: the whole photo is kept as one page"


@dataclass
class Page:
    quad: list[Point]  # clockwise from the page's top-left, source pixels
    image: Image.Image  # the flat, upright RGB crop


@dataclass
class PageSplit:
    pages: list[Page]  # reading order; never empty
    kind: Kind
    warnings: list[str] = field(default_factory=list)


def split_pages(image: Image.Image, *, max_pages: int = 6) -> PageSplit:
    """Pages of `image` in reading order; the whole image as one page when unsure."""
    try:
        return _split(image, max(1, max_pages))
    except Exception as exc:  # a splitter bug must never cost the user their photo
        log.exception("page splitting failed")
        return _whole(image, "single", [f"page detection failed ({type(exc).__name__}); {UNSURE}"])


def split_to_json(split: PageSplit) -> dict[str, list[dict[str, list[list[float]]]]]:
    """The `notelens pages --json` shape: {"pages": [{"quad": [[x, y], ...]}, ...]}."""
    return {
        "pages": [{"quad": [[round(x, 1), round(y, 1)] for x, y in p.quad]} for p in split.pages]
    }


def crop_page(rgb: np.ndarray, quad: list[Point]) -> Image.Image:
    """One page cut from `rgb` by its quad (in `rgb`'s pixels): the splitter's own warp,
    for callers that find pages on a reduced copy and cut them from the original."""
    return _warp(rgb, quad)


# ---------------------------------------------------------------- dispatch


def _split(image: Image.Image, max_pages: int) -> PageSplit:
    w, h = image.size
    if min(h, w) < 16 or h * w < 4096:
        return _whole(image, "single", [])
    rgb = np.asarray(image if image.mode == "RGB" else image.convert("RGB"))
    scale = min(1.0, DETECT_LONG_SIDE / max(h, w))
    small = _Small(_resize(rgb, scale))
    border = _border(small)
    if border == "paper":
        return _split_flat(image, rgb, max_pages)
    quads, sure = _detect_photo(small, max_pages)
    if border == "flat" and not (quads and sure and _only_desk_outside(small, quads)):
        return _split_flat(image, rgb, max_pages)  # a dark-mode screen, not a dark desk
    if not quads or not sure:
        return _whole(image, "photo", [UNSURE])
    sy, sx = small.gray.shape[0] / h, small.gray.shape[1] / w
    full = [_to_source(q, sx, sy, w, h) for q in quads]
    full = reading_order(full)
    return PageSplit([Page(q, _warp(rgb, q)) for q in full], "photo", [])


def _whole(image: Image.Image, kind: Kind, warnings: list[str]) -> PageSplit:
    w, h = image.size
    quad = [(0.0, 0.0), (float(w), 0.0), (float(w), float(h)), (0.0, float(h))]
    return PageSplit([Page(quad, image.convert("RGB"))], kind, warnings)


def _resize(rgb: np.ndarray, scale: float) -> np.ndarray:
    if scale >= 1.0:
        return rgb
    h, w = rgb.shape[:2]
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)


class _Small:
    """The reduced photo that detection works on, with what several of its steps derive from
    it (grey, HSV, edges, ink strokes) made once."""

    def __init__(self, rgb: np.ndarray) -> None:
        self.rgb = rgb
        self.gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
        self.hsv = cv2.cvtColor(rgb, cv2.COLOR_RGB2HSV)
        self._edges: np.ndarray | None = None
        self._strokes: dict[bool, np.ndarray] = {}

    @property
    def edges(self) -> np.ndarray:
        if self._edges is None:
            self._edges = _edges(self.gray)
        return self._edges

    def strokes(self, *, light: bool = False) -> np.ndarray:
        """Dark strokes (`light`: light ones, as on a dark screen); see `_strokes`."""
        if light not in self._strokes:
            self._strokes[light] = _strokes(255 - self.gray if light else self.gray)
        return self._strokes[light]


def _border(small: _Small) -> Literal["paper", "flat", "desk"]:
    """What frames the image. "paper": every side is light paper or one flat colour (a scan,
    a screenshot with a title bar, a stitched strip). "flat": every side is one flat dark
    colour, as on a dark-mode screen but also on a dark, evenly lit desk. "desk": texture,
    grain or a light gradient somewhere, as only a photo has."""
    gray, sat = small.gray, small.hsv[..., 1]
    smooth = cv2.GaussianBlur(small.rgb, (0, 0), 2.0).astype(np.float32)
    h, w = gray.shape
    t = max(1, min(h, w) // 50)
    strips: list[slice | tuple[slice, slice]] = [np.s_[:t], np.s_[-t:], np.s_[:, :t], np.s_[:, -t:]]
    light = 0
    for strip in strips:
        if ((gray[strip] > 170) & (sat[strip] < 60)).mean() >= 0.8:
            light += 1
        elif smooth[strip].reshape(-1, 3).std(axis=0).max() > 4:
            return "desk"
    return "paper" if light else "flat"


def _only_desk_outside(small: _Small, quads: list[np.ndarray]) -> bool:
    """Nothing is written outside the pages, in dark or light strokes: pages on a dark desk,
    where light text on a dark screen would be lost by cropping."""
    gray = small.gray
    outside = np.full(gray.shape, 255, np.uint8)
    for q in quads:
        k = max(3, (max(gray.shape) // 100) | 1)  # the pages' own edges are not writing
        # dilating a uint8 mask gives uint8 (OpenCV's stub says any number type)
        near = cv2.dilate(_fill(q, gray.shape), np.ones((k, k), np.uint8))
        outside &= ~cast("npt.NDArray[np.uint8]", near)
    return not (_inked(small.strokes(), outside) or _inked(small.strokes(light=True), outside))


# ---------------------------------------------------------------- photos


def _paper_score(small: _Small) -> np.ndarray:
    """How paper-like each pixel is: bright and nearly colourless, with text filled in."""
    hsv = small.hsv
    sat: MatLike = hsv[..., 1].astype(np.float32)
    val: MatLike = hsv[..., 2].astype(np.float32)
    # text strokes are dark: a small closing makes the inked interior of a page look like paper
    k = max(3, (max(hsv.shape[:2]) // 150) | 1)
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (k, k))
    val = cv2.morphologyEx(val, cv2.MORPH_CLOSE, kernel)
    sat = cv2.morphologyEx(sat, cv2.MORPH_OPEN, kernel)
    return cv2.GaussianBlur(val - 1.2 * sat, (0, 0), 1.0)


def _otsu(score: np.ndarray) -> np.ndarray:
    # OpenCV allocates the output when dst is None; its stub only lists an array
    norm = cv2.normalize(score, None, 0, 255, cv2.NORM_MINMAX).astype(np.uint8)  # type: ignore[call-overload]
    _, mask = cv2.threshold(norm, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    return cv2.morphologyEx(mask, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))


def _flatten_desk(score: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The score minus a smooth fit of the desk's: a light gradient across a pale desk can
    make one end of the desk brighter than paper at the other, which no global threshold
    survives. The desk is re-estimated twice from the pixels left outside the paper."""
    h, w = score.shape
    step = max(1, int(math.sqrt(h * w / 20000)))
    ys, xs = np.mgrid[0:h:step, 0:w:step]
    x, y = xs.ravel() / w - 0.5, ys.ravel() / h - 0.5
    basis = np.stack([np.ones_like(x), x, y, x * x, x * y, y * y], axis=1)
    # the fit is evaluated as a column plus a row plus one product (float32, no full grids)
    col = (np.arange(h, dtype=np.float32) / h - 0.5)[:, None]
    row = (np.arange(w, dtype=np.float32) / w - 0.5)[None, :]
    flat = score
    for _ in range(2):
        desk = cv2.erode(255 - mask, np.ones((5, 5), np.uint8))[::step, ::step].ravel() > 0
        if desk.sum() < 50:
            return flat
        # least squares by the normal equations: six unknowns, well conditioned on [-½, ½]
        b, v = basis[desk], score[::step, ::step].ravel()[desk]
        coef = np.linalg.solve(b.T @ b, b.T @ v)
        c = coef.astype(np.float32)
        fit = (c[0] + c[2] * col + c[5] * col * col) + (c[1] + c[4] * col) * row
        flat = score - (fit + c[3] * row * row)
        mask = _otsu(flat)
    return flat


def _detect_photo(small: _Small, max_pages: int) -> tuple[list[np.ndarray], bool]:
    """Page quads on the small image, and whether every paper region made sense."""
    score = _paper_score(small)
    mask = _otsu(score)
    quads, sure = _find_quads(small, mask, max_pages)
    # again against the desk's own light: needed when the first pass was unsure, and better
    # when a page in the dim part of the desk lost a corner to the global threshold
    flat, flat_sure = _find_quads(small, _otsu(_flatten_desk(score, mask)), max_pages)
    bigger = len(flat) == len(quads) and _area(flat) > 1.02 * _area(quads)
    if flat and flat_sure and (not (quads and sure) or bigger):
        quads, sure = flat, True
    if quads and sure:
        # the cells of a lit panel or a window are no pages: keep the written ones, and when
        # nothing is written anywhere, look for outlines
        written = _written(small, quads)
        quads, sure = (written, True) if written else (quads, False)
    if not (quads and sure):
        outlined = _outlined_pages(small, max_pages) or page_outlines.find_pages(
            small.rgb, max_pages
        )
        if outlined:
            quads, sure = outlined, True
    quads = [q for p in quads for q in _split_gutter(small, p)]
    return quads, sure


def _written(small: _Small, quads: list[np.ndarray]) -> list[np.ndarray]:
    return [q for q in quads if _inked(small.strokes(), _fill(q, small.gray.shape))]


def _outlined_pages(small: _Small, max_pages: int) -> list[np.ndarray]:
    """Pages found by their outlines alone, for cream paper on a pale grey desk, which
    brightness and colour cannot tell apart: every area enclosed by edges (and clear of the
    photo's border) that is page-shaped and paper-like is a page. Only when nothing is
    written anywhere else."""
    hsv = small.hsv
    h, w = small.gray.shape
    min_area = MIN_PAGE_AREA * h * w
    count, labels, stats, _ = cv2.connectedComponentsWithStats(
        cv2.bitwise_not(small.edges), connectivity=4
    )
    pages = []
    rest = np.full((h, w), 255, np.uint8)
    for i in range(1, count):
        x, y, bw, bh, area = stats[i]
        if area < min_area or x == 0 or y == 0 or x + bw >= w or y + bh >= h:
            continue
        piece = cv2.dilate((labels == i).astype(np.uint8) * 255, np.ones((3, 3), np.uint8))
        c = max(cv2.findContours(piece, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)[0], key=len)
        q = _fit_quad(c)
        if q is not None and _plausible(q, c, min_area) and _looks_like_paper(hsv, q):
            pages.append(q)
            rest &= ~_fill(q, (h, w))
    if len(pages) > max_pages or _inked(small.strokes(), rest):
        return []
    return pages


def _find_quads(small: _Small, mask: np.ndarray, max_pages: int) -> tuple[list[np.ndarray], bool]:
    """Quads for the paper regions of `mask`, and whether every region made sense. A region
    that is no page and holds no writing is bright desk, and is ignored."""
    h, w = mask.shape
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    min_area = MIN_PAGE_AREA * h * w
    quads: list[np.ndarray] = []
    sure = True
    for c in contours:
        if cv2.contourArea(c) < min_area:
            continue
        region = np.zeros((h, w), np.uint8)
        cv2.drawContours(region, [c], -1, 255, cv2.FILLED)
        found = _quads_in_region(c, region, min_area)
        if found is None:
            found, rest = _cut_at_edges(region, small.edges, min_area)
            if _inked(small.strokes(), rest):
                sure = False
        for q in found:
            if _looks_like_paper(small.hsv, q):
                quads.append(q)
            elif _inked(small.strokes(), _fill(q, (h, w))):
                sure = False
    if len(quads) > max_pages:
        sure = False
    return quads, sure


def _area(quads: list[np.ndarray]) -> float:
    return sum(cv2.contourArea(q.astype(np.float32)) for q in quads)


def _fill(quad: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    mask = np.zeros(shape, np.uint8)
    cv2.fillConvexPoly(mask, np.round(quad).astype(np.int32), 255)
    return mask


def _looks_like_paper(hsv: np.ndarray, quad: np.ndarray) -> bool:
    """Paper is nearly colourless and brighter than the desk just around it: the lighter
    streaks of a wood grain are neither."""
    h, w = hsv.shape[:2]
    inside = _fill(quad, (h, w))
    if np.median(hsv[..., 1][inside > 0]) > 80:
        return False
    k = max(3, (min(h, w) // 30) | 1)
    ring = cv2.dilate(inside, np.ones((k, k), np.uint8)) & ~inside
    if cv2.countNonZero(ring) < 50:  # the page fills the photo
        return True
    val = hsv[..., 2]
    return float(np.median(val[inside > 0])) - float(np.median(val[ring > 0])) >= 12


def _edges(gray: np.ndarray) -> np.ndarray:
    blurred = cv2.GaussianBlur(gray, (0, 0), 1.2)
    return cv2.dilate(cv2.Canny(blurred, 15, 40), np.ones((3, 3), np.uint8))


def _cut_at_edges(
    region: np.ndarray, edges: np.ndarray, min_area: float
) -> tuple[list[np.ndarray], np.ndarray]:
    """Pages inside a region that also holds bright desk: cut along the strong edges (a
    page's border is a sharp step, a hot spot of light on the desk is not). Returns the page
    quads and the mask of what is left."""
    parts_mask = region & ~edges
    parts, _ = cv2.findContours(parts_mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    rest = region.copy()
    quads = []
    for p in parts:
        if cv2.contourArea(p) < min_area * 0.8:
            continue
        piece = np.zeros_like(region)
        cv2.drawContours(piece, [p], -1, 255, cv2.FILLED)
        piece = cv2.dilate(piece, np.ones((3, 3), np.uint8)) & region
        cs, _ = cv2.findContours(piece, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
        c = max(cs, key=cv2.contourArea)
        q = _fit_quad(c)
        if q is not None and _plausible(q, c, min_area):
            quads.append(q)
            cv2.fillConvexPoly(rest, np.round(q).astype(np.int32), 0)
    return quads, rest


def _has_ink(gray: np.ndarray, mask: np.ndarray) -> bool:
    """Writing: thin strokes much darker than the paper around them, over a little of the
    region (its border, where paper meets a darker desk, does not count)."""
    return _inked(_strokes(gray), mask)


def _ink_kernel(shape: tuple[int, ...]) -> int:
    return max(5, (max(shape[:2]) // 70) | 1)


def _strokes(gray: np.ndarray) -> np.ndarray:
    """Where thin strokes are much darker than the paper around them (the costly part of
    `_has_ink`, made once per image by callers that ask about several regions)."""
    k = _ink_kernel(gray.shape)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))
    strokes: np.ndarray = cv2.morphologyEx(gray, cv2.MORPH_BLACKHAT, kernel) > 40
    return strokes


def _inked(strokes: np.ndarray, mask: np.ndarray) -> bool:
    """`_has_ink` with the stroke map made already."""
    k = _ink_kernel(mask.shape)
    inner = cv2.erode(mask, np.ones((k, k), np.uint8))
    if cv2.countNonZero(inner) < 100:
        return False
    return float(strokes[inner > 0].mean()) > 0.004


def _quads_in_region(
    contour: np.ndarray, region: np.ndarray, min_area: float
) -> list[np.ndarray] | None:
    """One quad for a page-shaped region; pages that touch are separated by eroding, and a
    ragged region is fitted by its hull."""
    quad = _fit_quad(contour)
    if quad is not None and _plausible(quad, contour, min_area):
        return [quad]
    for r in (2, 4, 7, 11):
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
        eroded = cv2.erode(region, kernel)
        parts, _ = cv2.findContours(eroded, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
        parts = [p for p in parts if cv2.contourArea(p) >= min_area * 0.5]
        if len(parts) < 2:
            continue
        out = []
        for p in parts:
            piece = np.zeros_like(region)
            cv2.drawContours(piece, [p], -1, 255, cv2.FILLED)
            piece = cv2.dilate(piece, kernel) & region
            cs, _ = cv2.findContours(piece, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
            c = max(cs, key=cv2.contourArea)
            q = _fit_quad(c)
            if q is None or not _plausible(q, c, min_area):
                break
            out.append(q)
        else:
            return out
    # a page whose dim corner broke up into specks (shadow, vignetting): fit its convex hull
    hull = np.zeros_like(region)
    cv2.fillConvexPoly(hull, cv2.convexHull(contour), 255)
    outline = max(cv2.findContours(hull, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)[0], key=len)
    quad = _fit_quad(outline, boxed=True)
    if quad is not None and _plausible(quad, contour, min_area):
        return [quad]
    return None


def _fit_quad(contour: np.ndarray, *, boxed: bool = False) -> np.ndarray | None:
    """Four corners fitted to a region's outline: rough corners from its hull (or from its
    rotated bounding box when `boxed`, for a ragged outline), then each side refined by a
    robust line fit to the outline points along it (rounded or blurred corners and shadows
    do not pull the corners in)."""
    hull = cv2.convexHull(contour)
    peri = cv2.arcLength(hull, True)
    approx = None
    for eps in (0.01, 0.02, 0.03, 0.05, 0.08):
        a = cv2.approxPolyDP(hull, eps * peri, True)
        if len(a) <= 4:
            approx = a
            break
    if boxed or approx is None or len(approx) != 4:
        approx = cv2.boxPoints(cv2.minAreaRect(contour))
    rough = _clockwise(approx.reshape(-1, 2).astype(np.float64))
    pts = contour.reshape(-1, 2).astype(np.float64)
    lines = []
    for i in range(4):
        a, b = rough[i], rough[(i + 1) % 4]
        d = b - a
        length = float(np.hypot(*d))
        if length < 4:
            return None
        u = d / length
        n = np.array([-u[1], u[0]])
        rel = pts - a
        along = rel @ u
        across = rel @ n
        near = (np.abs(across) < max(2.0, 0.03 * length)) & (along > 0.1 * length)
        near &= along < 0.9 * length
        if near.sum() < 5:
            lines.append((a, u))
            continue
        vx, vy, x0, y0 = cv2.fitLine(pts[near].astype(np.float32), cv2.DIST_HUBER, 0, 0.01, 0.01)
        lines.append((np.array([x0[0], y0[0]]), np.array([vx[0], vy[0]])))
    corners = []
    for i in range(4):
        p = _intersect(lines[i - 1], lines[i])
        if p is None:
            return None
        corners.append(p)
    quad = np.array(corners)
    # the outline runs through the outermost paper pixels' centres: the edge is half a pixel out
    centre = quad.mean(0)
    quad = quad + 0.5 * np.sign(quad - centre)
    return _clockwise(quad)


def _intersect(
    l1: tuple[np.ndarray, np.ndarray], l2: tuple[np.ndarray, np.ndarray]
) -> np.ndarray | None:
    (p1, d1), (p2, d2) = l1, l2
    m = np.array([[d1[0], -d2[0]], [d1[1], -d2[1]]], np.float64)
    if abs(np.linalg.det(m)) < 1e-6:
        return None
    t = np.linalg.solve(m, p2 - p1)
    point: np.ndarray = p1 + t[0] * d1
    return point


def _plausible(
    quad: np.ndarray, contour: np.ndarray, min_area: float, max_skew: float = MAX_SKEW
) -> bool:
    """A page: convex, roughly rectangular, and filling the region it was fitted to."""
    if not cv2.isContourConvex(quad.astype(np.float32).reshape(-1, 1, 2)):
        return False
    area = cv2.contourArea(quad.astype(np.float32))
    if area < min_area:
        return False
    for i in range(4):
        a, b, c = quad[i - 1], quad[i], quad[(i + 1) % 4]
        v1, v2 = a - b, c - b
        cos = v1 @ v2 / (np.linalg.norm(v1) * np.linalg.norm(v2) + 1e-9)
        if abs(cos) > 0.5:  # corners between 60° and 120°
            return False
    for i in (0, 1):  # opposite sides nearly parallel: a phone's perspective is mild
        d1, d2 = quad[i + 1] - quad[i], quad[i + 2] - quad[(i + 3) % 4]
        cos = d1 @ d2 / (np.linalg.norm(d1) * np.linalg.norm(d2) + 1e-9)
        if cos < math.cos(math.radians(max_skew)):
            return False
    sides = [np.linalg.norm(quad[i] - quad[i - 1]) for i in range(4)]
    if max(sides) > 4 * min(sides):
        return False
    region = cv2.contourArea(contour)
    hull = cv2.contourArea(cv2.convexHull(contour))
    inter, _ = cv2.intersectConvexConvex(
        quad.astype(np.float32), cv2.convexHull(contour).reshape(-1, 2).astype(np.float32)
    )
    return region >= 0.9 * area and inter >= 0.95 * max(area, hull) * 0.97


def _split_gutter(small: _Small, quad: np.ndarray) -> list[np.ndarray]:
    """Cut an open notebook's spread (a landscape quad) at a dark, narrow gutter near its middle."""
    top, right = np.linalg.norm(quad[1] - quad[0]), np.linalg.norm(quad[2] - quad[1])
    if not 1.1 < top / right < 2.2:
        return [quad]
    w, h = 400, max(8, round(400 * right / top))
    m = cv2.getPerspectiveTransform(
        quad.astype(np.float32), np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32)
    )
    flat = cv2.warpPerspective(small.gray, m, (w, h))
    # column brightness of the paper (upper percentile: text does not count)
    prof: npt.NDArray[np.floating] = np.percentile(
        flat[h // 10 : -h // 10 or None].astype(np.float32), 80, axis=0
    )
    prof = np.convolve(prof, np.ones(5) / 5, mode="same")
    lo, hi = int(w * 0.35), int(w * 0.65)
    x = lo + int(np.argmin(prof[lo:hi]))
    left = np.median(prof[max(0, x - 60) : max(1, x - 20)])
    right_ = np.median(prof[x + 20 : x + 60])
    depth = min(left, right_) - prof[x]
    if depth < 0.06 * min(left, right_):
        fold = _fold(flat, cv2.warpPerspective(small.hsv[..., 2], m, (w, h)))
        if fold is None:
            return [quad]
        x = fold
    t = x / w
    a = quad[0] + t * (quad[1] - quad[0])
    b = quad[3] + t * (quad[2] - quad[3])
    return [np.array([quad[0], a, b, quad[3]]), np.array([a, quad[1], quad[2], b])]


FOLD_SHARE = 0.7  # of the spread's height a book's crease runs along, unbroken by text
FOLD_FAINT = 0.08  # of the paper's brightness: deeper than this is a printed line, not a crease
FOLD_DEPTH = 1.0  # grey levels: a band's valley
FOLD_NEAR = 0.08  # of the spread's width: how far from its middle a crease can be


def _fold(gray: np.ndarray, value: np.ndarray) -> int | None:
    """The column of a book's crease when its gutter casts no shadow: a faint, narrow,
    straight valley from the top of the spread to the bottom, close to its middle (the two
    pages are the same size). Rows are blurred along the crease in bands, so that text
    averages out and a line a grey level or two deep stands out. Text also lines up in
    columns (Chinese, tables), but rarely crosses the margins at the top and bottom, which a
    crease does. A printed rule there (a notebook's margin line) is darker than a crease, or
    coloured: a crease is a shadow, as deep in `value` (the largest channel) as in `gray`."""
    w = gray.shape[1]
    lo, hi = round(w * (0.5 - FOLD_NEAR)), round(w * (0.5 + FOLD_NEAR))
    depth = _valleys(gray)[:, lo:hi]
    # a crease that leans a little moves a column between bands
    valley = cv2.dilate((depth > FOLD_DEPTH).astype(np.uint8), np.ones((1, 3), np.uint8)) > 0
    found = (valley.mean(axis=0) >= FOLD_SHARE) & valley[0] & valley[-1]
    strength = np.median(depth, axis=0)
    in_value = np.median(_valleys(value)[:, lo:hi], axis=0)
    faint = FOLD_FAINT * float(np.percentile(gray, 90))
    creases = []
    for a, b in _runs(found):
        x = a + int(np.argmax(strength[a:b]))
        if b - a > 6:  # a broad valley is no line
            return None
        if strength[x] < faint and in_value[x] > 0.5 * strength[x]:
            creases.append(lo + x)
    return creases[0] if len(creases) == 1 else None  # none, or several: not sure which


def _valleys(flat: np.ndarray) -> np.ndarray:
    """How far each pixel lies below its neighbours 2-4 columns away on both sides, in
    bands of rows blurred together (bands × columns)."""
    h = flat.shape[0]
    band = max(3, h // 12)
    blurred = cv2.blur(flat.astype(np.float32), (1, band))
    rows = blurred[band // 2 : h - band // 2 : max(1, band // 2)]
    sides = [np.minimum(np.roll(rows, d, 1), np.roll(rows, -d, 1)) for d in (2, 3, 4)]
    depth: np.ndarray = np.max(sides, axis=0) - rows
    return depth


def _clockwise(pts: np.ndarray) -> np.ndarray:
    """Corners clockwise (on screen, y down) from the page's top-left: the corner that starts
    the edge pointing most nearly rightwards. Pages rotated under 45° come out upright."""
    centre = pts.mean(0)
    ang = np.arctan2(pts[:, 1] - centre[1], pts[:, 0] - centre[0])
    pts = pts[np.argsort(ang)]
    dirs = np.roll(pts, -1, axis=0) - pts
    start = int(np.argmax(dirs[:, 0] / (np.linalg.norm(dirs, axis=1) + 1e-9)))
    return np.roll(pts, -start, axis=0)


def _to_source(quad: np.ndarray, sx: float, sy: float, w: int, h: int) -> list[Point]:
    """Small-image pixel centres to source pixel centres."""
    q = (quad + 0.5) / np.array([sx, sy]) - 0.5
    q[:, 0] = np.clip(q[:, 0], 0, w)
    q[:, 1] = np.clip(q[:, 1], 0, h)
    return [(float(x), float(y)) for x, y in q]


def _warp(rgb: np.ndarray, quad: list[Point]) -> Image.Image:
    """The quad warped to an upright rectangle whose sides are the mean of opposite edges."""
    q = np.array(quad, np.float32)
    width = (np.linalg.norm(q[1] - q[0]) + np.linalg.norm(q[2] - q[3])) / 2
    height = (np.linalg.norm(q[3] - q[0]) + np.linalg.norm(q[2] - q[1])) / 2
    w, h = max(1, round(width)), max(1, round(height))
    dst = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32)
    m = cv2.getPerspectiveTransform(q, dst)
    out = cv2.warpPerspective(
        rgb, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )
    return Image.fromarray(out)


def reading_order(quads: list[list[Point]]) -> list[list[Point]]:
    """Rows top to bottom (a page joins a row when it overlaps it vertically by half the
    shorter height), then left to right within each row."""
    boxes = [
        (min(y for _, y in q), max(y for _, y in q), sum(x for x, _ in q) / 4, q) for q in quads
    ]
    boxes.sort(key=lambda b: (b[0] + b[1]) / 2)
    rows: list[list[tuple[float, float, float, list[Point]]]] = []
    for box in boxes:
        for row in rows:
            top, bottom = min(b[0] for b in row), max(b[1] for b in row)
            overlap = min(bottom, box[1]) - max(top, box[0])
            if overlap >= 0.5 * min(bottom - top, box[1] - box[0]):
                row.append(box)
                break
        else:
            rows.append([box])
    rows.sort(key=lambda r: sum((b[0] + b[1]) / 2 for b in r) / len(r))
    return [b[3] for row in rows for b in sorted(row, key=lambda b: b[2])]


# ---------------------------------------------------------------- flat images


FLAT_SHORT_SIDE = 600  # stitched images are profiled at this width
SPLIT_ASPECT = 2.3  # below this a flat image is one page unless a seam is visible
PAGE_ASPECT = 1.25  # a stacked portrait page is at least this tall for its width
SIDE_ASPECT = 1.38  # pages side by side: typical height / width
MIN_PIECE = 0.6  # a page is at least this long, as a fraction of the strip's width
SEAM_CONTRAST = 3  # grey levels: a page edge or a gap, against rows of paper
NO_BREAKS = "a tall image with no clear page breaks is kept as one page"


def _split_flat(image: Image.Image, rgb: np.ndarray, max_pages: int) -> PageSplit:
    h, w = rgb.shape[:2]
    vertical = h >= w
    long_, short = max(h, w), min(h, w)
    scale = min(1.0, FLAT_SHORT_SIDE / short, 6000 / long_)
    gray = cv2.cvtColor(_resize(rgb, scale), cv2.COLOR_RGB2GRAY)
    if not vertical:
        gray = gray.T
    cuts, warnings = _flat_cuts(gray, max_pages, vertical=vertical)
    if not cuts:
        return _whole(image, "single", warnings)
    bounds = [0, *[round(c / scale) for c in cuts], long_]
    pages = []
    for a, b in itertools.pairwise(bounds):
        if vertical:
            quad = [(0, a), (w, a), (w, b), (0, b)]
            crop = rgb[a:b]
        else:
            quad = [(a, 0), (b, 0), (b, h), (a, h)]
            crop = rgb[:, a:b]
        pages.append(Page([(float(x), float(y)) for x, y in quad], Image.fromarray(crop)))
    return PageSplit(pages, "stitched", warnings)


def _flat_cuts(gray: np.ndarray, max_pages: int, *, vertical: bool) -> tuple[list[int], list[str]]:
    """Where to cut a flat image (rows run along its long side), and any warnings.

    First, visible seams (a faint page edge, a gap whiter than the paper, a change of paper
    tint), each leaving page-sized pieces. Then any piece long enough to hold several pages
    is taken for pages of equal size: cuts where its aspect ratio puts the breaks, moved to
    the nearest blank row, and only if no cut crosses text and no page comes out blank.
    """
    n, width = gray.shape
    g = gray.astype(np.int16)
    bg = np.percentile(g, 90, axis=1, keepdims=True)  # the paper: text never fills a row
    blank = (np.abs(g - bg) > 45).mean(axis=1) < 0.004
    seams = _seams(g, blank, n / width)
    edges = [0, *_accept(seams, n, width, max_pages), n]
    cuts: list[int] = []
    warnings: list[str] = []
    for a, b in itertools.pairwise(edges):
        inner, warning = _equal_cuts(blank[a:b], width, vertical=vertical)
        cuts += [a + c for c in inner]
        warnings += warning
        if b < n:
            cuts.append(b)
    if len(cuts) + 1 > max_pages:
        return [], [f"more than {max_pages} pages in one image: kept as one page"]
    return cuts, warnings


def _equal_cuts(blank: np.ndarray, width: int, *, vertical: bool) -> tuple[list[int], list[str]]:
    n = len(blank)
    aspect = n / width
    if aspect < SPLIT_ASPECT:
        return [], []
    pages = math.floor(aspect / PAGE_ASPECT) if vertical else round(aspect * SIDE_ASPECT)
    if pages < 2:
        return [], []
    step = n / pages
    window = int(0.06 * step)
    blank_idx = np.flatnonzero(blank)
    cuts = []
    for k in range(1, pages):
        guess = round(k * step)
        near = blank_idx[np.abs(blank_idx - guess) <= window]
        if near.size == 0:
            return [], [NO_BREAKS]
        cuts.append(int(near[np.argmin(np.abs(near - guess))]))
    edges = [0, *cuts, n]
    if any(blank[a:b].all() for a, b in itertools.pairwise(edges)):
        return [], []  # a "page" with nothing on it: this is not a stack of pages
    return cuts, []


def _seams(g: np.ndarray, blank: np.ndarray, aspect: float) -> list[tuple[float, int]]:
    """Visible seams between pages, as (strength, row), inside runs of blank rows: a thin line
    off the paper's shade or a step in it (a faint page edge, a change of paper tint), or a
    gap of another shade between two of those (white between two pages)."""
    n = len(blank)
    rowmean = g.mean(axis=1)
    lines: list[tuple[float, int]] = []
    steps: list[tuple[float, int]] = []
    for a, b in _runs(blank):
        if a == 0 or b == n or b - a < 5:  # the margins at the ends are not seams
            continue
        rows = rowmean[a:b]
        # a running median keeps steps and removes lines up to 5 rows thick (a ruled line,
        # blurred): lines stand out from it, steps are in it
        med = np.median(np.lib.stride_tricks.sliding_window_view(np.pad(rows, 5, "edge"), 11), 1)
        line = np.abs(rows - med)
        step = np.zeros_like(rows)
        step[2:-2] = np.abs(med[4:] - med[:-4])
        line[:2] = line[-2:] = 0  # the run's ends: the faint tops and tails of letters
        step[:3] = step[-3:] = 0
        marks = np.flatnonzero((line >= SEAM_CONTRAST) | (step >= SEAM_CONTRAST))
        if marks.size == 0:
            continue
        clusters = np.split(marks, np.flatnonzero(np.diff(marks) > 2) + 1)
        found_lines, found_steps = _marks_to_seams(rows, clusters, line, step)
        lines += [(strength, a + pos) for strength, pos in found_lines]
        steps += [(strength, a + pos) for strength, pos in found_steps]
    if len(lines) > 2 * max(2, round(aspect / PAGE_ASPECT)):
        lines = []  # ruled paper, not page edges
    return lines + steps


def _marks_to_seams(
    rows: np.ndarray, clusters: list[np.ndarray], line: np.ndarray, step: np.ndarray
) -> tuple[list[tuple[float, int]], list[tuple[float, int]]]:
    """Which marks in a blank run are seams, as (lines, steps). The paper between marks
    decides: a stretch lighter (or darker) than the paper on both sides is a gap between two
    pages, cut in its middle; a mark with a different shade on each side is a step of paper
    tint; a mark with the same paper on both sides is a line (a page edge, or a ruled line).
    """
    bounds = [-1, *[int(c[0]) for c in clusters], len(rows)]
    ends = [-1, *[int(c[-1]) for c in clusters]]
    shades = []
    for k in range(len(clusters) + 1):
        seg = rows[ends[k] + 2 : bounds[k + 1] - 1]  # without the marks' blurred shoulders
        shades.append(float(np.median(seg)) if seg.size >= 3 else None)
    gaps: list[tuple[float, int]] = []
    for k in range(1, len(clusters)):
        prev, here, after = shades[k - 1], shades[k], shades[k + 1]
        if prev is None or here is None or after is None:
            continue
        if (here > prev) == (here > after) and min(abs(here - prev), abs(here - after)) >= 2:
            contrast = min(abs(here - prev), abs(here - after))
            gaps.append((contrast, (ends[k] + 1 + bounds[k + 1]) // 2))
    if gaps:
        return [], [max(gaps)]
    lines, steps = [], []
    for k, c in enumerate(clusters):
        pos = int(c[0] + c[-1]) // 2
        before, after = shades[k], shades[k + 1]
        if before is not None and after is not None and abs(before - after) >= SEAM_CONTRAST:
            steps.append((abs(before - after), pos))
        else:
            lines.append((float(max(line[c].max(), step[c].max())), pos))
    return lines, steps


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) of each run of True."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], mask.astype(np.int8), [0]])))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True))


def _accept(seams: list[tuple[float, int]], n: int, width: int, max_pages: int) -> list[int]:
    """The strongest seams, as long as every piece stays page-sized."""
    cuts: list[int] = []
    for _, pos in sorted(seams, reverse=True):
        if len(cuts) >= max_pages - 1:
            break
        trial = sorted([*cuts, pos])
        edges = [0, *trial, n]
        if min(b - a for a, b in itertools.pairwise(edges)) >= MIN_PIECE * width:
            cuts = trial
    return cuts
