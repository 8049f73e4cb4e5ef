"""Safe decoding and model-ready resizing of user images.

Everything here is CPU work: callers run it in an executor (`asyncio.to_thread`).
The rules: check the header before decoding anything big, apply EXIF orientation,
decode large JPEGs in draft mode straight to the size the task needs, and resize
to Qwen's token grid so the server's own resizing never changes what we sent.
"""

from __future__ import annotations

import base64
import io
import math
import warnings
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import ExifTags, Image, ImageOps, UnidentifiedImageError
from pillow_heif import register_heif_opener

from ..i18n import megabytes
from .errors import ImageError

register_heif_opener()

# Qwen-VL refuses extreme aspect ratios (qwen-vl-utils raises above 200:1).
MAX_ASPECT = 150
LOSSLESS_FORMATS = {"PNG", "GIF", "BMP", "TIFF"}
# File names we treat as images (folders in the CLI, documents in the bot).
IMAGE_SUFFIXES = frozenset(
    {".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff", ".heic", ".heif", ".avif"}
)
# The most pixels we send as PNG (captchas, stickers); above this, encoding PNG
# costs more than the whole rest of the preprocessing, and JPEG 4:4:4 keeps text crisp.
PNG_MAX_PIXELS = 300_000
# The most pixels any OCR engine reads of one page (the offline engine's cap; the model
# reads far fewer): page crops are kept at most this large, encoded, until they are read.
PAGE_MAX_PIXELS = 4_000_000


@dataclass(frozen=True)
class Budget:
    """How many image tokens a task may spend, and the smallest side it needs."""

    min_tokens: int = 4
    max_tokens: int = 1280
    min_short_tokens: int = 1


@dataclass(frozen=True)
class PreparedImage:
    """An image ready for a chat request."""

    data_url: str
    mime: str
    width: int
    height: int
    tokens: int


def load_bytes(path: str | Path, max_bytes: int) -> bytes:
    """Read a local file, refusing empty and oversized ones before reading them."""
    p = Path(path)
    try:
        size = p.stat().st_size
    except OSError as exc:
        raise ImageError(
            f"{p.name}: cannot read the file ({exc.strerror}).", code="file_unreadable"
        ) from exc
    if size == 0:
        raise ImageError(f"{p.name}: the file is empty.", code="image_empty")
    if size > max_bytes:
        raise ImageError(
            f"{p.name}: the file is {megabytes(size)} MB; the limit is {megabytes(max_bytes)} MB.",
            code="file_too_big",
            size=size,
            limit=max_bytes,
        )
    return p.read_bytes()


def _open_checked(data: bytes, max_pixels: int) -> Image.Image:
    """The image opened lazily (nothing decoded yet), its header checked."""
    if not data:
        raise ImageError("The file is empty.", code="image_empty")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError as exc:
        raise ImageError(
            "The image has far too many pixels to process.", code="image_too_large"
        ) from exc
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise ImageError("This file is not an image we can read.", code="not_image") from exc

    width, height = img.size
    if width < 1 or height < 1:
        raise ImageError("The image has no pixels.", code="image_corrupt")
    if width * height > max_pixels:
        raise ImageError(
            f"The image is {width}×{height} pixels; "
            f"the limit is {max_pixels / 1e6:.0f} megapixels.",
            code="image_too_large",
        )
    return img


def decode_array(data: bytes, *, max_pixels: int) -> np.ndarray:
    """Bytes → an upright RGB array (height × width × 3).

    A complete JPEG decodes straight into the array with OpenCV (which applies the EXIF
    orientation too): 3 bytes a pixel, where Pillow's image and its array copy briefly
    cost ~10 (240 MB for a 24 MP photo). Everything else goes through `open_image`.
    """
    img = _open_checked(data, max_pixels)
    if img.format == "JPEG" and img.mode in ("RGB", "L") and _complete_jpeg(data):
        width, height = img.size
        turned = img.getexif().get(ExifTags.Base.Orientation, 1) in (5, 6, 7, 8)
        upright = (width, height) if turned else (height, width)  # rows, columns
        arr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        if arr is not None and arr.shape[:2] == upright:
            return cv2.cvtColor(arr, cv2.COLOR_BGR2RGB, dst=arr)
    return np.asarray(open_image(data, max_pixels=max_pixels))


