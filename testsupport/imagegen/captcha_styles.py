"""Captchas in the styles real sites use, with known answers, repeatable from a seed.

The offline captcha model is trained on these alone (never on real captchas), so each style
is a wide family rather than a copy of one site: fonts, sizes, spacing, tilt, colours,
noise and file format are all drawn from the seed.

- `classic`: heavy sans on a light grey gradient, glyphs scratched into streaks, crossed by
  noise lines and arcs (like the research set most captcha papers use).
- `warped`: tall condensed serif or sans glyphs on white, bent by waves, JPEG-compressed.
- `thin`: thin sans letters of mixed case that overlap, slightly tilted, in a GIF palette.
- `extruded`: heavy capitals drawn as outlines with a 3D extrusion whose sides are hatched
  or speckled, each glyph at its own tilt, in a GIF palette.
- `package`: the `captcha` package's own style (warped coloured glyphs, dots, a curve).
"""

from __future__ import annotations

import io
import random
import string
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from testsupport.imagegen.captchas import Captcha

STYLES = ("classic", "warped", "thin", "extruded", "package")
CHARS = string.digits + string.ascii_lowercase  # what the model reads (case folded)

_FONTS = "/usr/share/fonts/truetype/"
_D, _L = _FONTS + "dejavu/DejaVu", _FONTS + "liberation/Liberation"
BOLD = [
    _D + "Sans-Bold.ttf",
    _D + "SansCondensed-Bold.ttf",
    _D + "Serif-Bold.ttf",
    _D + "SerifCondensed-Bold.ttf",
    _D + "SansMono-Bold.ttf",
    _L + "Sans-Bold.ttf",
    _L + "SansNarrow-Bold.ttf",
    _L + "Serif-Bold.ttf",
    _L + "Mono-Bold.ttf",
    _D + "Sans-BoldOblique.ttf",
]
THIN = [
    _D + "Sans-ExtraLight.ttf",
    _D + "Sans.ttf",
    _D + "SansCondensed.ttf",
    _L + "Sans-Regular.ttf",
    _L + "SansNarrow-Regular.ttf",
    _L + "Sans-Italic.ttf",
    _D + "SansMono.ttf",
    _L + "Mono-Regular.ttf",
]
SERIF = [
    _D + "Serif.ttf",
    _D + "SerifCondensed.ttf",
    _L + "Serif-Regular.ttf",
    _L + "Serif-Italic.ttf",
    _D + "SerifCondensed-Italic.ttf",
    _L + "SansNarrow-Regular.ttf",
    _D + "SansCondensed.ttf",
    _L + "SansNarrow-Bold.ttf",
    _D + "SansMono.ttf",
]


@dataclass(frozen=True)
class StyledCaptcha:
    """One captcha: its style and seed fix the answer and every pixel."""

    style: str
    seed: int

    def render(self) -> tuple[Image.Image, str]:
        """(the image, its answer as drawn: mixed case where the style uses capitals)."""
        rng = random.Random(f"{self.style}:{self.seed}")
        nrng = np.random.default_rng(rng.getrandbits(32))
        return _RENDER[self.style](rng, nrng)


def generate(style: str, seed: int) -> tuple[Image.Image, str]:
    return StyledCaptcha(style, seed).render()


# ----------------------------------------------------------------- glyphs


def _answer(rng: random.Random, pool: str, lengths: Sequence[int]) -> str:
    return "".join(rng.choice(pool) for _ in range(rng.choice(lengths)))


