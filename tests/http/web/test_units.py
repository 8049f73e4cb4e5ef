"""The page's pieces on their own: Markdown without HTML, languages, names in the zip, the
outlines drawn where the notes pipeline finds pages."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import pytest
from PIL import Image

from notelens.http.web import texts
from notelens.http.web.markdown import render_markdown
from notelens.http.web.page_view import draw_pages, thumbnail
from notelens.http.web.sorted_zip import Sorted, stream_zip, zip_names
from notelens.http.web.texts import lang_from_accept, page_lang
from notelens.pipeline.page_crops import encoded_pages
from testsupport.imagegen.pages import photo


def test_markdown_is_rendered_and_html_in_it_is_text() -> None:
    html = render_markdown(
        "# Title\n\n**bold** <script>alert(1)</script>\n\n[bad](javascript:alert(1)) "
        "[good](https://example.com)\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n<img src=x onerror=y>"
    )
    assert "<h1>Title</h1>" in html and "<strong>bold</strong>" in html
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "<img" not in html and 'href="javascript' not in html
    assert 'href="https://example.com" target="_blank" rel="noopener noreferrer nofollow"' in html
    assert "<table>" in html and "<td>2</td>" in html


def test_only_the_raw_ocr_fold_of_our_notes_passes_as_html() -> None:
    html = render_markdown(
        "text\n\n<details><summary>Raw OCR text</summary>\n\n```\nraw <b>x</b>\n```\n\n"
        "</details>\n\n<details open onclick=x><summary>a</summary>\n\nhi <details> "
        "<summary onmouseover=y>s</summary>\n"
    )
    assert "<details><summary>Raw OCR text</summary>" in html and "</details>" in html
    assert "raw &lt;b&gt;x&lt;/b&gt;" in html
    assert "&lt;details open onclick=x&gt;" in html
    assert "hi &lt;details&gt; &lt;summary onmouseover=y&gt;" in html
    assert html.count("<details>") == 1


@pytest.mark.parametrize(
    ("header", "lang"),
    [
        ("zh-CN,zh;q=0.9,en;q=0.8", "zh"),
        ("en-US,en;q=0.9,zh-CN;q=0.8", "en"),
        ("fr-FR,fr;q=0.9,zh-TW;q=0.7,en;q=0.5", "zh"),
        ("en;q=0.2, zh;q=0.8", "zh"),
        ("de-DE", None),
        ("", None),
        ("zh;q=0", None),
    ],
)
def test_accept_language(header: str, lang: str | None) -> None:
    assert lang_from_accept(header) == lang


def test_the_switch_wins_over_the_cookie_and_the_browser() -> None:
    assert page_lang("en", "zh", "zh-CN") == "en"
    assert page_lang(None, "zh", "en") == "zh"
    assert page_lang("xx", None, "de") == "en"


def test_zip_names_are_safe_and_never_collide() -> None:
    items = [
        Sorted("猫", "IMG_1.JPG", _never),
        Sorted("猫", "img_1.jpg", _never),
        Sorted("../../etc", "passwd", _never),
        Sorted("a/b", "", _never),
        Sorted("", "con.jpg", _never),
    ]
    names = zip_names(items)
    assert names[:2] == ["猫/IMG_1.JPG", "猫/img_1-1.jpg"]
    assert all(".." not in n.split("/") and not n.startswith("/") for n in names)
    assert all(n.count("/") == 1 for n in names)
    assert len({n.lower() for n in names}) == len(names)


async def _never() -> bytes:
    raise AssertionError("not read")


async def test_the_zip_streams_each_photo_into_its_category() -> None:
    read: list[str] = []

    def loader(name: str, data: bytes):  # type: ignore[no-untyped-def]
        async def load() -> bytes:
            read.append(name)
            return data

        return load

    items = [
        Sorted("cats", "a.jpg", loader("a", b"A" * 1000)),
        Sorted("dogs", "b.jpg", loader("b", b"B" * 10)),
        Sorted("cats", "c.png", loader("c", b"C")),
    ]
    chunks = []
    async for chunk in stream_zip(items):
        chunks.append(chunk)
        assert len(read) <= len(chunks)  # never read ahead of what was sent
    archive = zipfile.ZipFile(io.BytesIO(b"".join(chunks)))
    assert archive.testzip() is None
    assert archive.namelist() == ["cats/a.jpg", "dogs/b.jpg", "cats/c.png"]
    assert archive.read("cats/a.jpg") == b"A" * 1000


def test_outlines_are_the_pages_the_notes_pipeline_reads() -> None:
    sample = photo(3, n_pages=2, long_side=1600)
    buf = io.BytesIO()
    sample.image.save(buf, format="JPEG", quality=90)
    data = buf.getvalue()
    view = draw_pages(data, max_pixels=80_000_000)
    pages, _ = encoded_pages(data, max_pixels=80_000_000)
    assert len(view.crops) == len(pages) == len(sample.quads) == 2
    assert view.size == sample.image.size
    overlay = Image.open(io.BytesIO(view.overlay))
    assert max(overlay.size) <= 1280
    for quad, truth in zip(view.quads, sample.quads, strict=True):
        for (x, y), (tx, ty) in zip(quad, truth, strict=True):
            assert abs(x - tx) < 40 and abs(y - ty) < 40
    small = Image.open(io.BytesIO(thumbnail(data, max_pixels=80_000_000)))
    assert max(small.size) <= 160


def test_the_page_texts_listed_are_the_ones_used() -> None:
    """Templates and the script name their texts by key; the lists the catalogue test
    reads must hold exactly those."""
    web = Path(texts.__file__).parent
    templates = "".join(p.read_text(encoding="utf-8") for p in (web / "templates").glob("*.html"))
    routes = "".join(p.read_text(encoding="utf-8") for p in web.glob("*routes.py"))
    used = set(re.findall(r"""_\(\s*["'](web_[a-z_]+)["']""", templates))
    used |= set(re.findall(r"""(?:title|body)="(web_[a-z_]+)\"""", routes))
    assert used == set(texts.PAGE_KEYS)
    script = (web / "static" / "page.js").read_text(encoding="utf-8")
    assert set(re.findall(r"""say\("(web_[a-z_]+)\"""", script)) == set(texts.SCRIPT_KEYS)
