"""The pixel budget bounds decoding across jobs; malloc arenas and trimming."""

from __future__ import annotations

import asyncio
import io

import numpy as np
import pytest
from PIL import Image

from notelens.pipeline import memory
from notelens.pipeline.errors import ImageError
from notelens.pipeline.images import (
    PAGE_MAX_PIXELS,
    decode_array,
    encode_page,
    open_image,
    pixel_count,
)
from notelens.pipeline.memory import PixelBudget
from notelens.pipeline.service import Pipeline
from testsupport.fakes import openai_server as fake
from testsupport.imagegen.text import EN_SENTENCES, render_lines


def page_png(width: int = 900) -> bytes:
    img = render_lines(list(EN_SENTENCES[:4]), size=30, width=width)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


async def until(predicate: object, *, limit: int = 10_000) -> None:
    """Let other tasks run until `predicate()` holds (no timed sleeps)."""
    for _ in range(limit):
        if predicate():  # type: ignore[operator]
            return
        await asyncio.sleep(0)
    raise AssertionError("condition never held")


async def test_a_second_job_waits_until_the_first_releases_its_pixels() -> None:
    budget = PixelBudget(10)
    order: list[str] = []
    first_in, first_done, second_in = asyncio.Event(), asyncio.Event(), asyncio.Event()

    async def first() -> None:
        async with budget.hold(8):
            order.append("first in")
            first_in.set()
            await first_done.wait()
        order.append("first out")

    async def second() -> None:
        await first_in.wait()
        async with budget.hold(5):
            order.append("second in")
            second_in.set()

    jobs = asyncio.gather(first(), second())
    await first_in.wait()
    await until(lambda: budget.waiting == 1)
    assert not second_in.is_set() and budget.in_use == 8
    first_done.set()
    await asyncio.wait_for(second_in.wait(), 5)
    await jobs
    assert order == ["first in", "first out", "second in"]
    assert budget.in_use == 0


async def test_small_jobs_share_and_a_huge_one_runs_alone() -> None:
    budget = PixelBudget(10)
    inside = asyncio.Event()
    async with budget.hold(4), budget.hold(4):
        assert budget.in_use == 8 and budget.waiting == 0

        async def huge() -> None:
            async with budget.hold(1_000):  # clamped to the whole budget
                assert budget.in_use == 10
                inside.set()

        task = asyncio.create_task(huge())
        await until(lambda: budget.waiting == 1)
        assert not inside.is_set()
    await asyncio.wait_for(task, 5)
    assert inside.is_set() and budget.in_use == 0


async def test_first_come_first_served_and_a_cancelled_waiter_steps_aside() -> None:
    budget = PixelBudget(10)
    entered: list[str] = []

    async def job(name: str, pixels: int) -> None:
        async with budget.hold(pixels):
            entered.append(name)

    async with budget.hold(10):
        big = asyncio.create_task(job("big", 10))
        await until(lambda: budget.waiting == 1)
        small = asyncio.create_task(job("small", 1))
        await until(lambda: budget.waiting == 2)
        big.cancel()
        with pytest.raises(asyncio.CancelledError):
            await big
        assert budget.waiting == 1 and entered == []  # still full: small waits
    await asyncio.wait_for(small, 5)
    assert entered == ["small"] and budget.in_use == 0


async def test_idle_hook_runs_when_the_last_holder_leaves() -> None:
    calls: list[int] = []

    async def on_idle() -> None:
        calls.append(budget.in_use)

    budget = PixelBudget(10, on_idle)
    async with budget.hold(3):
        async with budget.hold(3):
            pass
        assert calls == []
    assert calls == [0]


def test_malloc_controls_work_on_this_system() -> None:
    memory.trim()
    assert memory.limit_arenas(0) is False  # 0 leaves glibc's default alone
    assert memory.limit_arenas(2) is True  # glibc (the Docker image and CI run on it)


def test_page_crops_are_kept_small_and_encoded() -> None:
    big = Image.new("RGB", (4000, 3000), "white")
    data = encode_page(big)
    with Image.open(io.BytesIO(data)) as img:
        assert img.format == "JPEG" and img.width * img.height <= PAGE_MAX_PIXELS
        assert abs(img.width / img.height - 4 / 3) < 0.01
    assert pixel_count(data) == img.width * img.height
    assert pixel_count(b"not an image") == 1


async def test_notes_wait_for_pixels_held_elsewhere(fake_model, settings_for) -> None:
    """Another job holding the whole budget keeps this album from decoding; released,
    every photo is read."""
    fake_model.responder = lambda req: fake.text("page text")
    photos = [page_png(), page_png(700)]
    async with Pipeline(settings_for(fake_model, max_pixels_in_flight=1_000_000)) as pipeline:
        budget = pipeline.ctx.pixels
        release = asyncio.Event()

        async def other_job() -> None:
            async with budget.hold(budget.capacity):
                await release.wait()

        holder = asyncio.create_task(other_job())
        await until(lambda: budget.in_use == budget.capacity)
        album = asyncio.create_task(pipeline.notes(photos, language="en"))
        await until(lambda: budget.waiting == 2)
        assert fake_model.requests == []
        release.set()
        result = await asyncio.wait_for(album, 30)
        await holder
        assert budget.in_use == 0
    assert [p.source for p in result.pages] == [1, 2]
    assert all(p.ok and p.ocr_text == "page text" for p in result.pages)


async def test_a_photo_that_fails_is_marked_and_frees_its_pixels(fake_model, settings_for) -> None:
    fake_model.responder = lambda req: fake.text("page text")
    broken = page_png()[:200]  # a PNG cut short: the header says its size, the data is gone
    async with Pipeline(settings_for(fake_model, max_pixels_in_flight=1_000_000)) as pipeline:
        result = await pipeline.notes([page_png(), broken, page_png()], language="en")
        assert pipeline.ctx.pixels.in_use == 0
    assert [p.source for p in result.pages] == [1, 2, 3]
    assert [p.ok for p in result.pages] == [True, False, True]
    assert result.pages[1].error
    assert len(result.failed_pages) == 1


def jpeg_with_orientation(orientation: int) -> bytes:
    img = Image.new("RGB", (300, 200), "white")
    img.paste((255, 0, 0), (0, 0, 60, 40))  # a red corner shows which way is up
    exif = img.getexif()
    exif[0x0112] = orientation
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=95, exif=exif.tobytes())
    return buf.getvalue()


@pytest.mark.parametrize("orientation", [1, 3, 6, 8])
def test_array_decoding_matches_pillow_and_turns_photos_upright(orientation: int) -> None:
    data = jpeg_with_orientation(orientation)
    ours = decode_array(data, max_pixels=10_000_000)
    pillow = np.asarray(open_image(data, max_pixels=10_000_000), np.int16)
    assert ours.shape == pillow.shape
    assert np.abs(ours.astype(np.int16) - pillow).mean() < 2


def test_a_cut_off_jpeg_is_refused_not_half_read() -> None:
    data = jpeg_with_orientation(1)
    with pytest.raises(ImageError) as caught:
        decode_array(data[: len(data) // 2], max_pixels=10_000_000)
    assert caught.value.code == "image_corrupt"
    with pytest.raises(ImageError) as too_big:
        decode_array(data, max_pixels=50_000)
    assert too_big.value.code == "image_too_large"
