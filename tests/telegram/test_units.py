"""The bot's pure parts: splitting and escaping, parsing, limits (the store: tests/store/)."""

from __future__ import annotations

import asyncio
import html
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from notelens.i18n import catalogue
from notelens.telegram.i18n import lang_from_code, t
from notelens.telegram.media import looks_like_question, parse_command
from notelens.telegram.replies import html_chunks, notes_filename, split_text
from notelens.telegram.scheduling import Lanes
from notelens.telegram.tasks.handlers import edit_categories
from testsupport.fakes.telegram_server import _valid_html


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from("ab <>&\n。中😀"), max_size=3000), st.integers(20, 500))
def test_split_never_loses_text_and_respects_the_limit(text: str, limit: int) -> None:
    pieces = split_text(text, limit)
    assert "".join(pieces) == text
    for piece in pieces:
        escaped = html.escape(piece, quote=False)
        assert len(escaped.encode("utf-16-le")) // 2 <= limit


def test_split_prefers_paragraphs() -> None:
    paragraphs = ["alpha " * 50, "beta " * 50, "gamma " * 50]
    pieces = split_text("\n\n".join(paragraphs), 400)
    assert all(p.endswith("\n\n") or p == pieces[-1] for p in pieces)
    assert pieces[0].startswith("alpha") and pieces[1].startswith("beta")


def test_chunks_are_valid_html_for_hostile_text() -> None:
    hostile = "<b>not bold</b> & <script> *markdown* _x_ `code` [a](b) " * 200
    chunks = html_chunks("<b>Header</b>", hostile)
    assert all(_valid_html(c) and len(c) <= 4096 for c in chunks)
    assert html.unescape("".join(chunks[1:])) == hostile


def test_catalog_is_complete_and_escapes_values() -> None:
    assert catalogue("zh").keys == catalogue("en").keys  # every message in both languages
    assert "&lt;x&gt;" in t("en", "unsupported_file", name="<x>")
    assert lang_from_code("zh-hant") == "zh" and lang_from_code("en-US") == "en"
    assert lang_from_code(None) == "en"


def test_notes_filename() -> None:
    assert (
        notes_filename("线性代数: 第 1 讲/矩阵", date(2025, 3, 1))
        == "2025-03-01-线性代数-第-1-讲-矩阵.md"
    )
    assert notes_filename("", date(2025, 3, 1)) == "2025-03-01-notes.md"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/ocr", ("ocr", "", True)),
        ("/classify@notelens_test_bot a, b", ("classify", "a, b", True)),
        ("/ask@other_bot why", ("ask", "why", False)),
        ("/ask\nwhat is it", ("ask", "what is it", True)),
    ],
)
def test_parse_command(text: str, expected: tuple[str, str, bool]) -> None:
    command = parse_command(text, "NoteLens_Test_Bot")
    assert command is not None
    assert (command.name, command.arg, command.for_us) == expected


def test_questions() -> None:
    assert looks_like_question("What is this?")
    assert looks_like_question("这是什么")
    assert looks_like_question("translate to English")
    assert not looks_like_question("Lecture 3")
    assert not looks_like_question("")


def test_edit_categories() -> None:
    assert edit_categories(["a"], "set x, y，z") == (["x", "y", "z"], None)
    assert edit_categories(["a"], "add b") == (["a", "b"], None)
    assert edit_categories(["a", "b"], "remove a") == (["b"], None)
    assert edit_categories(["a"], "remove q")[1] == "categories_not_found:q"
    assert edit_categories(["a"], "remove a")[1] == "categories_empty"
    assert edit_categories(["a"], "reset") == (None, None)


async def test_lanes_keep_order_per_key_and_run_keys_in_parallel() -> None:
    lanes = Lanes(max_running=8)
    log: list[str] = []

    def job(key: str, n: int, delay: float):
        async def work() -> None:
            await asyncio.sleep(delay)
            log.append(f"{key}{n}")

        return work

    errors: list[BaseException] = []

    async def on_error(exc: BaseException) -> None:
        errors.append(exc)

    async def boom() -> None:
        raise ValueError("bad update")

    lanes.submit("a", job("a", 1, 0.2))
    lanes.submit("a", boom, on_error)
    lanes.submit("a", job("a", 2, 0.0))
    lanes.submit("b", job("b", 1, 0.05))
    await lanes.join(within=5)
    assert log == ["b1", "a1", "a2"]
    assert [str(e) for e in errors] == ["bad update"]
    assert not lanes.busy
