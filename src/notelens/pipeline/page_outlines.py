"""Pages found by their outlines, for photos where paper is not simply the brightest thing:
a page darker than a lit panel behind it, a page on a green chair, on a colourful plate, held
in a hand against a busy background.

The page's text is closed away first, so what is left of a page is a smooth area bounded by
four long straight edges. Candidates come from two places: the areas those edges enclose,
and quads built from pairs of long straight lines (Hough) when the outline has gaps that let
an area leak into the background. Each candidate is scored by how much of each of its four
sides lies on an edge (a side on the photo's border counts: pages run off the photo), how
free of edges its inside is (a quad around a page and some desk holds the page's own edges),
and its area; it must be colourless enough and hold writing. The best wins, and further
candidates that do not overlap it and score nearly as well are more pages.
"""

from __future__ import annotations

import functools
import itertools
import math
from dataclasses import dataclass

import cv2
import numpy as np

from notelens.pipeline import pages as _pages

SIDE = 640  # outlines are looked for at this long side
MIN_AREA = 0.08  # of the photo
MIN_SUPPORT = 0.6  # of every side's length on an edge
MAX_CLUTTER = 0.1  # of the inside (away from its sides) on an edge
MAX_LINES = 30
MAX_SKEW = 20  # degrees between opposite sides: a real page seen at a steep angle
MORE_PAGES = 0.5  # another page must score at least this fraction of the best


@dataclass
class _Candidate:
    quad: np.ndarray
    support: float
    clutter: float
    area: float

    @property
    def score(self) -> float:
        return self.area * self.support**2 * (1 - 5 * self.clutter)


