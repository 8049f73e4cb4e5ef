"""Offline OCR benchmark: RapidOCR (our embedded engine) against Tesseract, same images.

    python -m benchmarks.local_ocr [--quick] [--seed N] [--captchas N]
    python -m benchmarks.local_ocr --real ../shared/real   (see benchmarks/local_ocr_real.py)

Pages are rendered with real fonts (two Chinese, three English), a heading and
paragraphs of 15-30 lines at a phone-crop size (~1400 px wide), then put through
photo distortions (tests/imagegen/distort.py). Captchas come from the `captcha`
package with known answers. Everything is deterministic from the seed.

Figures: character error rate (edit distance / reference length over the whole
set; whitespace collapsed for English, removed for Chinese), captcha accuracy
(exact, case-insensitive), seconds per page after loading, model load time and
peak memory. Each engine runs in its own fresh process so that peak memory is its
own: RapidOCR's is the worker's peak RSS (with the worker's baseline before the
model loaded), Tesseract's the peak RSS of its `tesseract` child processes.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import resource
import string
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from PIL import Image
from rapidfuzz.distance import Levenshtein

from testsupport.imagegen import distort
from testsupport.imagegen.captchas import Captcha
from testsupport.imagegen.text import EN_SENTENCES, ZH_SENTENCES, font, render_lines

RECIPES = tuple(distort.RECIPES)
ZH_PAGE_FONTS = ("zh-microhei", "zh-zenhei")
EN_PAGE_FONTS = ("en-liberation-serif", "en-liberation-sans", "en-dejavu")
PAGE_WIDTH = 1400

# More varied text than the test sentences, so a page is not eight lines repeated.
ZH_EXTRA = (
    "细胞是生物体结构和功能的基本单位。",
    "本次会议讨论了下个季度的预算安排和人员调整。",
    "实验数据表明，温度升高会加快化学反应的速率。",
    "请同学们在课后复习第三节的例题，并完成练习册第十二页。",
    "这家餐厅的招牌菜是红烧肉和清蒸鲈鱼，价格也比较实惠。",
    "由于天气原因，原定于周六的户外活动改到下周举行。",
    "数据库索引可以显著提高查询速度，但会占用额外的存储空间。",
    "历史课讲到了唐朝的科举制度以及它对后世的影响。",
    "购买火车票时需要出示有效身份证件。",
    "函数的导数描述了函数值随自变量变化的快慢。",
    "图书馆的开放时间为每天早上八点到晚上十点。",
    "项目进度比计划落后两周，需要增加测试人员。",
)
EN_EXTRA = (
    "The committee approved the budget after a long discussion about travel costs.",
    "Cells are the basic structural and functional units of living organisms.",
    "Please bring your laptop and a charger to the workshop on Thursday morning.",
    "An index speeds up database queries at the cost of extra storage and slower writes.",
    "The experiment showed that higher temperatures increase the rate of reaction.",
    "Our flight to Lisbon departs at seven forty and boards thirty minutes earlier.",
    "Revise the worked examples in section three and finish the exercises on page twelve.",
    "The library is open from eight in the morning until ten at night.",
    "A balanced diet includes vegetables, whole grains, fruit and enough water.",
    "The project is two weeks behind schedule, so we need more people for testing.",
    "Invoices must be paid within thirty days of the delivery date.",
    "The derivative describes how quickly a function changes with its input.",
)


@dataclass(frozen=True)
class Page:
    lang: str
    font_name: str
    recipe: str
    seed: int
    lines: tuple[str, ...]

    def render(self) -> Image.Image:
        size = 32 if self.lang == "zh" else 30
        img = render_lines(list(self.lines), font_name=self.font_name, size=size, width=PAGE_WIDTH)
        return distort.apply(img, self.recipe, self.seed)

    @property
    def reference(self) -> str:
        return "\n".join(self.lines)


# ------------------------------------------------------------------- data set


def _wrap(sentences: list[str], lang: str, font_name: str, size: int, width: int) -> list[str]:
    """Greedy wrapping to the text width: by character for Chinese, by word for English."""
    f = font(font_name, size)
    text = "".join(sentences) if lang == "zh" else " ".join(sentences)
    tokens = list(text) if lang == "zh" else text.split(" ")
    sep = "" if lang == "zh" else " "
    indent = "\u3000\u3000" if lang == "zh" else " " * 8
    lines, current = [], indent
    for token in tokens:
        candidate = f"{current}{sep}{token}" if current.strip() else current + token
        no_break = lang == "zh" and token in "，。、；：！？）"  # no line starts with these
        if f.getlength(candidate) > width and current.strip() and not no_break:
            lines.append(current)
            current = token
        else:
            current = candidate
    lines.append(current)
    return lines


def make_pages(seed: int, quick: bool) -> list[Page]:
    rng = random.Random(seed)
    pages = []
    for lang, fonts, pool, heading in (
        ("zh", ZH_PAGE_FONTS, ZH_SENTENCES + ZH_EXTRA, "课堂笔记：第{}周"),
        ("en", EN_PAGE_FONTS, EN_SENTENCES + EN_EXTRA, "Notes for week {}"),
    ):
        recipes = ("photo",) if quick else RECIPES
        for font_name in fonts:
            for recipe in recipes:
                size = 32 if lang == "zh" else 30
                lines = [heading.format(rng.randint(1, 20)), ""]
                target = rng.randint(22, 34)
                while len(lines) < target:
                    para = rng.sample(pool, rng.randint(2, 4))
                    lines += [*_wrap(para, lang, font_name, size, PAGE_WIDTH - 80), ""]
                pages.append(Page(lang, font_name, recipe, rng.randrange(2**31), tuple(lines[:-1])))
    return pages


def make_captchas(seed: int, count: int) -> list[Captcha]:
    rng = random.Random(seed + 1)
    alphabet = string.ascii_uppercase + string.digits
    return [
        Captcha("".join(rng.choices(alphabet, k=rng.randint(4, 6))), rng.randrange(2**31))
        for _ in range(count)
    ]


# ------------------------------------------------------------------- metrics


def normalise(text: str, lang: str) -> str:
    """Compare characters, not layout: Chinese without whitespace, English with single spaces."""
    return "".join(text.split()) if lang == "zh" else " ".join(text.split())


# ------------------------------------------------------------------- engines


def _rss_mb(who: int = resource.RUSAGE_SELF) -> float:
    return resource.getrusage(who).ru_maxrss / 1024  # Linux reports KiB


def _run_rapidocr(pages: list[Page], captchas: list[Captcha]) -> dict:
    from notelens.pipeline.local_ocr import LocalOcrEngine, captcha_text

    baseline = _rss_mb()
    engine = LocalOcrEngine()
    start = time.perf_counter()
    engine.recognize(Image.new("RGB", (64, 32), "white"))  # loads the models
    load_s = time.perf_counter() - start

    def page_text(img: Image.Image, lang: str) -> str:
        return engine.recognize(img).text

    def captcha(img: Image.Image) -> str:
        return captcha_text(engine.recognize(img, single_line=True))

    out = _evaluate(pages, captchas, page_text, captcha)
    return {**out, "load_s": load_s, "peak_mb": _rss_mb(), "baseline_mb": baseline}


def _run_tesseract(pages: list[Page], captchas: list[Captcha]) -> dict:
    import pytesseract

    start = time.perf_counter()
    pytesseract.image_to_string(Image.new("RGB", (64, 32), "white"), lang="chi_sim")
    load_s = time.perf_counter() - start

    def page_text(img: Image.Image, lang: str) -> str:
        return pytesseract.image_to_string(img, lang="chi_sim" if lang == "zh" else "eng")

    def captcha(img: Image.Image) -> str:
        text = pytesseract.image_to_string(img, lang="eng", config="--psm 7")
        return "".join(text.split())

    out = _evaluate(pages, captchas, page_text, captcha)
    return {**out, "load_s": load_s, "peak_mb": _rss_mb(resource.RUSAGE_CHILDREN)}


def _evaluate(pages, captchas, page_text, captcha) -> dict:  # type: ignore[no-untyped-def]
    errors: dict[str, int] = defaultdict(int)
    lengths: dict[str, int] = defaultdict(int)
    page_s = 0.0
    for page in pages:
        img = page.render()
        start = time.perf_counter()
        text = page_text(img, page.lang)
        page_s += time.perf_counter() - start
        ref, hyp = normalise(page.reference, page.lang), normalise(text, page.lang)
        dist = Levenshtein.distance(ref, hyp)
        for key in (page.lang, f"{page.lang}/{page.recipe}", f"{page.lang}/{page.font_name}"):
            errors[key] += dist
            lengths[key] += len(ref)
    right, captcha_s = 0, 0.0
    for item in captchas:
        img = item.render()
        start = time.perf_counter()
        answer = captcha(img)
        captcha_s += time.perf_counter() - start
        right += answer.casefold() == item.answer.casefold()
    return {
        "cer": {k: errors[k] / lengths[k] for k in errors},
        "page_s": page_s / max(1, len(pages)),
        "captcha_acc": right / max(1, len(captchas)),
        "captcha_s": captcha_s / max(1, len(captchas)),
    }


def _in_fresh_process(target, *args) -> dict:  # type: ignore[no-untyped-def]
    """Run one engine in a spawned interpreter so that its memory peak is its own."""
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(1) as pool:
        return pool.apply(target, args)


# ------------------------------------------------------------------- report


def _report(pages: list[Page], captchas: list[Captcha], rapid: dict, tess: dict) -> None:
    import pytesseract

    zh = sum(p.lang == "zh" for p in pages)
    print(
        f"Offline OCR benchmark: {len(pages)} pages ({zh} zh, {len(pages) - zh} en), "
        f"{len(captchas)} captchas, {os.cpu_count()} CPU cores"
    )
    print(f"Tesseract {pytesseract.get_tesseract_version()} with chi_sim / eng; psm 7 for captchas")
    rows: list[tuple[str, str, str]] = []
    keys = [k for k in rapid["cer"] if "/" not in k] + sorted(k for k in rapid["cer"] if "/" in k)
    for key in keys:
        label = f"CER {key}" if "/" in key else f"CER {key} (all pages)"
        rows.append((label, f"{rapid['cer'][key]:.2%}", f"{tess['cer'][key]:.2%}"))
    rows += [
        ("captcha accuracy", f"{rapid['captcha_acc']:.0%}", f"{tess['captcha_acc']:.0%}"),
        ("seconds per page", f"{rapid['page_s']:.2f}", f"{tess['page_s']:.2f}"),
        ("seconds per captcha", f"{rapid['captcha_s']:.3f}", f"{tess['captcha_s']:.3f}"),
        ("load / first call, s", f"{rapid['load_s']:.2f}", f"{tess['load_s']:.2f}"),
        (
            "peak memory, MB",
            f"{rapid['peak_mb']:.0f} (process; {rapid['baseline_mb']:.0f} before load)",
            f"{tess['peak_mb']:.0f} (tesseract process)",
        ),
    ]
    width = max(len(r[0]) for r in rows) + 2
    print(f"{'':<{width}}{'RapidOCR':<38}Tesseract")
    for label, a, b in rows:
        print(f"{label:<{width}}{a:<38}{b}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="one photo-like page per font")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--captchas", type=int, default=None, help="default 50, quick 10")
    parser.add_argument("--real", type=Path, help="only the shared real set, e.g. ../shared/real")
    parser.add_argument("--rounds", type=int, default=3, help="--real: timing rounds, best kept")
    args = parser.parse_args(argv)
    if args.real:
        from benchmarks.local_ocr_real import measure

        measure(args.real, args.rounds)
        return

    pages = make_pages(args.seed, args.quick)
    captchas = make_captchas(args.seed, args.captchas or (10 if args.quick else 50))
    rapid = _in_fresh_process(_run_rapidocr, pages, captchas)
    tess = _in_fresh_process(_run_tesseract, pages, captchas)
    _report(pages, captchas, rapid, tess)


if __name__ == "__main__":
    main()
