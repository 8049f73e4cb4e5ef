"""Photos of notes → pages → OCR → polished Markdown, one document.

Pages are read concurrently (the model client bounds how many at once) and kept
in order. A page that fails keeps its place in the document with a visible note;
nothing the user sent is dropped.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from datetime import date

from PIL import Image

from .. import prompts
from ..context import Context, ImageInput
from ..errors import ModelError, NoteLensError
from ..results import NotesResult, PageResult, Usage
from .ocr import ocr

log = logging.getLogger(__name__)

Progress = Callable[[int, int], Awaitable[None]]
POLISH_MAX_TOKENS = 4096

TEXT = {
    "zh": {
        "title": "笔记",
        "page": "第 {n} 页",
        "raw": "原始识别文本",
        "failed": "⚠️ 这一页没能识别：{error}",
        "blank": "（空白页）",
        "unpolished_doc": "> 未润色：没有配置文本模型，以下是原始识别结果。",
        "unpolished_page": "> ⚠️ 这一页未能润色（{error}），以下是原始识别结果。",
        "summary": "> 共 {pages} 页 · {day}{failed}",
        "failed_summary": " · ⚠️ {n} 页识别失败",
        "split": "> 注意：{warning}",
    },
    "en": {
        "title": "Notes",
        "page": "Page {n}",
        "raw": "Raw OCR text",
        "failed": "⚠️ This page could not be read: {error}",
        "blank": "(blank page)",
        "unpolished_doc": "> Not polished: no text model is configured; this is the raw OCR.",
        "unpolished_page": "> ⚠️ This page could not be polished ({error}); this is the raw OCR.",
        "summary": "> {pages} pages · {day}{failed}",
        "failed_summary": " · ⚠️ {n} failed",
        "split": "> Note: {warning}",
    },
}


def _pages_for_ocr(img: Image.Image) -> tuple[list[Image.Image], list[str]]:
    from ..enhance import enhance_for_ocr
    from ..pages import split_pages

    split = split_pages(img)
    return [enhance_for_ocr(p.image) for p in split.pages], list(split.warnings)


async def split_source(ctx: Context, image: ImageInput) -> tuple[list[Image.Image], list[str]]:
    """One input image → its pages, flat, upright and in reading order, with the clean-up
    steps that were measured to help OCR (see `pipeline.enhance`)."""
    img = await ctx.decode(image)
    return await asyncio.to_thread(_pages_for_ocr, img)


def can_polish(ctx: Context) -> bool:
    """Polish with the LLM when there is one; offline-only OCR keeps text local."""
    if ctx.llm is None:
        return False
    if ctx.settings.ocr_engine == "local":
        return bool(ctx.settings.llm_base_url)
    return True


async def polish(ctx: Context, raw: str, language: str) -> tuple[str, Usage]:
    assert ctx.llm is not None
    system = prompts.render(ctx.settings.prompts_dir, "polish", language)
    done = await ctx.llm.complete(
        [{"role": "system", "content": system}, {"role": "user", "content": raw}],
        max_tokens=POLISH_MAX_TOKENS,
    )
    return done.text, done.usage


async def read_page(
    ctx: Context, page: PageResult, img: Image.Image, language: str, polishing: bool
) -> Usage:
    """OCR then polish one page, recording failures on the page instead of raising."""
    usage = Usage()
    try:
        result = await ocr(ctx, img, language=language)
    except (NoteLensError, OSError) as exc:
        page.error = str(exc)
        return usage
    page.ocr_text, page.engine, usage = result.text, result.engine, result.usage
    page.warnings += result.warnings
    if polishing and page.ocr_text.strip():
        try:
            page.polished, polish_usage = await polish(ctx, page.ocr_text, language)
            usage = usage + polish_usage
        except ModelError as exc:
            page.warnings.append(f"not polished: {exc}")
    return usage


async def notes(
    ctx: Context,
    images: Sequence[ImageInput],
    *,
    language: str = "zh",
    progress: Progress | None = None,
) -> NotesResult:
    lang = language if language in TEXT else "en"
    warnings: list[str] = []
    pages: list[PageResult] = []
    crops: list[Image.Image | None] = []

    splits = await asyncio.gather(
        *(split_source(ctx, image) for image in images), return_exceptions=True
    )
    if splits and all(isinstance(s, BaseException) for s in splits):
        raise splits[0]  # type: ignore[misc]
    for source, split in enumerate(splits, 1):
        if isinstance(split, BaseException):
            if not isinstance(split, NoteLensError):
                raise split
            pages.append(PageResult(len(pages) + 1, source, error=str(split)))
            crops.append(None)
            continue
        page_images, split_warnings = split
        warnings += [f"image {source}: {w}" for w in split_warnings]
        for img in page_images:
            pages.append(PageResult(len(pages) + 1, source))
            crops.append(img)

    polishing = can_polish(ctx)
    total, done = len(pages), 0

    async def run(page: PageResult, img: Image.Image | None) -> Usage:
        nonlocal done
        usage = Usage() if img is None else await read_page(ctx, page, img, lang, polishing)
        done += 1
        if progress is not None:
            try:
                await progress(done, total)
            except Exception:  # a progress display must never fail the job
                log.exception("progress callback failed")
        return usage

    usages = await asyncio.gather(*(run(p, img) for p, img in zip(pages, crops, strict=True)))
    usage = sum(usages, Usage())
    title = make_title(pages, lang)
    markdown = render_markdown(title, pages, lang, polishing=polishing, warnings=warnings)
    text = "\n\n".join(p.polished or p.ocr_text for p in pages if p.ok)
    return NotesResult(
        text=text,
        raw="\n\n".join(p.ocr_text for p in pages),
        usage=usage,
        warnings=warnings + [f"page {p.index}: {w}" for p in pages for w in p.warnings],
        engine="local" if pages and all(p.engine == "local" for p in pages) else "vlm",
        title=title,
        markdown=markdown,
        pages=pages,
    )


HEADING = re.compile(r"^(#{1,4})\s+(.+)$", re.M)


def make_title(pages: list[PageResult], language: str) -> str:
    """The first heading of the notes, else their first line, else a plain title."""
    for page in pages:
        body = page.polished or page.ocr_text
        if m := HEADING.search(body):
            return m.group(2).strip(" #*")[:60]
    for page in pages:
        for line in (page.polished or page.ocr_text).splitlines():
            line = line.strip(" #*>-")
            if line:
                return line[:40]
    return TEXT[language]["title"]


def demote_headings(text: str) -> str:
    """Page headings are level 2: the page's own headings go below them."""
    return HEADING.sub(lambda m: "#" * min(6, len(m.group(1)) + 2) + " " + m.group(2), text)