def _glyph(
    ch: str, font_path: str, size: int, stretch: float = 1.0, angle: float = 0.0
) -> Image.Image:
    """One character as an 'L' mask cropped to its ink, stretched tall and tilted."""
    font = ImageFont.truetype(font_path, size)
    canvas = Image.new("L", (size * 2, size * 2), 0)
    ImageDraw.Draw(canvas).text((size // 2, size // 4), ch, font=font, fill=255)
    box = canvas.getbbox() or (0, 0, 1, 1)
    glyph = canvas.crop(box)
    if stretch != 1.0:
        glyph = glyph.resize((glyph.width, max(1, round(glyph.height * stretch))))
    if angle:
        glyph = glyph.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True)
    return glyph


def _place(
    rng: random.Random,
    glyphs: list[Image.Image],
    size: tuple[int, int],
    overlap: tuple[float, float],
    jitter: float,
    fill: tuple[float, float],
) -> list[tuple[Image.Image, int, int]]:
    """Where glyphs go side by side on an image of `size`: each overlaps the one before by
    a fraction of its width; all shrunk to fit, each jittered up and down."""
    w, h = size
    gaps = [-rng.uniform(*overlap) * g.width for g in glyphs[1:]]
    total = sum(g.width for g in glyphs) + sum(gaps)
    tallest = max(g.height for g in glyphs)
    scale = min(rng.uniform(*fill) * w / max(total, 1), rng.uniform(0.75, 0.95) * h / tallest)
    x = rng.uniform(0.02, max(0.03, 1 - total * scale / w - 0.02)) * w
    out = []
    for i, g in enumerate(glyphs):
        g = g.resize((max(1, round(g.width * scale)), max(1, round(g.height * scale))))
        room = max(0, h - g.height)
        out.append((g, round(x), round(room / 2 + rng.uniform(-jitter, jitter) * room / 2)))
        x += g.width + (gaps[i] * scale if i < len(gaps) else 0)
    return out


def _lay_out(
    rng: random.Random,
    glyphs: list[Image.Image],
    size: tuple[int, int],
    overlap: tuple[float, float],
    jitter: float,
    fill: tuple[float, float] = (0.7, 0.95),
) -> Image.Image:
    """Glyph masks placed by `_place` on one mask (their union)."""
    out = np.zeros((size[1], size[0]), np.uint8)
    for g, x, y in _place(rng, glyphs, size, overlap, jitter, fill):
        piece = Image.new("L", size, 0)
        piece.paste(g, (x, y))
        out = np.maximum(out, np.asarray(piece))
    return Image.fromarray(out)


def _wave(arr: np.ndarray, nrng: np.random.Generator, amp: float, period: float) -> np.ndarray:
    """Bend an image by sine waves along both axes (bilinear, edges clamped)."""
    h, w = arr.shape[:2]
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    p1, p2 = nrng.uniform(0, 2 * np.pi, 2)
    ax, ay = amp * nrng.uniform(0.3, 1.0), amp * nrng.uniform(0.3, 1.0)
    sx = xs + ax * np.sin(2 * np.pi * ys / (period * h) + p1)
    sy = ys + ay * np.sin(2 * np.pi * xs / (period * h * 2) + p2)
    return _sample(arr, sx, sy)


def _sample(arr: np.ndarray, sx: np.ndarray, sy: np.ndarray) -> np.ndarray:
    h, w = arr.shape[:2]
    sx, sy = np.clip(sx, 0, w - 1.001), np.clip(sy, 0, h - 1.001)
    x0, y0 = sx.astype(np.int32), sy.astype(np.int32)
    fx, fy = sx - x0, sy - y0
    a = arr.astype(np.float32)
    top = a[y0, x0] * (1 - fx) + a[y0, x0 + 1] * fx
    bottom = a[y0 + 1, x0] * (1 - fx) + a[y0 + 1, x0 + 1] * fx
    return (top * (1 - fy) + bottom * fy).astype(arr.dtype)


# ----------------------------------------------------------------- surfaces and noise


def _colour(rng: random.Random, lo: int, hi: int) -> tuple[int, int, int]:
    base = rng.randint(lo, hi)
    return tuple(min(255, max(0, base + rng.randint(-25, 25))) for _ in range(3))  # type: ignore[return-value]


def _ink(mask: np.ndarray, bg: np.ndarray, colour: tuple[int, int, int]) -> np.ndarray:
    """Paint `colour` over `bg` (h×w×3) where the 0-255 mask is."""
    m = (mask.astype(np.float32) / 255.0)[..., None]
    return (bg * (1 - m) + np.array(colour, np.float32) * m).astype(np.float32)


def _background(rng: random.Random, nrng: np.random.Generator, w: int, h: int) -> np.ndarray:
    """White, off-white, a light tint or a left-to-right grey gradient."""
    kind = rng.random()
    if kind < 0.4:
        return np.full((h, w, 3), 255.0 - rng.uniform(0, 12), np.float32)
    if kind < 0.75:
        lo, hi = rng.uniform(150, 215), rng.uniform(225, 255)
        ramp = np.linspace(lo, hi, w, dtype=np.float32)
        if rng.random() < 0.3:
            ramp = ramp[::-1]
        return np.repeat(np.repeat(ramp[None, :, None], h, 0), 3, 2)
    return np.full((h, w, 3), _colour(rng, 190, 250), np.float32)


def _lines(
    rng: random.Random, img: Image.Image, count: int, colour: tuple[int, int, int], width: int
) -> None:
    """Noise lines and arcs across the image, through the text."""
    w, h = img.size
    d = ImageDraw.Draw(img)
    for _ in range(count):
        if rng.random() < 0.6:
            pts = [
                (rng.uniform(0, w * 0.3), rng.uniform(0, h)),
                (rng.uniform(w * 0.6, w), rng.uniform(0, h)),
            ]
            if rng.random() < 0.5:  # a kinked line
                pts.insert(1, (rng.uniform(w * 0.3, w * 0.6), rng.uniform(0, h)))
            d.line(pts, fill=colour, width=width)
        else:
            x0, y0 = rng.uniform(-w * 0.3, w * 0.4), rng.uniform(-h, h * 0.5)
            box = (x0, y0, x0 + rng.uniform(w * 0.5, w * 1.2), y0 + rng.uniform(h, h * 2))
            start = rng.uniform(0, 360)
            d.arc(box, start, start + rng.uniform(60, 200), fill=colour, width=width)


def _speckle(nrng: np.random.Generator, arr: np.ndarray, amount: float) -> np.ndarray:
    """Salt and pepper dots over a fraction `amount` of the pixels."""
    out = arr.copy()
    hit = nrng.random(arr.shape[:2]) < amount
    out[hit] = nrng.choice([0.0, 255.0], size=(int(hit.sum()), 1))
    return out


def _finish(
    rng: random.Random, nrng: np.random.Generator, arr: np.ndarray, fmt: str
) -> Image.Image:
    """Blur, noise and the file format's own loss (JPEG blocks, a GIF palette)."""
    img = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))
    if rng.random() < 0.25:
        img = img.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 0.9)))
    if rng.random() < 0.3:
        noisy = np.asarray(img, np.float32) + nrng.normal(
            0, rng.uniform(2, 10), (img.height, img.width, 3)
        )
        img = Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8))
    if fmt == "jpeg":
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=rng.randint(25, 92))
        buf.seek(0)
        return Image.open(buf).convert("RGB")
    if fmt == "gif":
        return img.quantize(colors=rng.choice([2, 4, 16, 64])).convert("RGB")
    return img


