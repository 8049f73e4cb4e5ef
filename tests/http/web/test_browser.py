"""The page in a real browser: Debian's chromium, headless, driven by Playwright, against
`notelens serve`'s app on loopback with the fake model server. One browser and one server
for the module; each test has its own browser context (cookies, viewport).

Set NOTELENS_SCREENSHOT_DIR to keep the screenshot of a notes result (docs/web-page.png is
made so).
"""

from __future__ import annotations

import asyncio
import base64
import io
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import pytest_asyncio
from PIL import Image
from playwright.async_api import Browser, Page, async_playwright, expect

from notelens.config import Settings
from testsupport.fakes.openai_server import FakeOpenAI, Recorded, Reply, default_responder, text
from testsupport.imagegen.pages import photo

from .conftest import SECRET, start_server

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
LECTURE = (
    "# Linear algebra\n\nEigenvalues of a **matrix** $A$: solve det(A − λI) = 0.\n\n"
    "- rank\n- 线性代数"
)

pytestmark = pytest.mark.asyncio(loop_scope="module")


def lecture(request: Recorded) -> Reply:
    """Every page reads as a line of the lecture, and polishes into LECTURE."""
    return text("Eigenvalues of a matrix") if request.image_urls else text(LECTURE)


@pytest.fixture(scope="module")
def page_photo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A phone photo of two sheets on a desk (testsupport's page generator)."""
    sample = photo(3, n_pages=2, long_side=1600)
    path = tmp_path_factory.mktemp("photos") / "desk.jpg"
    sample.image.save(path, format="JPEG", quality=88)
    return path


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def served(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[tuple[str, FakeOpenAI]]:
    data = tmp_path_factory.mktemp("data")
    with FakeOpenAI(latency=0.3) as model:
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            vlm_base_url=model.url,
            vlm_api_key="sk-test-secret",  # type: ignore[arg-type]
            vlm_timeout_s=5,
            ocr_engine="vlm",
            database_path=data / "notelens.db",
            web_secret=SECRET,  # type: ignore[arg-type]
        )
        server, task, url = await start_server(settings)
        try:
            yield url, model
        finally:
            server.should_exit = True
            await asyncio.wait_for(task, 30)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as p:
        chromium = await p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield chromium
        finally:
            await chromium.close()


def save_small_png(png: bytes, path: Path) -> None:
    """A screenshot for the README: 256 colours are plenty for a page."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.open(io.BytesIO(png)).convert("RGB").quantize(256).save(path, optimize=True)


async def drop_file(page: Page, target: str, data: bytes, name: str) -> None:
    """Drag a file from the desktop onto `target`, as the browser delivers it."""
    transfer = await page.evaluate_handle(
        """([b64, name]) => {
            const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
            const transfer = new DataTransfer();
            transfer.items.add(new File([bytes], name, { type: "image/jpeg" }));
            return transfer;
        }""",
        [base64.b64encode(data).decode(), name],
    )
    for event in ("dragenter", "dragover", "drop"):
        await page.dispatch_event(target, event, {"dataTransfer": transfer})


async def new_page(browser: Browser, url: str, **kw: Any) -> Page:
    context = await browser.new_context(base_url=url, **kw)
    context.set_default_timeout(20_000)
    return await context.new_page()


async def test_notes_from_a_photo_with_progress_outlines_and_text(
    browser: Browser, served: tuple[str, FakeOpenAI], page_photo: Path
) -> None:
    url, model = served
    model.clear()
    model.responder = lecture
    page = await new_page(browser, url, locale="en-US", viewport={"width": 1100, "height": 900})
    await page.goto("/")
    await expect(page.locator("h2").first).to_have_text("New job")
    await page.set_input_files("#files", str(page_photo))
    await expect(page.locator("#chosen li")).to_have_count(1)
    await page.click("#submit")
    await expect(page.locator("#progress")).to_be_visible()
    await expect(page.locator("#status")).not_to_be_empty()
    result = page.locator(".result")
    await expect(result).to_be_visible(timeout=60_000)
    await expect(page.locator(".markdown h1")).to_have_text("Linear algebra")
    await expect(page.locator(".markdown strong")).to_have_text(["matrix", "matrix"])
    await expect(page.locator(".crops img")).to_have_count(2)
    outlined = page.locator("img.outlined")
    await expect(outlined).to_be_visible()
    loaded = await outlined.evaluate("img => img.complete && img.naturalWidth")
    assert loaded > 0
    # The overlay is the photo with its outlines in the outline colour drawn on it.
    overlay = await page.request.get(await outlined.get_attribute("src") or "")
    drawn = np.asarray(Image.open(io.BytesIO(await overlay.body())).convert("RGB")).astype(int)
    r, g, b = drawn[..., 0], drawn[..., 1], drawn[..., 2]
    assert int(((r > 230) & (g > 60) & (g < 120) & (b < 70)).sum()) > 500
    async with page.expect_download() as downloading:
        await page.click("a[href$='/document']")  # the API's endpoint, as the session's owner
    saved = await (await downloading.value).path()
    document = await asyncio.to_thread(saved.read_text, encoding="utf-8")
    assert document.startswith("# Linear algebra") and "线性代数" in document
    assert "job=" in page.url  # a reload shows the same result
    shot = await page.screenshot(full_page=True, type="png")
    await expect(page.locator("#jobs li")).to_have_count(1)  # the list knows the new job
    keep = os.environ.get("NOTELENS_SCREENSHOT_DIR")
    if keep:
        await page.set_viewport_size({"width": 900, "height": 800})
        await page.evaluate("window.scrollTo(0, 0)")  # the sticky header at the top
        png = await page.screenshot(full_page=True, type="png")
        await asyncio.to_thread(save_small_png, png, Path(keep) / "web-page.png")
    assert Image.open(io.BytesIO(shot)).size[0] == 1100
    await page.context.close()


async def test_switching_language_keeps_the_job(
    browser: Browser, served: tuple[str, FakeOpenAI], page_photo: Path
) -> None:
    url, model = served
    model.clear()
    model.responder = default_responder
    page = await new_page(browser, url, locale="zh-CN")
    await page.goto("/")
    await expect(page.locator("#submit")).to_have_text("开始识别")
    await page.click("text=English")
    await expect(page.locator("#submit")).to_have_text("Read")
    await page.click("label.chip:has-text('Classify')")
    await expect(page.locator("input[name=categories]")).to_be_visible()
    await page.set_input_files("#files", str(page_photo))
    dropped = await asyncio.to_thread(page_photo.read_bytes)
    await drop_file(page, "#drop", dropped, "dropped.jpg")
    await expect(page.locator("#chosen li")).to_have_count(2)
    await page.click("#submit")
    await expect(page.locator("table.data tbody tr")).to_have_count(2, timeout=60_000)
    await expect(page.locator("table.data td").nth(4)).to_have_text("dropped.jpg")
    await expect(page.locator("a[href$='sorted.zip']")).to_be_visible()
    await page.click("text=中文")
    await expect(page.locator("table.data th").first).to_have_text("照片", timeout=30_000)
    await page.context.close()


async def test_a_phone_screen_has_no_horizontal_scroll(
    browser: Browser, served: tuple[str, FakeOpenAI], page_photo: Path
) -> None:
    url, model = served
    model.clear()
    model.responder = default_responder
    page = await new_page(
        browser,
        url,
        viewport={"width": 390, "height": 844},
        device_scale_factor=3,
        is_mobile=True,
        has_touch=True,
        locale="zh-CN",
    )
    no_scroll = "document.documentElement.scrollWidth <= window.innerWidth"
    await page.goto("/")
    await expect(page.locator("label.camera input")).to_have_attribute("capture", "environment")
    assert await page.evaluate(no_scroll)
    await page.click("label.chip:has-text('提问')")
    await expect(page.locator("input[name=question]")).to_be_visible()
    await page.click("label.chip:has-text('小票')")
    await expect(page.locator("input[name=question]")).to_be_hidden()
    await page.set_input_files("#files", str(page_photo))
    await page.click("#submit")
    await expect(page.locator("table.receipt")).to_be_visible(timeout=60_000)
    await expect(page.locator("table.receipt td").first).to_have_text("全家 FamilyMart")
    await expect(page.locator("td.total")).to_have_text("23.50 CNY")
    await expect(page.locator("table.data tbody tr")).to_have_count(3 + 2)  # fields, items
    assert await page.evaluate(no_scroll)
    if keep := os.environ.get("NOTELENS_SCREENSHOT_DIR"):
        png = await page.screenshot(full_page=True, type="png")
        await asyncio.to_thread(save_small_png, png, Path(keep) / "web-phone.png")
    await page.context.close()