def fenced(text: str) -> str:
    longest = max((len(m) for m in re.findall(r"`{3,}", text)), default=2)
    fence = "`" * (longest + 1)
    return f"{fence}text\n{text}\n{fence}"


def render_markdown(
    title: str,
    pages: list[PageResult],
    language: str,
    *,
    polishing: bool,
    warnings: list[str],
    day: date | None = None,
) -> str:
    t = TEXT[language]
    failed = [p for p in pages if not p.ok]
    failed_note = t["failed_summary"].format(n=len(failed)) if failed else ""
    day_text = (day or date.today()).isoformat()
    out = [
        f"# {title}",
        "",
        t["summary"].format(pages=len(pages), day=day_text, failed=failed_note),
    ]
    if not polishing:
        out += ["", t["unpolished_doc"]]
    out += ["", *(t["split"].format(warning=w) for w in warnings)] if warnings else []
    for page in pages:
        out += ["", f"## {t['page'].format(n=page.index)}", ""]
        if not page.ok:
            out.append(f"> {t['failed'].format(error=page.error)}")
            continue
        if not page.ocr_text.strip():
            out.append(t["blank"])
            continue
        if page.polished is None:  # the raw OCR is the page's text
            if polishing:
                error = next((w for w in page.warnings if w.startswith("not polished")), "")
                out += [t["unpolished_page"].format(error=error.removeprefix("not polished: ")), ""]
            out.append(demote_headings(page.ocr_text.strip()))
            continue
        out += [
            demote_headings(page.polished.strip()),
            "",
            f"<details><summary>{t['raw']}</summary>",
            "",
            fenced(page.ocr_text.strip()),
            "",
            "</details>",
        ]
    return "\n".join(out).rstrip() + "\n"
