"""Photos of notes → pages → OCR → polished Markdown, one document.

Pages are read concurrently (the model client bounds how many at once) and kept
in order. A page that fails keeps its place in the document with a visible note;
nothing the user sent is dropped. The document's own words (headings, summary, notes)
are in the language asked for, else in the language of the text that was read.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from datetime import date

from ...i18n import INPUT_ERROR_KEYS, as_lang, detect_language, plain
from .. import page_boxes, prompts
from ..context import Context, ImageInput, pixel_count
from ..errors import ModelError, NoteLensError, describe_os_error
from ..page_crops import encode_found, encoded_pages, locate
from ..results import NotesResult, PageResult, Usage
from .ocr import ocr

log = logging.getLogger(__name__)

Progress = Callable[[int, int], Awaitable[None]]
POLISH_MAX_TOKENS = 4096


async def split_source(ctx: Context, image: ImageInput) -> tuple[list[bytes], list[str]]:
    """One input image → its pages, flat, upright and in reading order, with the clean-up
    steps that were measured to help OCR (see `pipeline.enhance`), each encoded.

    The photo's pixels are held in the shared pixel budget from decode until its page
    crops are encoded: photos of many albums wait their turn instead of all being
    decoded at once. When the page finder is unsure and `PAGE_BOXES_FROM_MODEL` is on, the
    vision model proposes the pages (see `page_boxes`)."""
    max_pixels = ctx.settings.max_image_pixels
    async with ctx.pixels.hold(pixel_count(image)):
        if not (ctx.settings.page_boxes_from_model and ctx.vlm):
            return await asyncio.to_thread(encoded_pages, image, max_pixels=max_pixels)
        rgb, found = await asyncio.to_thread(locate, image, max_pixels=max_pixels)
        if page_boxes.unsure(found):
            found = await page_boxes.ask_model(ctx, rgb, found, ctx.settings.default_language)
        return await asyncio.to_thread(encode_found, rgb, found), found.warnings


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
    ctx: Context, page: PageResult, img: ImageInput, language: str, polishing: bool
) -> Usage:
    """OCR then polish one page, recording failures on the page instead of raising."""
    usage = Usage()
    try:
        # A slot per model call: pages are decoded and encoded for the model only when it
        # can take them, not all at once (124 waiting data URLs were ~400 MB).
        async with ctx.page_slots:
            result = await ocr(ctx, img, language=language)
    except NoteLensError as exc:
        page.error, page.error_code = str(exc), exc.code
        return usage
    except OSError as exc:  # a file the engine needs: named, never its path
        page.error = describe_os_error(exc)
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
    language: str | None = None,
    names: Sequence[str] | None = None,
    progress: Progress | None = None,
) -> NotesResult:
    """`language` is the request's (None: read with the default prompts, and write the document
    in the language of the text); `names` name the inputs in failure notes (e.g. file names)."""
    lang = language or ctx.settings.default_language
    split_warnings: list[tuple[int, str]] = []
    pages: list[PageResult] = []
    crops: list[bytes | None] = []

    splits = await asyncio.gather(
        *(split_source(ctx, image) for image in images), return_exceptions=True
    )
    if splits and all(isinstance(s, BaseException) for s in splits):
        raise splits[0]  # type: ignore[misc]
    for source, split in enumerate(splits, 1):
        if isinstance(split, BaseException):
            if not isinstance(split, NoteLensError):
                raise split
            failed = PageResult(len(pages) + 1, source, error=str(split), error_code=split.code)
            pages.append(failed)
            crops.append(None)
            continue
        page_images, found_warnings = split
        split_warnings += [(source, w) for w in found_warnings]
        for img in page_images:
            pages.append(PageResult(len(pages) + 1, source))
            crops.append(img)

    polishing = can_polish(ctx)
    total, done = len(pages), 0

    async def run(page: PageResult, img: bytes | None) -> Usage:
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
    return assemble(
        pages,
        sum(usages, Usage()),
        split_warnings,
        language,
        lang,
        polishing=polishing,
        names=names,
    )


def assemble(
    pages: list[PageResult],
    usage: Usage,
    split_warnings: list[tuple[int, str]],
    language: str | None,
    fallback: str,
    *,
    polishing: bool,
    names: Sequence[str] | None = None,
) -> NotesResult:
    """The document from its read pages (also used by the durable job, page by page): in
    `language`, else in the language of the text read (`fallback` when unsure)."""
    text = "\n\n".join(p.polished or p.ocr_text for p in pages if p.ok)
    doc_lang = as_lang(language) if language else detect_language(text, as_lang(fallback))
    title = make_title(pages, doc_lang)
    warnings = [
        plain(doc_lang, "doc_image_warning", n=source, warning=w) for source, w in split_warnings
    ]
    markdown = render_markdown(
        title, pages, doc_lang, polishing=polishing, warnings=warnings, names=names
    )
    page_warnings = [
        plain(doc_lang, "doc_page_warning", n=p.index, warning=w) for p in pages for w in p.warnings
    ]
    return NotesResult(
        text=text,
        raw="\n\n".join(p.ocr_text for p in pages),
        usage=usage,
        warnings=warnings + page_warnings,
        engine="local" if pages and all(p.engine == "local" for p in pages) else "vlm",
        title=title,
        markdown=markdown,
        pages=pages,
        language=doc_lang,
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
    return plain(language, "doc_title")


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
    names: Sequence[str] | None = None,
) -> str:
    failed = [p for p in pages if not p.ok]
    failed_note = plain(language, "doc_failed_summary", n=len(failed)) if failed else ""
    day_text = (day or date.today()).isoformat()
    out = [
        f"# {title}",
        "",
        plain(language, "doc_summary", n=len(pages), day=day_text, failed=failed_note),
    ]
    if not polishing:
        out += ["", plain(language, "doc_unpolished")]
    if warnings:
        out += ["", *(plain(language, "doc_split_note", warning=w) for w in warnings)]
    for page in pages:
        out += ["", "## " + plain(language, "doc_page", n=page.index), ""]
        if not page.ok:
            out.append(f"> {page_failure(language, page, names)}")
            continue
        if not page.ocr_text.strip():
            out.append(plain(language, "doc_blank"))
            continue
        if page.polished is None:  # the raw OCR is the page's text
            if polishing:
                error = next((w for w in page.warnings if w.startswith("not polished")), "")
                error = error.removeprefix("not polished: ")
                out += [plain(language, "doc_unpolished_page", error=error), ""]
            out.append(demote_headings(page.ocr_text.strip()))
            continue
        out += [
            demote_headings(page.polished.strip()),
            "",
            "<details><summary>" + plain(language, "doc_raw") + "</summary>",
            "",
            fenced(page.ocr_text.strip()),
            "",
            "</details>",
        ]
    return "\n".join(out).rstrip() + "\n"


def page_failure(language: str, page: PageResult, names: Sequence[str] | None) -> str:
    """Why a page is missing, in the document's language, naming its input when known."""
    code = page.error_code
    if code in INPUT_ERROR_KEYS:
        error = plain(language, code)
    elif code is not None and code.startswith("model"):
        error = plain(language, "doc_model_failed", code=code)
    else:
        error = page.error or ""
    if names is not None and 0 < page.source <= len(names):
        return plain(language, "doc_file_failed", name=names[page.source - 1], error=error)
    return plain(language, "doc_page_failed", error=error)
