"""The embedded OCR engine: real reads of rendered text, layout on hand-made boxes, concurrency.

Real OCR runs the bundled PP-OCR models (about 1-3 s per image on two cores), so
the images are small and one engine is shared by the module.
"""

from __future__ import annotations

import asyncio
import math
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from notelens.pipeline.local_ocr import (
    LocalOcrEngine,
    LocalOcrResult,
    OcrLine,
    captcha_text,
    get_engine,
    layout_paragraphs,
    layout_text,
)
from testsupport.imagegen import distort
from testsupport.imagegen.text import EN_SENTENCES, ZH_SENTENCES, render_lines


def distance(a: str, b: str) -> int:
    """Levenshtein distance (rapidfuzz is not a dependency)."""
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def squash(text: str) -> str:
    return "".join(text.split())


@pytest.fixture(scope="module")
def engine() -> Iterator[LocalOcrEngine]:
    eng = LocalOcrEngine()
    yield eng
    eng.close()


# ---------------------------------------------------------------- real reads


@pytest.mark.parametrize(
    ("sentence", "font_name", "recipe", "seed"),
    [
        (ZH_SENTENCES[3], "zh-microhei", "clean", 1),
        (ZH_SENTENCES[4], "zh-zenhei", "photo", 2),
        (EN_SENTENCES[6], "en-liberation-serif", "clean", 3),
        (EN_SENTENCES[2], "en-dejavu", "photo", 4),
    ],
)
def test_known_sentence_comes_back(
    engine: LocalOcrEngine, sentence: str, font_name: str, recipe: str, seed: int
) -> None:
    img = distort.apply(render_lines([sentence], font_name=font_name, size=34), recipe, seed)
    result = engine.recognize(img)
    assert distance(squash(result.text), squash(sentence)) <= 1, result.text
    assert len(result.lines) == 1
    x0, y0, x1, y1 = result.lines[0].box
    assert 0 <= x0 < x1 <= img.width and 0 <= y0 < y1 <= img.height


def test_page_becomes_paragraphs_in_reading_order(engine: LocalOcrEngine) -> None:
    lines = [
        "Meeting notes",
        "",
        EN_SENTENCES[0] + " The infor-",
        "mation " + EN_SENTENCES[1],
        "",
        EN_SENTENCES[3],
    ]
    img = render_lines(lines, font_name="en-liberation-sans", size=30, width=1000)
    result = engine.recognize(distort.apply(img, "perspective+jpeg", 5))
    paragraphs = result.text.split("\n\n")
    assert len(paragraphs) == 3, result.text
    expected = ["Meeting notes", f"{EN_SENTENCES[0]} The information {EN_SENTENCES[1]}"]
    expected.append(EN_SENTENCES[3])
    for got, want in zip(paragraphs, expected, strict=True):
        assert distance(got, want) <= 2, (got, want)


def test_two_columns_are_read_one_after_the_other(engine: LocalOcrEngine) -> None:
    left = render_lines(list(ZH_SENTENCES[:3]), font_name="zh-microhei", size=30)
    right = render_lines(list(ZH_SENTENCES[3:6]), font_name="zh-microhei", size=30)
    page = Image.new("RGB", (left.width + right.width, max(left.height, right.height)), "white")
    page.paste(left, (0, 0))
    page.paste(right, (left.width, 0))
    text = squash(engine.recognize(page).text)
    assert distance(text, "".join(ZH_SENTENCES[:6])) <= 2, text


def test_blank_and_tiny_images_give_empty_text(engine: LocalOcrEngine) -> None:
    for img in (Image.new("RGB", (640, 480), "white"), Image.new("RGB", (3, 3), "white")):
        result = engine.recognize(img)
        assert result.text == "" and result.lines == []
        assert result.warnings


def test_non_rgb_input_is_accepted(engine: LocalOcrEngine) -> None:
    img = render_lines([EN_SENTENCES[5]], size=34).convert("LA")
    assert distance(squash(engine.recognize(img).text), squash(EN_SENTENCES[5])) <= 1


def test_large_image_is_capped() -> None:
    from notelens.pipeline.local_ocr import MAX_PIXELS, _cap_size

    warnings: list[str] = []
    small, scale = _cap_size(Image.new("RGB", (6000, 4000)), warnings)
    assert small.width * small.height <= MAX_PIXELS
    assert scale == pytest.approx(6000 / small.width)
    assert warnings and "6000×4000" in warnings[0]
    img = Image.new("RGB", (1400, 1800))
    assert _cap_size(img, []) == (img, 1.0)