# ----------------------------------------------------------------- styles


def _classic(rng: random.Random, nrng: np.random.Generator) -> tuple[Image.Image, str]:
    w, h = rng.randint(150, 220), rng.randint(40, 64)
    text = _answer(rng, CHARS, (4, 5, 5, 6))
    font = rng.choice(BOLD)
    size = rng.randint(30, 48)
    glyphs = [_glyph(c, font, size, rng.uniform(0.9, 1.2), rng.uniform(-8, 8)) for c in text]
    mask = np.asarray(_lay_out(rng, glyphs, (w, h), (-0.05, 0.2), 0.3), np.float32)
    if rng.random() < 0.7:  # scratched: the ink made of short streaks
        streaks = nrng.random((h, w)) < rng.uniform(0.45, 0.8)
        streaks = np.asarray(
            Image.fromarray((streaks * 255).astype(np.uint8)).filter(ImageFilter.BoxBlur(1))
        )
        mask = mask * np.clip(streaks.astype(np.float32) / 255 * 1.6, 0, 1)
    bg = _background(rng, nrng, w, h)
    ink = _colour(rng, 0, 70)
    img = Image.fromarray(np.clip(_ink(mask, bg, ink), 0, 255).astype(np.uint8))
    _lines(rng, img, rng.choice([0, 1, 1, 2, 2, 3]), ink, rng.randint(1, 3))
    arr = np.asarray(img, np.float32)
    if rng.random() < 0.3:
        arr = _speckle(nrng, arr, rng.uniform(0.005, 0.03))
    return _finish(rng, nrng, arr, rng.choice(["png", "png", "jpeg"])), text


