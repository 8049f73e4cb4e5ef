from __future__ import annotations

import base64
import io
import math
import struct
import zlib

import pytest
from PIL import Image, ImageDraw

from notelens.pipeline.errors import ImageError
from notelens.pipeline.images import (
    Budget,
    image_tokens,
    load_bytes,
    open_image,
    prepare,
    smart_resize,
    target_size,
)

MAX = 80_000_000


def encode(img: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kw)
    return buf.getvalue()


def marked(size=(120, 80)) -> Image.Image:
    """An image whose top-left corner is red, so orientation can be checked."""
    img = Image.new("RGB", size, "white")
    ImageDraw.Draw(img).rectangle((0, 0, size[0] // 4, size[1] // 4), fill=(255, 0, 0))
    return img


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "BMP", "TIFF", "GIF", "HEIF"])
def test_every_supported_format_decodes_to_rgb(fmt: str) -> None:
    data = encode(marked(), fmt)
    img = open_image(data, max_pixels=MAX)
    assert img.mode == "RGB"
    assert img.size == (120, 80)
    r, g, b = img.getpixel((5, 5))
    assert r > 200 and g < 80 and b < 80


def test_gif_uses_the_first_frame() -> None:
    frames = [Image.new("RGB", (40, 40), c) for c in ("blue", "green")]
    buf = io.BytesIO()
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:])
    img = open_image(buf.getvalue(), max_pixels=MAX)
    _, g, b = img.getpixel((10, 10))
    assert b > 200 and g < 80


def test_exif_orientation_is_applied() -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # the camera was turned: rotate 90° clockwise to view
    data = encode(marked((120, 80)), "JPEG", exif=exif)
    img = open_image(data, max_pixels=MAX)
    assert img.size == (80, 120)
    # the red corner, top-left when stored, is top-right once upright
    r, g, _ = img.getpixel((75, 5))
    assert r > 200 and g < 80
    assert img.getpixel((5, 5))[1] > 200
    assert img.getpixel((5, 115))[1] > 200


def test_transparency_lands_on_white() -> None:
    img = Image.new("RGBA", (30, 30), (0, 0, 0, 0))
    out = open_image(encode(img, "PNG"), max_pixels=MAX)
    assert out.getpixel((10, 10)) == (255, 255, 255)


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"", "image_empty"),
        (b"%PDF-1.4 not an image at all", "not_image"),
        (b"hello, this is a text file\n" * 10, "not_image"),
    ],
)
def test_bad_input_is_refused_with_a_code(data: bytes, code: str) -> None:
    with pytest.raises(ImageError) as info:
        open_image(data, max_pixels=MAX)
    assert info.value.code == code
    assert str(info.value)


def test_truncated_jpeg_is_corrupt() -> None:
    data = encode(Image.effect_noise((400, 400), 50).convert("RGB"), "JPEG")
    with pytest.raises(ImageError) as info:
        open_image(data[: len(data) // 2], max_pixels=MAX)
    assert info.value.code == "image_corrupt"


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that claims a huge size: refused before any pixel is decoded."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + body))
        return struct.pack(">I", len(body)) + kind + body + crc

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


@pytest.mark.parametrize("side", [20_000, 100_000])
def test_decompression_bomb_is_refused_from_the_header(side: int) -> None:
    with pytest.raises(ImageError) as info:
        open_image(png_header_only(side, side), max_pixels=MAX)
    assert info.value.code == "image_too_large"


def test_load_bytes_refuses_empty_and_oversized_files(tmp_path) -> None:
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    big = tmp_path / "big.jpg"
    big.write_bytes(b"x" * 5000)
    with pytest.raises(ImageError, match="empty"):
        load_bytes(empty, 4000)
    with pytest.raises(ImageError) as info:
        load_bytes(big, 4000)
    assert info.value.code == "file_too_big"
    with pytest.raises(ImageError) as info:
        load_bytes(tmp_path / "missing.jpg", 4000)
    assert info.value.code == "file_unreadable"


@pytest.mark.parametrize("factor", [28, 32])
@pytest.mark.parametrize(
    ("w", "h"), [(4032, 3024), (1080, 2400), (160, 60), (20, 20), (5000, 40), (3000, 3000)]
)
def test_smart_resize_stays_on_the_grid_and_in_budget(factor: int, w: int, h: int) -> None:
    budget = Budget(max_tokens=256)
    tw, th = target_size(w, h, budget, factor)
    assert tw % factor == 0 and th % factor == 0
    assert tw >= factor and th >= factor
    assert (tw // factor) * (th // factor) <= 256
    # aspect ratio roughly kept (within one token of rounding)
    assert abs(tw / th - w / h) / (w / h) < 0.35 or min(tw, th) == factor


def test_smart_resize_matches_qwen_reference_values() -> None:
    # qwen-vl-utils on 1080×1920, factor 28, 1280 tokens: beta = sqrt(1920·1080 / 1003520)
    # = 1.4375; floor(1920 / beta / 28) = 47, floor(1080 / beta / 28) = 26.
    assert smart_resize(1920, 1080, factor=28, min_pixels=4 * 784, max_pixels=1280 * 784) == (
        47 * 28,
        26 * 28,
    )
    # small images are rounded to the nearest multiple, not floored
    assert smart_resize(100, 130, factor=28, min_pixels=4 * 784, max_pixels=1280 * 784) == (
        112,
        140,
    )


def test_captcha_budget_upscales_to_two_tokens() -> None:
    tw, th = target_size(100, 30, Budget(max_tokens=256, min_short_tokens=2), 28)
    assert min(tw, th) >= 56


def test_prepare_draft_decodes_large_jpeg_to_the_budget() -> None:
    photo = Image.linear_gradient("L").resize((4032, 3024)).convert("RGB")
    data = encode(photo, "JPEG", quality=80)
    prepared = prepare(data, Budget(max_tokens=256), 32, max_pixels=MAX)
    assert prepared.mime == "image/jpeg"
    assert prepared.tokens == image_tokens(prepared.width, prepared.height, 32) <= 258
    head, b64 = prepared.data_url.split(",", 1)
    assert head == "data:image/jpeg;base64"
    sent = Image.open(io.BytesIO(base64.b64decode(b64)))
    assert sent.size == (prepared.width, prepared.height)
    assert math.isclose(sent.width / sent.height, 4 / 3, rel_tol=0.1)


def test_lossless_sources_are_sent_as_png() -> None:
    prepared = prepare(encode(marked(), "PNG"), Budget(), 28, max_pixels=MAX)
    assert prepared.mime == "image/png"
    assert prepared.data_url.startswith("data:image/png;base64,")


def test_extreme_strip_is_padded_not_refused() -> None:
    strip = Image.new("RGB", (4000, 4), "white")
    prepared = prepare(encode(strip, "PNG"), Budget(), 28, max_pixels=MAX)
    assert max(prepared.width, prepared.height) / min(prepared.width, prepared.height) <= 200


def test_perceptual_hash_finds_near_duplicates() -> None:
    from notelens.pipeline.images import hash_distance, perceptual_hash
    from testsupport.imagegen.text import EN_SENTENCES, render_lines

    page = render_lines(list(EN_SENTENCES), size=28)
    again = open_image(
        encode(page.resize((page.width // 2, page.height // 2)), "JPEG", quality=60), max_pixels=MAX
    )
    other = render_lines(list(reversed(EN_SENTENCES)), size=34, font_name="en-liberation-serif")
    h = perceptual_hash(page)
    assert hash_distance(h, perceptual_hash(again)) <= 6
    assert hash_distance(h, perceptual_hash(other)) > 12
