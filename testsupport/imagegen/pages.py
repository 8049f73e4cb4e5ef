"""Synthetic photos of pages with known corners, for the page splitter's tests and benchmark.

Every sample is deterministic from its seed. Ground-truth quads are clockwise from each page's
top-left, in pixel coordinates of the returned image, in reading order (rows top to bottom,
left to right within a row). Kinds:

- photo: 1..N pages on a desk (wood, fabric, plain), each rotated, the whole scene under a
  perspective tilt, with drop shadows, a lighting gradient, blur, sensor noise and JPEG;
- notebook: an open notebook (two pages joined at a shaded gutter) photographed the same way;
  or, with `fold`, an open book whose gutter casts no shadow: only a faint crease between its
  pages and the two halves lit a little differently (they face the lamp at different angles);
- stitched: pages stacked in one tall (or wide) image, with white gaps or none;
- scan: one flat page or a phone screenshot, which must stay one uncropped page;
- empty: a desk with no page; the expected answer is the whole image as one page;
- scene: one page where people really photograph one, as in the real photos: on a plant,
  a brightly coloured or slatted chair, a lit panel brighter than the paper, a cluttered
  colourful table; the paper white or coloured, held by a hand that hides part of an edge,
  curled (its sides bowed), seen at a steeper angle, or running to the photo's border.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import cv2
import numpy as np
from PIL import Image, ImageDraw

from testsupport.imagegen.text import (
    EN_FONTS,
    EN_SENTENCES,
    ZH_FONTS,
    ZH_SENTENCES,
    font,
    render_lines,
)

Quad = list[tuple[float, float]]


@dataclass
class PageSample:
    image: Image.Image
    quads: list[Quad]
    kind: str
    seed: int
    texts: list[str] = field(default_factory=list)  # each page's text, in reading order
    traits: tuple[str, ...] = ()  # a scene's: its background, and hand/curl/border/coloured


# ---------------------------------------------------------------- page content


def paper_color(rng: np.random.Generator) -> tuple[int, int, int]:
    base = rng.uniform(228, 252)
    tint = rng.uniform(-6, 4)  # slightly warm (yellowish) or cool paper
    return (int(base), int(base - 1), int(min(255, base + tint)))


def render_page(rng: np.random.Generator, width: int, height: int, **kw) -> Image.Image:
    """A page of real text in Chinese or English, with realistic margins; sometimes ruled.
    Its text (heading first, then the lines) is in `page.info["text"]`."""
    bg = kw.get("background") or paper_color(rng)
    zh = rng.random() < 0.5
    font_name = str(rng.choice(ZH_FONTS if zh else EN_FONTS))
    sentences = ZH_SENTENCES if zh else EN_SENTENCES
    margin = int(width * rng.uniform(0.07, 0.11))
    chars = rng.uniform(16, 24) if zh else rng.uniform(34, 48)
    size = max(8, int((width - 2 * margin) / chars * (1.0 if zh else 1.9)))
    line_gap = float(rng.uniform(0.5, 0.9))
    step = int(size * (1 + line_gap))
    n_lines = max(1, (height - 2 * margin) // step)
    fill = rng.uniform(0.45, 1.0)
    f = font(font_name, size)
    lines: list[str] = []
    for i in range(n_lines):
        if i / n_lines > fill:
            break
        line = "" if rng.random() < 0.1 else str(rng.choice(sentences))
        while line and f.getlength(line) > width - 2 * margin:  # text stays inside the margins
            line = line[:-1]
        lines.append(line)
    page = Image.new("RGB", (width, height), bg)
    draw = ImageDraw.Draw(page)
    if rng.random() < 0.3:  # ruled notebook paper with a red margin line
        for y in range(margin + step - size // 4, height - margin // 2, step):
            draw.line([(0, y), (width, y)], fill=(170, 190, 225), width=max(1, width // 600))
        draw.line([(margin * 3 // 4, 0), (margin * 3 // 4, height)], fill=(225, 140, 140))
    ink = (20, 20, 30) if rng.random() < 0.7 else (25, 45, 140)
    if lines:
        text = render_lines(
            lines,
            font_name=font_name,
            size=size,
            width=width,
            margin=margin,
            line_gap=line_gap,
            background=bg,
            color=ink,
        )
        mask = Image.eval(text.convert("L"), lambda v: 255 if v < 200 else 0)
        page.paste(Image.new("RGB", text.size, ink), (0, 0), mask)
    title = ""
    if rng.random() < 0.4:  # a heading in a bigger font
        title = str(rng.choice(sentences))[:12]
        draw.text(
            (margin, max(0, margin - int(size * 1.8))),
            title,
            fill=ink,
            font=font(font_name, int(size * 1.3)),
        )
    page.info["text"] = "\n".join(line for line in [title, *lines] if line)
    return page


# ---------------------------------------------------------------- desk and light


def _smooth_noise(rng: np.random.Generator, shape: tuple[int, int], cells: int) -> np.ndarray:
    h, w = shape
    small = rng.standard_normal((max(2, cells * h // max(h, w)), max(2, cells * w // max(h, w))))
    return cv2.resize(small.astype(np.float32), (w, h), interpolation=cv2.INTER_CUBIC)


def desk(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """A desk texture (float32 RGB 0..255): wood grain, woven fabric or a plain surface."""
    lw, lh = max(8, width // 4), max(8, height // 4)
    kind = rng.choice(["wood", "fabric", "plain"], p=[0.45, 0.3, 0.25])
    yy, xx = np.mgrid[0:lh, 0:lw].astype(np.float32)
    if kind == "wood":
        base = np.array(
            [rng.uniform(90, 200), rng.uniform(55, 140), rng.uniform(25, 90)], np.float32
        )
        warp = _smooth_noise(rng, (lh, lw), 6) * rng.uniform(6, 20)
        freq = rng.uniform(0.15, 0.5)
        grain = np.sin((yy + warp) * freq) * 0.5 + 0.5
        grain = grain**3 * 0.25 + _smooth_noise(rng, (lh, lw), 40) * 0.05
        plank = int(rng.uniform(0.15, 0.4) * lh)
        seams = ((yy.astype(int) % plank) < 2).astype(np.float32) * 0.35
        shade = 1 - grain - seams + _smooth_noise(rng, (lh, lw), 4) * 0.06
        tex = base[None, None, :] * shade[..., None]
    elif kind == "fabric":
        base = rng.uniform(40, 200, 3).astype(np.float32)
        plaid = (np.sin(xx * rng.uniform(0.03, 0.1)) > 0.6) | (np.sin(yy * 0.05) > 0.7)
        tex = base[None, None, :] * (1 - 0.18 * plaid[..., None].astype(np.float32))
        tex = tex * (1 + _smooth_noise(rng, (lh, lw), 5)[..., None] * 0.05)
    else:
        base = np.full(3, rng.uniform(60, 205), np.float32) + rng.uniform(-25, 25, 3)
        tex = base[None, None, :] * (1 + _smooth_noise(rng, (lh, lw), 5)[..., None] * 0.06)
    out = cv2.resize(tex.astype(np.float32), (width, height), interpolation=cv2.INTER_LINEAR)
    if kind == "fabric":  # the weave: a fine periodic pattern at full resolution
        period = int(rng.integers(3, 7))
        tile = np.indices((period * 2, period * 2)).sum(0) % (period * 2) < period
        tile = np.tile(tile, (height // (period * 2) + 1, width // (period * 2) + 1))
        out *= (1 - 0.12 * tile[:height, :width].astype(np.float32))[..., None]
    return out


def lighting(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """A multiplicative light field: a gradient across the photo, vignetting, a soft blob."""
    lw, lh = 64, max(4, 64 * height // width)
    yy, xx = np.mgrid[0:lh, 0:lw].astype(np.float32)
    xx, yy = xx / lw - 0.5, yy / lh - 0.5
    angle = rng.uniform(0, 2 * math.pi)
    grad = (xx * math.cos(angle) + yy * math.sin(angle)) * rng.uniform(0.1, 0.6)
    vignette = -(xx**2 + yy**2) * rng.uniform(0.0, 0.8)
    field = 1 + grad + vignette
    if rng.random() < 0.4:  # the shadow of a hand or a phone
        cx, cy = rng.uniform(-0.5, 0.5, 2)
        field -= rng.uniform(0.1, 0.3) * np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / 0.05)
    field = field / field.max() * rng.uniform(0.95, 1.1)
    field = cv2.resize(field, (width, height), interpolation=cv2.INTER_CUBIC)
    cast = np.array([1.0, rng.uniform(0.96, 1.0), rng.uniform(0.86, 1.02)], np.float32)
    return field[..., None] * cast[None, None, :]


def camera(rng: np.random.Generator, img: np.ndarray, jpeg: bool = True) -> Image.Image:
    """Blur, sensor noise and JPEG compression, as a phone camera adds them."""
    sigma = rng.uniform(0.0, 1.6)
    if sigma > 0.3:
        img = cv2.GaussianBlur(img, (0, 0), sigma)
    noise = rng.standard_normal(img.shape[:2], dtype=np.float32) * rng.uniform(1.5, 6)
    img = img + noise[..., None]
    out = np.clip(img, 0, 255).astype(np.uint8)
    if jpeg:
        ok, buf = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(55, 93))])
        assert ok
        out = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED)
    return Image.fromarray(out)


# ---------------------------------------------------------------- geometry


def _apply(h: np.ndarray, pts: np.ndarray) -> np.ndarray:
    p = np.hstack([pts, np.ones((len(pts), 1))]) @ h.T
    return p[:, :2] / p[:, 2:3]


def _tilt(rng: np.random.Generator, width: int, height: int, amount: float) -> np.ndarray:
    """A homography of the whole scene: the phone held not quite parallel to the desk."""
    src = np.float32([[0, 0], [width, 0], [width, height], [0, height]])
    d = rng.uniform(0, amount, (4, 2)) * np.float32([width, height])
    inward = np.float32([[1, 1], [-1, 1], [-1, -1], [1, -1]])
    dst = (src + d * inward).astype(np.float32)
    return cv2.getPerspectiveTransform(src, dst).astype(np.float64)


def _paste(
    canvas: np.ndarray, sheet: np.ndarray, h: np.ndarray, alpha: np.ndarray | None = None
) -> None:
    """Warp `sheet` into `canvas` with anti-aliased edges, touching only its bounding box;
    `alpha` (float, the sheet's size) shapes a sheet that is not a full rectangle."""
    sh, sw = sheet.shape[:2]
    corners = _apply(h, np.float64([[0, 0], [sw, 0], [sw, sh], [0, sh]]))
    x0, y0 = np.floor(corners.min(0)).astype(int) - 2
    x1, y1 = np.ceil(corners.max(0)).astype(int) + 2
    x0, y0 = max(0, x0), max(0, y0)
    x1, y1 = min(canvas.shape[1], x1), min(canvas.shape[0], y1)
    if x1 <= x0 or y1 <= y0:
        return
    t = np.array([[1, 0, -x0], [0, 1, -y0], [0, 0, 1]], np.float64) @ h
    size = (x1 - x0, y1 - y0)
    warped = cv2.warpPerspective(sheet, t, size, flags=cv2.INTER_LINEAR)
    if alpha is None:
        alpha = np.ones((sh, sw), np.float32)
    alpha = cv2.warpPerspective(alpha, t, size, flags=cv2.INTER_LINEAR)
    region = canvas[y0:y1, x0:x1]
    region *= 1 - alpha[..., None]
    region += warped.astype(np.float32) * alpha[..., None]


def _grid(n: int, width: int, height: int, item_aspect: float) -> tuple[int, int]:
    """Rows and columns for n items whose cells best fit an item's aspect (h / w)."""
    best: tuple[float, int, int] = (1e9, 1, n)
    for rows in range(1, n + 1):
        cols = math.ceil(n / rows)
        if rows * cols - n >= cols:
            continue
        cell = (height / rows) / (width / cols)
        best = min(best, (abs(math.log(cell / item_aspect)), rows, cols))
    return best[1], best[2]


# ---------------------------------------------------------------- samples


def photo(
    seed: int,
    *,
    n_pages: int | None = None,
    long_side: int = 4000,
    notebook: bool = False,
    fold: bool = False,
    rotation: float | None = None,
    keystone: float | None = None,
) -> PageSample:
    """Pages (or an open notebook) on a desk, photographed with a phone. `rotation` (degrees,
    every page) and `keystone` (the far edge narrowed by this fraction of the width on each
    side: the phone tilted back) replace the random ones for edge-case tests."""
    rng = np.random.default_rng(seed)
    n = 2 if notebook else n_pages or int(rng.integers(1, 5))
    items = 1 if notebook else n
    aspect = 1 / (2 / rng.uniform(1.3, 1.45)) if notebook else rng.uniform(1.25, 1.45)
    if not notebook and rng.random() < 0.12:
        aspect = 1 / aspect  # a landscape sheet
    landscape = rng.random() < (0.75 if items > 1 or aspect < 1 else 0.35)
    width, height = (long_side, long_side * 3 // 4)
    if not landscape:
        width, height = height, width
    rows, cols = _grid(items, width, height, aspect)
    pad = 0.006 * long_side
    margin = rng.uniform(0.03, 0.1) * min(width, height)
    cell_w = (width - 2 * margin) / cols
    cell_h = (height - 2 * margin) / rows
    canvas = desk(rng, width, height)
    tilt = _tilt(rng, width, height, 0.12)
    if keystone is not None:
        src = np.float32([[0, 0], [width, 0], [width, height], [0, height]])
        dst = src + np.float32([[keystone * width, 0], [-keystone * width, 0], [0, 0], [0, 0]])
        tilt = cv2.getPerspectiveTransform(src, dst).astype(np.float64)
    placements = []
    for i in range(items):
        r, c = divmod(i, cols)
        in_row = min(cols, items - r * cols)
        x_off = margin + (cols - in_row) * cell_w / 2
        drawn = rng.uniform(-15, 15)  # drawn even when overridden: seeds keep their photos
        theta = math.radians(drawn if rotation is None else rotation)
        fill = rng.uniform(0.7, 0.98) if items > 1 else rng.uniform(0.55, 0.95)
        cos, sin = abs(math.cos(theta)), abs(math.sin(theta))
        avail_w, avail_h = cell_w - 2 * pad, cell_h - 2 * pad
        # page width w, height w*aspect; its rotated bounding box must fit the cell
        w = fill * min(avail_w / (cos + aspect * sin), avail_h / (sin + aspect * cos))
        bw, bh = w * (cos + aspect * sin), w * (sin + aspect * cos)
        cx = x_off + c * cell_w + cell_w / 2 + rng.uniform(-0.5, 0.5) * (avail_w - bw)
        cy = margin + r * cell_h + cell_h / 2 + rng.uniform(-0.5, 0.5) * (avail_h - bh)
        placements.append((cx, cy, w, w * aspect, theta))
    shadow_small = np.zeros((height // 8, width // 8), np.float32)
    offset = rng.uniform(-0.012, 0.012, 2) * long_side
    sheets = []
    texts: list[str] = []
    for cx, cy, w, h, theta in placements:
        px = int(min(1400, max(300, w)))
        py = round(px * h / w)
        if notebook:
            half = px // 2
            left, right = render_page(rng, half, py), render_page(rng, px - half, py)
            texts += [left.info["text"], right.info["text"]]
            sheet = np.hstack([np.asarray(left), np.asarray(right)]).astype(np.float32)
            x = np.arange(px, dtype=np.float32)
            if fold:
                crease = 0.002 * px
                gutter = 1 - rng.uniform(0.03, 0.1) * np.exp(-(((x - half) / crease) ** 2))
                dimmer = slice(None, half) if rng.random() < 0.5 else slice(half, None)
                gutter[dimmer] *= rng.uniform(0.82, 1.0)
            else:
                gutter = 1 - rng.uniform(0.15, 0.4) * np.exp(-(((x - half) / (0.03 * px)) ** 2))
            sheet *= gutter[None, :, None]
        else:
            page = render_page(rng, px, py)
            texts.append(page.info["text"])
            sheet = np.asarray(page).astype(np.float32)
        s = w / px
        rot = np.array(
            [
                [s * math.cos(theta), -s * math.sin(theta), 0],
                [s * math.sin(theta), s * math.cos(theta), 0],
                [0, 0, 1],
            ]
        )
        centre = np.array([[1, 0, -px / 2], [0, 1, -py / 2], [0, 0, 1]], np.float64)
        move = np.array([[1, 0, cx], [0, 1, cy], [0, 0, 1]], np.float64)
        hom = tilt @ move @ rot @ centre
        corners = _apply(hom, np.float64([[0, 0], [px, 0], [px, py], [0, py]]))
        shadow_pts = ((corners + offset) / 8).astype(np.int32)
        cv2.fillConvexPoly(shadow_small, shadow_pts, 1.0, lineType=cv2.LINE_AA)
        sheets.append((sheet, hom, px, py))
    blur = rng.uniform(0.004, 0.015) * long_side / 8
    shadow_small = cv2.GaussianBlur(shadow_small, (0, 0), blur)
    shadow = cv2.resize(shadow_small, (width, height), interpolation=cv2.INTER_LINEAR)
    canvas *= (1 - rng.uniform(0.25, 0.6) * shadow)[..., None]
    quads: list[Quad] = []
    for sheet, hom, px, py in sheets:
        _paste(canvas, sheet, hom)
        halves = [(0, px // 2), (px // 2, px)] if notebook else [(0, px)]
        for a, b in halves:
            pts = _apply(hom, np.float64([[a, 0], [b, 0], [b, py], [a, py]]))
            quads.append([(float(x), float(y)) for x, y in pts])
    canvas *= lighting(rng, width, height)
    kind = "notebook" if notebook else "photo"
    return PageSample(camera(rng, canvas), quads, kind, seed, texts)


def empty(seed: int, *, long_side: int = 4000) -> PageSample:
    """A desk with no page on it: the whole photo should come back as one page."""
    rng = np.random.default_rng(seed)
    width, height = long_side, long_side * 3 // 4
    canvas = desk(rng, width, height) * lighting(rng, width, height)
    return PageSample(camera(rng, canvas), [_full(width, height)], "empty", seed)


def stitched(seed: int, *, n_pages: int | None = None, vertical: bool | None = None) -> PageSample:
    """Scanned pages stacked into one tall (or wide) image, with white gaps or none."""
    rng = np.random.default_rng(seed)
    n = n_pages or int(rng.integers(2, 5))
    vertical = bool(rng.random() < 0.75) if vertical is None else vertical
    pw = int(rng.integers(700, 1300))
    ph = int(pw * rng.uniform(1.3, 1.45))
    gap = 0 if rng.random() < 0.5 else int(rng.integers(8, 60))
    edges = rng.random() < 0.4 or not vertical  # faint page borders, as some scanners leave
    same_paper = paper_color(rng)
    pages = []
    for _ in range(n):
        bg = same_paper if rng.random() < 0.6 else paper_color(rng)
        page = render_page(rng, pw, ph, background=bg)
        if edges:
            ImageDraw.Draw(page).rectangle(
                [0, 0, pw - 1, ph - 1], outline=tuple(int(v * 0.9) for v in bg)
            )
        pages.append(page)
    size = (pw, n * ph + (n - 1) * gap) if vertical else (n * pw + (n - 1) * gap, ph)
    img = Image.new("RGB", size, "white")
    quads: list[Quad] = []
    for i, page in enumerate(pages):
        x, y = (0, i * (ph + gap)) if vertical else (i * (pw + gap), 0)
        img.paste(page, (x, y))
        quads.append([(x, y), (x + pw, y), (x + pw, y + ph), (x, y + ph)])
    arr = np.asarray(img).astype(np.float32)
    texts = [p.info["text"] for p in pages]
    return PageSample(camera(rng, arr, jpeg=True), quads, "stitched", seed, texts)


def scan(seed: int) -> PageSample:
    """One flat page: an A4 scan, or a phone screenshot with a coloured header bar."""
    rng = np.random.default_rng(seed)
    if rng.random() < 0.5:
        w = int(rng.integers(900, 1700))
        img = render_page(rng, w, int(w * rng.uniform(1.29, 1.42)))
    else:
        w = int(rng.choice([720, 1080, 1170]))
        img = render_page(rng, w, int(w * rng.uniform(1.8, 2.2)), background=(255, 255, 255))
        bar = tuple(int(v) for v in rng.integers(0, 200, 3))
        ImageDraw.Draw(img).rectangle([0, 0, w, int(w * 0.12)], fill=bar)
    arr = np.asarray(img).astype(np.float32)
    noisy = camera(rng, arr, jpeg=True) if rng.random() < 0.5 else img
    return PageSample(noisy, [_full(*img.size)], "scan", seed, [img.info["text"]])


SCENE_BACKGROUNDS = ("plant", "chair", "panel", "clutter", "desk")


def _background(rng: np.random.Generator, kind: str, width: int, height: int) -> np.ndarray:
    """What is around the page in the real photos (float32 RGB 0..255)."""
    canvas = np.zeros((height, width, 3), np.float32)
    long_side = max(width, height)
    if kind == "desk":
        return desk(rng, width, height)
    if kind == "plant":  # dark foliage: many overlapping green leaves with light veins
        canvas[:] = (rng.uniform(10, 40), rng.uniform(30, 70), rng.uniform(10, 35))
        for _ in range(int(rng.integers(150, 300))):
            centre = (int(rng.uniform(0, width)), int(rng.uniform(0, height)))
            axes = (
                int(rng.uniform(0.03, 0.09) * long_side),
                int(rng.uniform(0.01, 0.03) * long_side),
            )
            angle = float(rng.uniform(0, 180))
            green = (rng.uniform(20, 90), rng.uniform(70, 170), rng.uniform(20, 70))
            cv2.ellipse(canvas, centre, axes, angle, 0, 360, green, -1, cv2.LINE_AA)
            lighter = tuple(min(255.0, c * 1.4) for c in green)
            cv2.ellipse(canvas, centre, (axes[0], 1), angle, 0, 360, lighter, 2, cv2.LINE_AA)
    elif kind == "chair":  # a saturated plastic seat with slats, on a light tiled floor
        canvas[:] = rng.uniform(150, 215)
        tile = int(rng.uniform(0.08, 0.2) * long_side)
        canvas[::tile] *= 0.8
        canvas[:, ::tile] *= 0.8
        seat = np.array([rng.uniform(60, 255), rng.uniform(60, 255), rng.uniform(0, 80)])
        seat = seat[rng.permutation(3)]
        x0, y0 = rng.uniform(0.0, 0.1, 2) * np.array([width, height])
        x1, y1 = (1 - rng.uniform(0.0, 0.1, 2)) * np.array([width, height])
        cv2.rectangle(canvas, (int(x0), int(y0)), (int(x1), int(y1)), tuple(seat), -1)
        gap = int(rng.uniform(0.04, 0.1) * long_side)
        for y in range(int(y0) + gap, int(y1), gap):
            cv2.line(canvas, (int(x0), y), (int(x1), y), tuple(seat * 0.55), max(2, gap // 8))
    elif kind == "panel":  # a lit panel or window, brighter than the paper, over part of
        canvas[:] = desk(rng, width, height)  # the photo; a floor or a desk below it
        grid = int(rng.uniform(0.1, 0.25) * long_side)
        frame = rng.uniform(60, 160)
        panel = np.full((height, width, 3), rng.uniform(235, 255), np.float32)
        for x in range(int(rng.uniform(0, grid)), width, grid):
            cv2.line(panel, (x, 0), (x, height), (frame,) * 3, max(2, long_side // 150))
        for y in range(int(rng.uniform(0, grid)), height, grid):
            cv2.line(panel, (0, y), (width, y), (frame,) * 3, max(2, long_side // 150))
        cut = int(rng.uniform(0.4, 0.75) * height)
        canvas[:cut] = panel[:cut]
    else:  # clutter: a colourful table with boxes, plates and cutlery
        canvas[:] = rng.uniform(40, 200, 3)
        for _ in range(int(rng.integers(15, 40))):
            colour = tuple(rng.uniform(0, 255, 3))
            x, y = int(rng.uniform(0, width)), int(rng.uniform(0, height))
            r = int(rng.uniform(0.03, 0.15) * long_side)
            if rng.random() < 0.5:
                cv2.circle(canvas, (x, y), r, colour, -1, cv2.LINE_AA)
            else:
                cv2.rectangle(canvas, (x, y), (x + r, y + r // 2), colour, -1)
    return canvas


def _hand(rng: np.random.Generator, canvas: np.ndarray, at: np.ndarray, long_side: int) -> None:
    """A hand holding the page at point `at` (on one of its edges): a palm off the page and
    a thumb over it, in a skin tone."""
    skin = np.array([rng.uniform(170, 235), rng.uniform(120, 180), rng.uniform(90, 150)])
    r = rng.uniform(0.05, 0.08) * long_side
    away = at - np.array([canvas.shape[1], canvas.shape[0]]) / 2
    away = away / (np.linalg.norm(away) + 1e-9)
    palm = at + away * r * 1.3
    angle = float(np.degrees(np.arctan2(away[1], away[0])))
    centre = (int(palm[0]), int(palm[1]))
    cv2.ellipse(canvas, centre, (int(r * 1.4), int(r)), angle, 0, 360, tuple(skin), -1, cv2.LINE_AA)
    thumb = at - away * r * 0.25
    centre = (int(thumb[0]), int(thumb[1]))
    size = (int(r * 0.6), int(r * 0.25))
    tilt = float(rng.uniform(0, 180))
    cv2.ellipse(canvas, centre, size, tilt, 0, 360, tuple(skin * 0.93), -1, cv2.LINE_AA)


def _curl(rng: np.random.Generator, sheet: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A page whose two long sides bow in (or out) while its corners stay put: the sheet
    remapped, and its alpha."""
    h, w = sheet.shape[:2]
    bow = rng.uniform(-0.06, 0.04)  # negative: the sides bow in (an hourglass)
    v, u = np.mgrid[0:h, 0:w].astype(np.float32)
    squeeze = 1 + bow * np.sin(np.pi * v / max(1, h - 1))
    src_x = (w / 2 + (u - w / 2) / squeeze).astype(np.float32)
    curled = cv2.remap(sheet, src_x, v, cv2.INTER_LINEAR, borderValue=(0, 0, 0))
    alpha = cv2.remap(np.ones((h, w), np.float32), src_x, v, cv2.INTER_LINEAR, borderValue=0)
    return curled, alpha


def scene(seed: int, *, long_side: int = 4000) -> PageSample:
    """One page as people really photograph it (see the module's docstring)."""
    rng = np.random.default_rng(seed)
    portrait = rng.random() < 0.75
    width, height = (long_side * 3 // 4, long_side) if portrait else (long_side, long_side * 3 // 4)
    kind = str(rng.choice(SCENE_BACKGROUNDS))
    canvas = _background(rng, kind, width, height)
    aspect = rng.uniform(1.29, 1.45)
    px = 1200
    py = round(px * aspect)
    traits = [kind]
    coloured = rng.random() < 0.25
    bg = None
    if coloured:  # pale blue, yellow, pink or green paper
        tints = [(205, 225, 245), (250, 240, 190), (245, 215, 220), (215, 240, 210)]
        bg = tints[int(rng.integers(len(tints)))]
        traits.append("coloured")
    page = render_page(rng, px, py, background=bg)
    sheet = np.asarray(page).astype(np.float32)
    if kind == "panel":  # the panel gives light; the paper in front of it only reflects
        sheet *= rng.uniform(0.7, 0.88)
    alpha = None
    if rng.random() < 0.25:
        sheet, alpha = _curl(rng, sheet)
        traits.append("curled")
    fill = rng.uniform(0.5, 0.9)  # the real photos' pages cover 25-80% of them
    theta = math.radians(rng.uniform(-35, 35))
    cos, sin = abs(math.cos(theta)), abs(math.sin(theta))
    w = fill * min(width / (cos + aspect * sin), height / (sin + aspect * cos))
    bw, bh = w * (cos + aspect * sin), w * (sin + aspect * cos)
    cx = width / 2 + rng.uniform(-0.5, 0.5) * (width - bw)
    cy = height / 2 + rng.uniform(-0.5, 0.5) * (height - bh)
    s = w / px
    rot = np.array([[s * math.cos(theta), -s * math.sin(theta), 0],
                    [s * math.sin(theta), s * math.cos(theta), 0], [0, 0, 1]])  # fmt: skip
    centre = np.array([[1, 0, -px / 2], [0, 1, -py / 2], [0, 0, 1]], np.float64)
    move = np.array([[1, 0, cx], [0, 1, cy], [0, 0, 1]], np.float64)
    hom = _tilt(rng, width, height, 0.2) @ move @ rot @ centre
    corners = _apply(hom, np.float64([[0, 0], [px, 0], [px, py], [0, py]]))
    if rng.random() < 0.2:  # the page runs to the photo's border on one side, or just past it
        over = rng.uniform(-0.005, 0.01) * long_side
        dx, dy = [
            (-over - corners[:, 0].min(), 0),
            (width + over - corners[:, 0].max(), 0),
            (0, -over - corners[:, 1].min()),
            (0, height + over - corners[:, 1].max()),
        ][int(rng.integers(4))]
        hom = np.array([[1, 0, dx], [0, 1, dy], [0, 0, 1]], np.float64) @ hom
        traits.append("border")
        corners = _apply(hom, np.float64([[0, 0], [px, 0], [px, py], [0, py]]))
    shadow = np.zeros((height, width), np.float32)
    cv2.fillConvexPoly(shadow, (corners + 0.01 * long_side).astype(np.int32), 1.0)
    shadow = cv2.GaussianBlur(shadow, (0, 0), 0.01 * long_side)
    canvas *= (1 - rng.uniform(0.1, 0.4) * shadow)[..., None]
    _paste(canvas, sheet, hom, alpha)
    if rng.random() < 0.4:
        i = int(rng.integers(4))
        t = rng.uniform(0.2, 0.8)
        _hand(rng, canvas, corners[i] + t * (corners[(i + 1) % 4] - corners[i]), long_side)
        traits.append("hand")
    canvas *= lighting(rng, width, height)
    quad = [(float(x), float(y)) for x, y in corners]
    texts = [page.info["text"]]
    return PageSample(camera(rng, canvas), [quad], "scene", seed, texts, tuple(traits))


def _full(width: int, height: int) -> Quad:
    return [(0.0, 0.0), (float(width), 0.0), (float(width), float(height)), (0.0, float(height))]


def sample(seed: int, *, long_side: int = 4000) -> PageSample:
    """One sample of the benchmark's mix: mostly photos, some notebooks, stitched, scans."""
    r = np.random.default_rng(seed + 1_000_003).random()
    if r < 0.62:
        return photo(seed, long_side=long_side)
    if r < 0.72:
        fold = np.random.default_rng(seed + 2_000_003).random() < 0.5
        return photo(seed, long_side=long_side, notebook=True, fold=fold)
    if r < 0.86:
        return stitched(seed)
    if r < 0.96:
        return scan(seed)
    return empty(seed, long_side=long_side)


def quad_iou(a: Quad, b: Quad) -> float:
    """Intersection over union of two convex quadrilaterals."""
    pa, pb = np.float32(a), np.float32(b)
    inter, _ = cv2.intersectConvexConvex(pa, pb)
    union = cv2.contourArea(pa) + cv2.contourArea(pb) - inter
    return float(inter / union) if union > 0 else 0.0
