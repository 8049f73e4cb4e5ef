"""Photo-like distortions for rendered pages, deterministic from a seed.

Tests and benchmarks need images that look like a phone photo of a page (a slight
tilt and keystone, uneven light, sensor noise, a soft focus, JPEG blocks) while
keeping the ground truth text known. Every function takes a `numpy` Generator so
that a seed reproduces the same image on every machine.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image, ImageFilter


def rng_for(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def blur(img: Image.Image, rng: np.random.Generator, radius: tuple[float, float] = (0.6, 1.4)):
    """Out-of-focus softness: a Gaussian blur with a random radius."""
    return img.filter(ImageFilter.GaussianBlur(float(rng.uniform(*radius))))


def noise(img: Image.Image, rng: np.random.Generator, sigma: tuple[float, float] = (4.0, 10.0)):
    """Sensor noise: additive Gaussian noise per pixel and channel."""
    arr = np.asarray(img, dtype=np.float32)
    arr = arr + rng.normal(0.0, float(rng.uniform(*sigma)), arr.shape).astype(np.float32)
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))


def lighting(img: Image.Image, rng: np.random.Generator, depth: tuple[float, float] = (0.1, 0.3)):
    """Uneven light: a linear brightness gradient in a random direction."""
    arr = np.asarray(img, dtype=np.float32)
    h, w = arr.shape[:2]
    angle = rng.uniform(0, 2 * np.pi)
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    ramp = (xs / max(w, 1)) * np.cos(angle) + (ys / max(h, 1)) * np.sin(angle)
    ramp = (ramp - ramp.min()) / max(float(np.ptp(ramp)), 1e-6)
    gain = 1.0 - float(rng.uniform(*depth)) * ramp
    return Image.fromarray(np.clip(arr * gain[..., None], 0, 255).astype(np.uint8))


def perspective(
    img: Image.Image,
    rng: np.random.Generator,
    strength: float = 0.04,
    max_tilt_deg: float = 2.0,
    background: tuple[int, int, int] = (200, 200, 200),
) -> Image.Image:
    """A hand-held shot: each corner moved by up to `strength` of the side, plus a tilt.

    The output keeps the input size; a grey border shows where the page moved away.
    """
    arr = np.asarray(img)
    h, w = arr.shape[:2]
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    jitter = rng.uniform(-strength, strength, (4, 2)) * np.float32([w, h])
    # Pull the corners inwards on average so that the page stays inside the frame.
    inward = np.float32([[1, 1], [-1, 1], [-1, -1], [1, -1]]) * strength * 0.5 * np.float32([w, h])
    dst = src + jitter.astype(np.float32) + inward
    tilt = np.deg2rad(rng.uniform(-max_tilt_deg, max_tilt_deg))
    centre = np.float32([w / 2, h / 2])
    rot = np.float32([[np.cos(tilt), -np.sin(tilt)], [np.sin(tilt), np.cos(tilt)]])
    dst = ((dst - centre) @ rot.T + centre).astype(np.float32)
    matrix = cv2.getPerspectiveTransform(src, dst)
    out = cv2.warpPerspective(
        arr,
        matrix,
        (w, h),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=background,
    )
    return Image.fromarray(out)


def jpeg(img: Image.Image, rng: np.random.Generator, quality: tuple[int, int] = (35, 70)):
    """Messenger-style recompression: a round trip through JPEG at a random quality."""
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=int(rng.integers(quality[0], quality[1] + 1)))
    buf.seek(0)
    with Image.open(buf) as out:
        return out.convert("RGB")


@dataclass(frozen=True)
class Recipe:
    """Which distortions to apply, in photo order (geometry, light, optics, sensor, codec)."""

    name: str
    perspective: bool = False
    lighting: bool = False
    blur: bool = False
    noise: bool = False
    jpeg: bool = False


RECIPES = {
    "clean": Recipe("clean"),
    "blur+noise": Recipe("blur+noise", blur=True, noise=True),
    "perspective+jpeg": Recipe("perspective+jpeg", perspective=True, jpeg=True),
    "photo": Recipe("photo", perspective=True, lighting=True, blur=True, noise=True, jpeg=True),
}


def apply(img: Image.Image, recipe: Recipe | str, seed: int) -> Image.Image:
    """The recipe's distortions applied to an RGB image; the same seed gives the same pixels."""
    r = RECIPES[recipe] if isinstance(recipe, str) else recipe
    rng = rng_for(seed)
    out = img.convert("RGB")
    if r.perspective:
        out = perspective(out, rng)
    if r.lighting:
        out = lighting(out, rng)
    if r.blur:
        out = blur(out, rng)
    if r.noise:
        out = noise(out, rng)
    if r.jpeg:
        out = jpeg(out, rng)
    return out