def _complete_jpeg(data: bytes) -> bool:
    """Ends with the end-of-image marker: OpenCV would decode a cut-off file without a word."""
    return data[-32:].rstrip(b"\0").endswith(b"\xff\xd9")


def open_image(data: bytes, *, max_pixels: int, target_pixels: int | None = None) -> Image.Image:
    """Decode to an upright RGB image, or raise ImageError with a readable message.

    `target_pixels` lets large JPEGs decode in draft mode (DCT scaling) at no less
    than that many pixels, which is several times faster than a full decode.
    """
    img = _open_checked(data, max_pixels)
    width, height = img.size
    try:
        if target_pixels and img.format == "JPEG" and width * height > 2 * target_pixels:
            scale = math.sqrt(target_pixels / (width * height))
            img.draft("RGB", (max(1, math.ceil(width * scale)), max(1, math.ceil(height * scale))))
        img.load()
        img = ImageOps.exif_transpose(img)
        return to_rgb(img)
    except Image.DecompressionBombError as exc:
        raise ImageError(
            "The image has far too many pixels to process.", code="image_too_large"
        ) from exc
    except (OSError, ValueError, SyntaxError, EOFError) as exc:
        raise ImageError("The image file is damaged or incomplete.", code="image_corrupt") from exc


def pixel_count(data: bytes) -> int:
    """Width × height from the header alone; 1 when there is no readable header (the
    decode that follows says what is wrong)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            width, height = Image.open(io.BytesIO(data)).size
    except Exception:
        return 1
    return max(1, width * height)


def encode_page(img: Image.Image, max_pixels: int = PAGE_MAX_PIXELS) -> bytes:
    """A page crop shrunk to `max_pixels` and kept as a near-lossless JPEG (4:4:4, q95):
    a 4 MP page is ~1 MB this way instead of 16 MB decoded."""
    pixels = img.width * img.height
    if pixels > max_pixels:
        scale = math.sqrt(max_pixels / pixels)
        img = resize(img, (max(1, int(img.width * scale)), max(1, int(img.height * scale))))
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=95, subsampling=0)
    return buf.getvalue()


def source_format(data: bytes) -> str | None:
    """The container format from the header alone (e.g. 'JPEG', 'PNG', 'HEIF')."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            return Image.open(io.BytesIO(data)).format
    except Exception:
        return None


def to_rgb(img: Image.Image) -> Image.Image:
    """RGB on white: transparent screenshots and stickers must not turn black."""
    if img.mode == "RGB":
        return img
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        background = Image.new("RGB", rgba.size, "white")
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):
        img = img.point(lambda v: v / 256).convert("L")
    return img.convert("RGB")


def smart_resize(
    height: int, width: int, *, factor: int, min_pixels: int, max_pixels: int
) -> tuple[int, int]:
    """Qwen-VL's rule: both sides multiples of `factor`, area within [min, max] pixels."""
    h_bar = max(factor, round(height / factor) * factor)
    w_bar = max(factor, round(width / factor) * factor)
    if h_bar * w_bar > max_pixels:
        beta = math.sqrt(height * width / max_pixels)
        h_bar = max(factor, math.floor(height / beta / factor) * factor)
        w_bar = max(factor, math.floor(width / beta / factor) * factor)
    elif h_bar * w_bar < min_pixels:
        beta = math.sqrt(min_pixels / (height * width))
        h_bar = math.ceil(height * beta / factor) * factor
        w_bar = math.ceil(width * beta / factor) * factor
    return h_bar, w_bar