def _warped(rng: random.Random, nrng: np.random.Generator) -> tuple[Image.Image, str]:
    w, h = rng.randint(70, 130), rng.randint(32, 52)
    text = _answer(rng, CHARS, (4, 4, 5, 6))
    font = rng.choice(SERIF)
    size = rng.randint(28, 44)
    stretch = rng.uniform(1.0, 1.8)
    glyphs = [
        _glyph(c, font, size, stretch * rng.uniform(0.9, 1.1), rng.uniform(-10, 10)) for c in text
    ]
    mask = _lay_out(rng, glyphs, (w, h), (-0.05, 0.25), 0.4, (0.6, 0.95))
    arr = np.asarray(mask, np.float32)
    if rng.random() < 0.85:
        arr = _wave(arr, nrng, rng.uniform(1.0, 3.5), rng.uniform(0.8, 2.5))
    if rng.random() < 0.3:  # bolder or thinner strokes
        m = Image.fromarray(arr.astype(np.uint8))
        m = m.filter(ImageFilter.MaxFilter(3) if rng.random() < 0.5 else ImageFilter.MinFilter(3))
        arr = np.asarray(m, np.float32)
    bg = (
        _background(rng, nrng, w, h)
        if rng.random() < 0.4
        else np.full((h, w, 3), 255.0, np.float32)
    )
    out = _ink(arr, bg, _colour(rng, 0, 80))
    if rng.random() < 0.3:
        img = Image.fromarray(np.clip(out, 0, 255).astype(np.uint8))
        _lines(rng, img, rng.randint(1, 2), _colour(rng, 0, 120), 1)
        out = np.asarray(img, np.float32)
    return _finish(rng, nrng, out, rng.choice(["jpeg", "jpeg", "png"])), text


def _thin(rng: random.Random, nrng: np.random.Generator) -> tuple[Image.Image, str]:
    w, h = rng.randint(110, 170), rng.randint(45, 70)
    text = _answer(rng, string.ascii_letters + string.digits, (4, 4, 5))
    font = rng.choice(THIN)
    size = rng.randint(32, 52)
    glyphs = [
        _glyph(
            c,
            font,
            round(size * rng.uniform(0.85, 1.15)),
            rng.uniform(0.9, 1.3),
            rng.uniform(-15, 15),
        )
        for c in text
    ]
    mask = _lay_out(rng, glyphs, (w, h), (0.0, 0.4), 0.5, (0.6, 0.95))
    arr = np.asarray(mask, np.float32)
    if rng.random() < 0.5:
        arr = _wave(arr, nrng, rng.uniform(0.5, 2.5), rng.uniform(1.0, 3.0))
    if rng.random() < 0.25:
        arr = np.asarray(
            Image.fromarray(arr.astype(np.uint8)).filter(ImageFilter.MaxFilter(3)), np.float32
        )
    bg = np.full((h, w, 3), 255.0 - rng.uniform(0, 10), np.float32)
    out = _ink(arr, bg, _colour(rng, 0, 60))
    if rng.random() < 0.2:
        img = Image.fromarray(np.clip(out, 0, 255).astype(np.uint8))
        _lines(rng, img, 1, _colour(rng, 0, 100), rng.randint(1, 2))
        out = np.asarray(img, np.float32)
    if rng.random() < 0.2:
        out = _speckle(nrng, out, rng.uniform(0.002, 0.02))
    return _finish(rng, nrng, out, rng.choice(["gif", "gif", "png", "jpeg"])), text