def test_boxes_of_a_reduced_image_are_in_its_own_pixels(
    engine: LocalOcrEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("notelens.pipeline.local_ocr.MAX_PIXELS", 120_000)
    img = render_lines([EN_SENTENCES[0]], font_name="en-dejavu", size=40, margin=60)
    result = engine.recognize(img)
    assert any("reduced" in w for w in result.warnings)
    # Scaled back: the box hugs the text in the original image (plus the detector's margin).
    x0, _, x1, y1 = result.lines[0].box
    assert abs(x0 - 60) < 25 and abs(x1 - (img.width - 60)) < 25 and y1 <= img.height


def test_captcha_strip_is_one_line_without_spaces(engine: LocalOcrEngine) -> None:
    from testsupport.imagegen.captchas import Captcha

    for answer, seed in (("7K3PW", 11), ("HX4N", 12)):
        result = engine.recognize(Captcha(answer, seed).render(), single_line=True)
        assert captcha_text(result).upper() == answer


def test_captcha_text_removes_all_whitespace() -> None:
    result = LocalOcrResult("a B\n\nc\td 1", [], [])
    assert captcha_text(result) == "aBcd1"


def test_loading_is_offline_and_quiet(
    monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    import socket

    from rapidocr.utils.download_file import DownloadFile

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the offline engine tried to use the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(DownloadFile, "run", refuse)
    fresh = LocalOcrEngine()
    assert fresh.recognize(Image.new("RGB", (200, 100), "white")).text == ""
    out, err = capfd.readouterr()
    assert "RapidOCR" not in out + err


def test_int8_detector_is_shipped_and_reads_like_the_float_one(engine: LocalOcrEngine) -> None:
    """The package's int8 detector is the one loaded, and on a photo-like generated page its
    lines are the float detector's lines (same count, boxes within a few pixels)."""
    from notelens.pipeline import local_ocr

    shipped = local_ocr.QUANTIZED_DIR / local_ocr.quantized_name(local_ocr.DET_MODEL)
    assert shipped.is_file() and shipped.stat().st_size < 5_000_000
    assert engine.models[0] == shipped
    lines = ["Notes for week 3", "", *EN_SENTENCES[:4], "", *ZH_SENTENCES[:3]]
    img = distort.apply(render_lines(lines, font_name="zh-microhei", size=30), "photo", 11)
    float_engine = LocalOcrEngine(quantized=False)
    try:
        ours, theirs = engine.recognize(img), float_engine.recognize(img)
    finally:
        float_engine.close()
    assert len(ours.lines) == len(theirs.lines) == 8
    for a, b in zip(ours.lines, theirs.lines, strict=True):
        assert max(abs(p - q) for p, q in zip(a.box, b.box, strict=True)) < 6, (a, b)
    assert distance(ours.text, theirs.text) <= 2, (ours.text, theirs.text)


# ---------------------------------------------------------------- concurrency


async def test_concurrent_reads_get_their_own_text(engine: LocalOcrEngine) -> None:
    sentences = [EN_SENTENCES[0], ZH_SENTENCES[1], EN_SENTENCES[4], ZH_SENTENCES[6]]
    fonts = ["en-dejavu", "zh-zenhei", "en-liberation-serif", "zh-microhei"]
    images = [
        render_lines([s], font_name=f, size=32) for s, f in zip(sentences, fonts, strict=True)
    ]
    results = await asyncio.gather(*(engine.read(img) for img in images))
    for result, sentence in zip(results, sentences, strict=True):
        assert distance(squash(result.text), squash(sentence)) <= 1, result.text


def test_recognize_is_safe_from_many_threads(engine: LocalOcrEngine) -> None:
    sentences = [EN_SENTENCES[1], ZH_SENTENCES[2], EN_SENTENCES[7], ZH_SENTENCES[0]] * 2
    images = [
        render_lines([s], font_name="zh-microhei" if k % 2 else "en-liberation-sans", size=30)
        for k, s in enumerate(sentences)
    ]
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(engine.recognize, images))
    for result, sentence in zip(results, sentences, strict=True):
        assert distance(squash(result.text), squash(sentence)) <= 1, result.text


def test_get_engine_is_one_per_process() -> None:
    barrier = threading.Barrier(8)
    seen: list[LocalOcrEngine] = []

    def grab() -> None:
        barrier.wait()
        seen.append(get_engine())

    threads = [threading.Thread(target=grab) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({id(e) for e in seen}) == 1 and seen[0] is get_engine()


# ---------------------------------------------------------------- layout on boxes


def line(text: str, x0: float, y0: float, x1: float, y1: float) -> OcrLine:
    return OcrLine(text, (x0, y0, x1, y1), 0.99)


def texts(paragraphs: list[list[OcrLine]]) -> list[list[str]]:
    return [[ln.text for ln in para] for para in paragraphs]


H = 30  # text height
STEP = 48  # line pitch


def column(words: list[str], x0: float, x1: float, top: float) -> list[OcrLine]:
    return [line(w, x0, top + k * STEP, x1, top + k * STEP + H) for k, w in enumerate(words)]


def test_two_columns_under_a_heading_and_over_a_footer() -> None:
    heading = line("Heading", 300, 0, 700, 40)
    left = column(["L1", "L2", "L3", "L4"], 0, 460, 100)
    right = column(["R1", "R2", "R3", "R4"], 540, 1000, 100)
    footer = line("Footer", 0, 100 + 5 * STEP, 1000, 100 + 5 * STEP + H)
    shuffled = [right[2], footer, left[0], heading, right[0], left[3], right[1], left[1]]
    shuffled += [left[2], right[3]]
    got = texts(layout_paragraphs(shuffled))
    assert got == [["Heading"], ["L1", "L2", "L3", "L4"], ["R1", "R2", "R3", "R4"], ["Footer"]]


def test_columns_with_offset_baselines() -> None:
    left = column(["L1", "L2", "L3"], 0, 460, 0)
    right = column(["R1", "R2", "R3"], 540, 1000, STEP / 2)
    assert texts(layout_paragraphs(right + left)) == [["L1", "L2", "L3"], ["R1", "R2", "R3"]]


def test_indented_first_line_starts_a_paragraph() -> None:
    lines = [
        line("First para starts", 80, 0, 900, H),
        line("and goes on.", 0, STEP, 500, STEP + H),
        line("Second para starts", 80, 2 * STEP, 900, 2 * STEP + H),
        line("and ends here.", 0, 3 * STEP, 900, 3 * STEP + H),
        line("and really ends.", 0, 4 * STEP, 400, 4 * STEP + H),
    ]
    assert texts(layout_paragraphs(lines[::-1])) == [
        ["First para starts", "and goes on."],
        ["Second para starts", "and ends here.", "and really ends."],
    ]


def test_gap_and_bigger_heading_start_paragraphs() -> None:
    lines = [
        line("Big Title", 0, 0, 500, 60),
        line("one", 0, 80, 900, 80 + H),
        line("two", 0, 80 + STEP, 900, 80 + STEP + H),
        line("three", 0, 80 + 4 * STEP, 900, 80 + 4 * STEP + H),
        line("four", 0, 80 + 5 * STEP, 900, 80 + 5 * STEP + H),
    ]
    assert texts(layout_paragraphs(lines)) == [["Big Title"], ["one", "two"], ["three", "four"]]


def test_receipt_rows_are_read_across() -> None:
    rows = [("Milk", "3.50"), ("Bread", "2.00"), ("Eggs", "1.20")]
    lines = []
    for k, (item, price) in enumerate(rows):
        lines += [
            line(price, 700, k * STEP, 800, k * STEP + H),
            line(item, 0, k * STEP, 120, k * STEP + H),
        ]
    assert texts(layout_paragraphs(lines)) == [["Milk", "3.50", "Bread", "2.00", "Eggs", "1.20"]]
    assert layout_text(lines) == "Milk 3.50\nBread 2.00\nEggs 1.20"


def test_tilted_page_keeps_its_lines_apart() -> None:
    angle = math.radians(4)
    lines = []
    for k, word in enumerate(["alpha", "beta", "gamma"]):
        quad = [(0, k * STEP), (1000, k * STEP), (1000, k * STEP + H), (0, k * STEP + H)]
        quad = [
            (x * math.cos(angle) - y * math.sin(angle), x * math.sin(angle) + y * math.cos(angle))
            for x, y in quad
        ]
        xs, ys = [p[0] for p in quad], [p[1] for p in quad]
        lines.append(OcrLine(word, (min(xs), min(ys), max(xs), max(ys)), 0.9, tuple(quad)))
    assert texts(layout_paragraphs(lines[::-1])) == [["alpha", "beta", "gamma"]]
    assert layout_text(lines) == "alpha beta gamma"


def test_lines_are_joined_by_script() -> None:
    zh = column(["今天的课堂笔记", "整理如下。"], 0, 900, 0)
    en = column(["the infor-", "mation is", "well-", "Known"], 0, 900, 10 * STEP)
    assert layout_text(zh + en) == "今天的课堂笔记整理如下。\n\nthe information is well- Known"


def test_list_items_keep_their_own_lines() -> None:
    en = column(
        ["Steps:", "1. Mix the flour", "and the water.", "2) Knead it.", "- rest", "3.5 kg"],
        0,
        900,
        0,
    )
    assert layout_text(en) == "Steps:\n1. Mix the flour and the water.\n2) Knead it.\n- rest 3.5 kg"
    zh = column(["要点：", "一、预习课本", "二、完成习题", "（3）复习笔记"], 0, 900, 0)
    assert layout_text(zh) == "要点：\n一、预习课本\n二、完成习题\n（3）复习笔记"


def test_empty_input() -> None:
    assert layout_paragraphs([]) == [] and layout_text([]) == ""


boxes = st.lists(
    st.tuples(st.floats(0, 2000), st.floats(0, 3000), st.floats(1, 800), st.floats(4, 80)).map(
        lambda t: (t[0], t[1], t[0] + t[2], t[1] + t[3])
    ),
    max_size=40,
)


@settings(max_examples=150, deadline=None)
@given(boxes)
def test_layout_keeps_every_line_exactly_once(
    rects: list[tuple[float, float, float, float]],
) -> None:
    lines = [OcrLine(f"w{k}", r, 0.9) for k, r in enumerate(rects)]
    out = [ln.text for para in layout_paragraphs(lines) for ln in para]
    assert sorted(out) == sorted(ln.text for ln in lines)
    assert all(layout_paragraphs(lines))


def test_a_plain_list_and_a_title_keep_their_own_lines() -> None:
    """Rows that stop well short of the column's edge are not prose wrapped by the page:
    the title above a paragraph and the items of a list without markers stay lines, while
    the paragraph's own rows, which run to the edge, are joined."""
    rows = [
        ("Groceries", 0, 260),
        ("Buy these on the way home from the office", 0, 900),
        ("tonight, before the shop closes.", 0, 700),
        ("milk", 0, 110),
        ("eggs", 0, 115),
        ("brown bread", 0, 300),
    ]
    lines = [line(t, x0, k * STEP, x1, k * STEP + H) for k, (t, x0, x1) in enumerate(rows)]
    assert layout_text(lines) == (
        "Groceries\nBuy these on the way home from the office tonight, before the shop closes."
        "\nmilk\neggs\nbrown bread"
    )


def test_a_photographed_list_page_keeps_its_title_and_items(engine: LocalOcrEngine) -> None:
    """A page larger than the detection size (lines found on a reduced copy, read from the
    page): the title, the paragraph joined, and each item of a plain list on its own line."""
    from notelens.pipeline.local_ocr import DET_MAX_PIXELS

    lines = [
        "Shopping list",
        "",
        "Buy these on the way home from the office tonight,",
        "before the shop on the corner closes at eight.",
        "",
        "milk",
        "eggs",
        "brown bread",
        "green apples",
    ]
    img = render_lines(lines, font_name="en-liberation-sans", size=64, width=1900, margin=120)
    img = distort.apply(img, "photo", 3)
    assert img.width * img.height > 1.5 * DET_MAX_PIXELS
    got = engine.recognize(img).text.split("\n")
    got = [line for line in got if line]
    want = [
        "Shopping list",
        "Buy these on the way home from the office tonight, before the shop on the corner"
        " closes at eight.",
        "milk",
        "eggs",
        "brown bread",
        "green apples",
    ]
    assert len(got) == len(want), got
    for g, w in zip(got, want, strict=True):
        assert distance(g.lower(), w.lower()) <= 2, (g, w)