def find_pages(small: np.ndarray, max_pages: int) -> list[np.ndarray]:
    """Page quads in `small`'s pixels, best first; empty when no outline convinces."""
    h, w = small.shape[:2]
    scale = SIDE / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    img = cv2.resize(small, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    edges = _edge_map(img)
    near = cv2.dilate(edges, np.ones((5, 5), np.uint8))
    min_area = MIN_AREA * img.shape[0] * img.shape[1]
    quads = _enclosed(edges, min_area) + [(q, None) for q in _line_quads(edges, near, min_area)]
    gray = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
    hsv = cv2.cvtColor(img, cv2.COLOR_RGB2HSV)
    strokes = _pages._strokes(gray)
    ranked = sorted(
        (c for q, fill in quads if (c := _judge(q, near, strokes, hsv, fill)) is not None),
        key=lambda c: -c.score,
    )
    chosen: list[_Candidate] = []
    for c in ranked:
        if chosen and c.score < MORE_PAGES * chosen[0].score:
            break
        if all(_overlap(c.quad, o.quad) < 0.05 for o in chosen):
            chosen.append(c)
    if len(chosen) > max_pages:
        return []
    return [c.quad / scale for c in chosen]


def _edge_map(img: np.ndarray) -> np.ndarray:
    """Edges of the photo with its text closed away (dark strokes on paper filled in by a
    closing about a text line high), in lightness and both colour axes."""
    k = max(3, (max(img.shape[:2]) // 60) | 1)
    closed = cv2.morphologyEx(
        img, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (k, k))
    )
    lab = cv2.GaussianBlur(cv2.cvtColor(closed, cv2.COLOR_RGB2LAB), (0, 0), 1.0)
    edges = np.zeros(img.shape[:2], np.uint8)
    for c in range(3):
        edges = np.maximum(edges, cv2.Canny(lab[..., c], 10, 30))
    return edges


def _enclosed(edges: np.ndarray, min_area: float) -> list[tuple[np.ndarray, float | None]]:
    """Quads fitted to the page-sized areas that edges enclose, with no support of their
    own (they are judged by their sides), and for a curled page, whose sides bow in or out,
    the quad of its outline's four corners with the share of it the area fills."""
    thick = cv2.dilate(edges, np.ones((3, 3), np.uint8))
    count, labels, stats, _ = cv2.connectedComponentsWithStats(255 - thick, connectivity=4)
    quads: list[tuple[np.ndarray, float | None]] = []
    for i in range(1, count):
        if stats[i, cv2.CC_STAT_AREA] < min_area:
            continue
        region = cv2.dilate((labels == i).astype(np.uint8) * 255, np.ones((3, 3), np.uint8))
        contours, _ = cv2.findContours(region, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
        contour = max(contours, key=len)
        quads += [(q, None) for q in _pages._quads_in_region(contour, region, min_area) or []]
        hull = cv2.convexHull(contour)
        corners = cv2.approxPolyDP(hull, 0.02 * cv2.arcLength(hull, True), True)
        if len(corners) == 4:
            quad = _pages._clockwise(corners.reshape(4, 2).astype(np.float64))
            fill = cv2.contourArea(contour) / max(1.0, cv2.contourArea(corners))
            quads.append((quad, min(1.0, fill)))
    return quads


@dataclass
class _Line:
    angle: float  # of its direction, 0..pi
    rho: float  # signed distance of the line from the origin along its normal

    @property
    def normal(self) -> np.ndarray:
        return np.array([-math.sin(self.angle), math.cos(self.angle)])


def _angle_between(a: float, b: float) -> float:
    d = abs(a - b) % math.pi
    return min(d, math.pi - d)


def _long_lines(edges: np.ndarray) -> list[_Line]:
    """The longest straight edges, one line per edge (near-duplicates merged)."""
    side = max(edges.shape)
    segments = cv2.HoughLinesP(
        edges, 1, np.pi / 360, threshold=30, minLineLength=side * 0.08, maxLineGap=side * 0.02
    )
    if segments is None:
        return []
    segs = sorted(segments.reshape(-1, 4).tolist(), key=lambda s: -math.dist(s[:2], s[2:]))
    lines: list[_Line] = []
    for x1, y1, x2, y2 in segs:
        angle = math.atan2(y2 - y1, x2 - x1) % math.pi
        line = _Line(angle, -x1 * math.sin(angle) + y1 * math.cos(angle))
        if not any(
            _angle_between(o.angle, angle) < math.radians(2.5)
            and abs(o.rho - line.rho) < side * 0.012
            for o in lines
        ):
            lines.append(line)
            if len(lines) >= MAX_LINES:
                break
    return lines


def _cross(a: _Line, b: _Line) -> np.ndarray | None:
    m = np.array([a.normal, b.normal])
    if abs(np.linalg.det(m)) < 1e-6:
        return None
    return np.linalg.solve(m, [a.rho, b.rho])


def _profile(line: _Line, near: np.ndarray, reach: int) -> np.ndarray:
    """Running count of the points on an edge (or off the photo, or on its border) along
    `line`, one point per pixel from -reach to +reach around its foot: any stretch's
    support is then a difference of two entries."""
    h, w = near.shape
    t = np.arange(-reach, reach + 1, dtype=np.float64)
    d = np.array([math.cos(line.angle), math.sin(line.angle)])
    p = line.rho * line.normal + t[:, None] * d
    x, y = np.round(p[:, 0]).astype(int), np.round(p[:, 1]).astype(int)
    border = (x < 3) | (x > w - 4) | (y < 3) | (y > h - 4)
    hit = border.copy()
    inside = ~border
    hit[inside] = near[y[inside], x[inside]] > 0
    return np.concatenate([[0], np.cumsum(hit)])


def _line_quads(edges: np.ndarray, near: np.ndarray, min_area: float) -> list[np.ndarray]:
    """Quads of two nearly parallel pairs of long lines, crossing near a right angle, whose
    every side mostly lies on edges."""
    h, w = edges.shape
    lines = _long_lines(edges)
    reach = math.ceil(math.hypot(w, h))
    profiles = [_profile(line, near, reach) for line in lines]
    # where line i crosses line j, as a position along line i
    cross: dict[tuple[int, int], tuple[float, np.ndarray]] = {}
    for i, j in itertools.permutations(range(len(lines)), 2):
        p = _cross(lines[i], lines[j])
        if p is not None:
            a = lines[i].angle
            cross[i, j] = (p[0] * math.cos(a) + p[1] * math.sin(a), p)

    @functools.cache
    def support(i: int, j: int, k: int) -> float:
        """Of line i between its crossings with lines j and k."""
        t1, t2 = sorted((cross[i, j][0], cross[i, k][0]))
        lo, hi = round(t1 + 0.03 * (t2 - t1)) + reach, round(t2 - 0.03 * (t2 - t1)) + reach
        if hi <= lo or lo < 0 or hi >= len(profiles[i]):
            return 0.0
        return float(profiles[i][hi] - profiles[i][lo]) / (hi - lo)

    pairs = [
        (a, b)
        for a, b in itertools.combinations(range(len(lines)), 2)
        if _angle_between(lines[a].angle, lines[b].angle) < math.radians(15)
    ]
    margin = 0.02 * max(h, w)
    quads = []
    for (a, b), (c, d) in itertools.combinations(pairs, 2):
        if _angle_between(lines[a].angle, lines[c].angle) < math.radians(60):
            continue
        if any(key not in cross for key in ((a, c), (a, d), (b, c), (b, d))):
            continue
        sides = ((a, c, d), (b, c, d), (c, a, b), (d, a, b))
        if any(support(*side) < MIN_SUPPORT for side in sides):
            continue
        q = np.array([cross[a, c][1], cross[c, b][1], cross[b, d][1], cross[d, a][1]])
        if (q < -margin).any() or (q[:, 0] > w + margin).any() or (q[:, 1] > h + margin).any():
            continue
        if cv2.contourArea(q.astype(np.float32)) >= min_area:
            quads.append(_pages._clockwise(q))
    return quads


def _side_support(quad: np.ndarray, near: np.ndarray, step: float = 2) -> list[float]:
    """For each side, the share of its length on an edge or on the photo's border."""
    h, w = near.shape
    out = []
    for i in range(4):
        a, b = quad[i], quad[(i + 1) % 4]
        n = max(3, int(np.hypot(*(b - a)) / step))
        p = a + np.linspace(0.03, 0.97, n)[:, None] * (b - a)
        x, y = p[:, 0], p[:, 1]
        border = (x < 3) | (x > w - 4) | (y < 3) | (y > h - 4)
        xi = np.clip(np.round(x).astype(int), 0, w - 1)
        yi = np.clip(np.round(y).astype(int), 0, h - 1)
        out.append(float(((near[yi, xi] > 0) | border).mean()))
    return out


def _on_border(quad: np.ndarray, shape: tuple[int, int]) -> int:
    """How many sides run along the photo's border."""
    h, w = shape
    count = 0
    for i in range(4):
        (x1, y1), (x2, y2) = quad[i], quad[(i + 1) % 4]
        count += (max(x1, x2) < 4) or (min(x1, x2) > w - 5)
        count += (max(y1, y2) < 4) or (min(y1, y2) > h - 5)
    return count


def _judge(
    quad: np.ndarray, near: np.ndarray, strokes: np.ndarray, hsv: np.ndarray, support: float | None
) -> _Candidate | None:
    """A scored candidate, or None when it is no page: a side off the edges, more than one
    side on the photo's border, a cluttered, coloured or unwritten inside, or no page's shape.
    `support` is given for a quad that edges already enclose (how much of it they do)."""
    shape = near.shape
    if support is None:
        support = min(_side_support(quad, near))
    if support < MIN_SUPPORT or _on_border(quad, shape) > 1:
        return None
    inside = _pages._fill(quad, shape)
    area = cv2.countNonZero(inside)
    outline = quad.reshape(-1, 1, 2).astype(np.float32)
    if not _pages._plausible(quad, outline, area * 0.5, max_skew=MAX_SKEW):
        return None
    k = max(5, (max(shape) // 70) | 1)
    inner = cv2.erode(inside, np.ones((k, k), np.uint8))
    if cv2.countNonZero(inner) < 100:
        return None
    clutter = float((near[inner > 0] > 0).mean())
    if clutter > MAX_CLUTTER or np.median(hsv[..., 1][inside > 0]) > 80:
        return None
    if not _pages._inked(strokes, inside):
        return None
    return _Candidate(quad, support, clutter, area / (shape[0] * shape[1]))


def _overlap(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over the smaller quad's area."""
    inter, _ = cv2.intersectConvexConvex(a.astype(np.float32), b.astype(np.float32))
    smaller = min(cv2.contourArea(a.astype(np.float32)), cv2.contourArea(b.astype(np.float32)))
    return float(inter / smaller) if smaller > 0 else 1.0