def _extruded(rng: random.Random, nrng: np.random.Generator) -> tuple[Image.Image, str]:
    w, h = rng.randint(110, 170), rng.randint(45, 70)
    pool = (
        string.ascii_uppercase + string.digits
        if rng.random() < 0.8
        else string.ascii_letters + string.digits
    )
    text = _answer(rng, pool, (4, 4, 5))
    font = rng.choice(BOLD)
    size = round(h * rng.uniform(0.55, 0.85))  # drawn near its final size: outlines stay crisp
    depth = max(2, round(size * rng.uniform(0.08, 0.25)))
    direction = rng.uniform(0, 2 * np.pi)
    stretch = rng.uniform(1.0, 1.5)  # tall and narrow, or as the font has it
    pieces = [_extrude(rng, nrng, c, font, size, depth, direction, stretch) for c in text]
    # each glyph is stacked, two masks pasted alike: its ink, then its light face over
    # whatever lies under it (the later glyph hides the earlier one where they overlap)
    # (as RGB: resizing an LA image would premultiply the ink by the face)
    both = [Image.merge("RGB", (p[0], p[1], p[1])) for p in pieces]
    out = np.full((h, w, 3), 255.0 - rng.uniform(0, 10), np.float32)
    ink = np.array(_colour(rng, 0, 50), np.float32)
    for g, x, y in _place(rng, both, (w, h), (-0.05, 0.35), 0.4, (0.75, 0.98)):
        layer = Image.new("RGB", (w, h), (0, 0, 0))
        layer.paste(g, (x, y))
        ink_m, face_m = (np.asarray(c, np.float32)[..., None] / 255.0 for c in layer.split()[:2])
        out = out * (1 - ink_m) + ink * ink_m
        out = out * (1 - face_m) + 255.0 * face_m
    if rng.random() < 0.3:
        out = _speckle(nrng, out, rng.uniform(0.002, 0.02))
    return _finish(rng, nrng, out, rng.choice(["gif", "gif", "png", "jpeg"])), text


def _extrude(
    rng: random.Random,
    nrng: np.random.Generator,
    ch: str,
    font: str,
    size: int,
    depth: int,
    direction: float,
    stretch: float,
) -> tuple[Image.Image, Image.Image]:
    """A glyph as (its ink: outline plus hatched extruded sides, its light face), both
    cropped alike and tilted together."""
    face = np.asarray(_glyph(ch, font, size, stretch), np.float32) / 255.0
    pad = depth + 3
    fh, fw = face.shape
    big = np.zeros((fh + 2 * pad, fw + 2 * pad), np.float32)
    big[pad : pad + fh, pad : pad + fw] = face
    side = np.zeros_like(big)
    dx, dy = np.cos(direction), np.sin(direction)
    for k in range(1, depth + 1):
        sx, sy = round(dx * k), round(dy * k)
        side = np.maximum(side, np.roll(np.roll(big, sy, 0), sx, 1))
    # sides: hatched (diagonal strokes) or speckled, never solid
    ys, xs = np.mgrid[0 : big.shape[0], 0 : big.shape[1]]
    if rng.random() < 0.5:
        period = rng.randint(2, 4)
        pattern = ((xs + ys * rng.choice([1, -1])) % period == 0).astype(np.float32)
        pattern = np.maximum(pattern, nrng.random(big.shape) < 0.3)
    else:
        pattern = (nrng.random(big.shape) < rng.uniform(0.45, 0.9)).astype(np.float32)
    solid = big > 0.5
    outline = (
        np.asarray(
            Image.fromarray((solid * 255).astype(np.uint8)).filter(ImageFilter.MaxFilter(3)),
            np.float32,
        )
        / 255.0
        - solid
    )
    if rng.random() < 0.5:
        outline = (
            np.asarray(
                Image.fromarray((outline * 255).astype(np.uint8)).filter(ImageFilter.MaxFilter(3)),
                np.float32,
            )
            / 255.0
        )
    ink = np.maximum(side * pattern * (1 - big), outline)
    ink = np.maximum(ink, side * (1 - big) * (nrng.random(big.shape) < 0.15))
    angle = rng.uniform(-35, 35)
    ink_img = Image.fromarray((np.clip(ink, 0, 1) * 255).astype(np.uint8))
    face_img = Image.fromarray((np.clip(big - outline, 0, 1) * 255).astype(np.uint8))
    ink_img = ink_img.rotate(angle, resample=Image.Resampling.BILINEAR, expand=True)
    face_img = face_img.rotate(angle, resample=Image.Resampling.BILINEAR, expand=True)
    box = ink_img.getbbox() or (0, 0, 1, 1)
    return ink_img.crop(box), face_img.crop(box)


def _package(rng: random.Random, nrng: np.random.Generator) -> tuple[Image.Image, str]:
    text = _answer(rng, CHARS, (4, 5, 6))
    img = Captcha(text, rng.getrandbits(32)).render()
    w, h = rng.randint(120, 220), rng.randint(40, 70)
    return img.resize((w, h), Image.Resampling.BILINEAR), text


_RENDER = {
    "classic": _classic,
    "warped": _warped,
    "thin": _thin,
    "extruded": _extruded,
    "package": _package,
}