def image_tokens(width: int, height: int, factor: int) -> int:
    """Tokens one image costs Qwen-VL: one per factor×factor cell, plus start and end."""
    return (width // factor) * (height // factor) + 2


def target_size(width: int, height: int, budget: Budget, factor: int) -> tuple[int, int]:
    """The (width, height) an image of this size is sent at under `budget`."""
    min_short = budget.min_short_tokens * factor
    short = min(width, height)
    if short < min_short:
        scale = min_short / short
        width, height = math.ceil(width * scale), math.ceil(height * scale)
    h, w = smart_resize(
        height,
        width,
        factor=factor,
        min_pixels=budget.min_tokens * factor * factor,
        max_pixels=budget.max_tokens * factor * factor,
    )
    return w, h


def pad_extreme_aspect(img: Image.Image) -> Image.Image:
    """Pad (white) a strip so its aspect ratio stays within what Qwen-VL accepts."""
    w, h = img.size
    if max(w, h) <= MAX_ASPECT * min(w, h):
        return img
    nw, nh = (w, math.ceil(w / MAX_ASPECT)) if w > h else (math.ceil(h / MAX_ASPECT), h)
    canvas = Image.new("RGB", (max(nw, w), max(nh, h)), "white")
    canvas.paste(img, (0, 0))
    return canvas


def resize(img: Image.Image, size: tuple[int, int]) -> Image.Image:
    """OpenCV's area averaging to shrink (twice as fast as Pillow here), cubic to enlarge."""
    if size == img.size:
        return img
    shrinking = size[0] * size[1] < img.width * img.height
    method = cv2.INTER_AREA if shrinking else cv2.INTER_CUBIC
    return Image.fromarray(cv2.resize(np.asarray(img), size, interpolation=method))


def fit(img: Image.Image, budget: Budget, factor: int) -> Image.Image:
    img = pad_extreme_aspect(img)
    return resize(img, target_size(*img.size, budget, factor))


def encode_data_url(img: Image.Image, *, png: bool, crisp: bool = False) -> tuple[str, str]:
    """PNG for small images; JPEG otherwise, without chroma subsampling for screenshots."""
    buf = io.BytesIO()
    if png:
        img.save(buf, format="PNG", compress_level=1)
        mime = "image/png"
    else:
        img.save(buf, format="JPEG", quality=92 if crisp else 90, subsampling=0 if crisp else 2)
        mime = "image/jpeg"
    return f"data:{mime};base64,{base64.b64encode(buf.getvalue()).decode('ascii')}", mime


def prepare_image(
    img: Image.Image, budget: Budget, factor: int, *, prefer_png: bool = False
) -> PreparedImage:
    """Resize an already decoded image to the budget and encode it as a data URL."""
    sized = fit(img, budget, factor)
    png = prefer_png and sized.width * sized.height <= PNG_MAX_PIXELS
    url, mime = encode_data_url(sized, png=png, crisp=prefer_png)
    return PreparedImage(url, mime, sized.width, sized.height, image_tokens(*sized.size, factor))


def prepare(data: bytes, budget: Budget, factor: int, *, max_pixels: int) -> PreparedImage:
    """Bytes → checked, upright, resized, encoded; draft-decoding large JPEGs."""
    target_pixels = budget.max_tokens * factor * factor
    img = open_image(data, max_pixels=max_pixels, target_pixels=target_pixels)
    lossless = source_format(data) in LOSSLESS_FORMATS
    return prepare_image(img, budget, factor, prefer_png=lossless)


def perceptual_hash(img: Image.Image) -> str:
    """A 64-bit pHash as hex: near-identical photos (re-encoded, resized) share most bits."""
    import imagehash

    return str(imagehash.phash(img))


def hash_distance(a: str, b: str) -> int:
    """Differing bits between two perceptual hashes."""
    return bin(int(a, 16) ^ int(b, 16)).count("1")
