"""The page splitter against two baselines, on synthetic photos with known corners.

Baselines, measured in the same run on the same images:
- whole: the whole image is one page;
- thirds: cut into three equal parts along the long side (what the seed tool, NoteOCR,
  ends up doing when its three-page detection fails);
- equal-n: equal parts along the long side, given the true page count (an oracle the seed
  tool does not have: an upper bound for any equal-parts cutter);
- scanner: the classic OpenCV document scanner (downscale, Canny, the largest contour that
  approximates to four corners; the whole image when none does), the peer method.

Photos are generated one at a time (a 12-megapixel photo is 36 MB) by
`testsupport.imagegen.pages.sample`: desk photos with 1-4 pages, open notebooks, stitched strips,
flat scans and screenshots, and bare desks. With `--real ../shared/real`, the same methods on
real phone photos with hand-checked corners (single_page: IoU ≥ 0.9 counts as found;
single_page_coarse: ≥ 0.7), and the pages found on the multi-page photos, whose crops
`--crops DIR` writes for a look. Then, when the offline OCR engine is installed,
the character error rate of page crops with and without each step of `pipeline.enhance`.

    python -m benchmarks.pages [--quick] [--photos N] [--first-seed S] [--long-side PX]
                               [--ocr-pages N] [--no-ocr] [--real DIR [--crops DIR]]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
import tracemalloc
import unicodedata
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
from PIL import Image
from rapidfuzz.distance import Levenshtein

from notelens.pipeline import enhance
from notelens.pipeline.pages import split_pages
from testsupport.imagegen import pages as gen

Quad = list[tuple[float, float]]


def whole(img: Image.Image, n: int) -> list[Quad]:
    w, h = img.size
    return [[(0, 0), (w, 0), (w, h), (0, h)]]


def equal_parts(img: Image.Image, n: int) -> list[Quad]:
    w, h = img.size
    if h >= w:
        return [[(0, h * i / n), (w, h * i / n), (w, h * (i + 1) / n), (0, h * (i + 1) / n)]
                for i in range(n)]  # fmt: skip
    return [[(w * i / n, 0), (w * (i + 1) / n, 0), (w * (i + 1) / n, h), (w * i / n, h)]
            for i in range(n)]  # fmt: skip


def thirds(img: Image.Image, n: int) -> list[Quad]:
    return equal_parts(img, 3)


def scanner(img: Image.Image, n: int) -> list[Quad]:
    """The classic OpenCV document scanner (as in countless tutorials): 500 px high, blur,
    Canny 75/200, the five largest contours, the first that approximates to four corners."""
    rgb = np.asarray(img.convert("RGB"))
    h, w = rgb.shape[:2]
    s = 500 / h
    small = cv2.resize(rgb, (max(1, round(w * s)), 500), interpolation=cv2.INTER_AREA)
    gray = cv2.GaussianBlur(cv2.cvtColor(small, cv2.COLOR_RGB2GRAY), (5, 5), 0)
    contours, _ = cv2.findContours(cv2.Canny(gray, 75, 200), cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    for c in sorted(contours, key=cv2.contourArea, reverse=True)[:5]:
        approx = cv2.approxPolyDP(c, 0.02 * cv2.arcLength(c, True), True)
        if len(approx) == 4:
            return [[(float(x / s), float(y / s)) for x, y in approx.reshape(4, 2)]]
    return whole(img, n)


def ours(img: Image.Image, n: int) -> list[Quad]:
    return [p.quad for p in split_pages(img).pages]


METHODS: dict[str, Callable[[Image.Image, int], list[Quad]]] = {
    "splitter": ours,
    "whole": whole,
    "thirds": thirds,
    "equal-n": equal_parts,
    "scanner": scanner,
}


class Tally:
    def __init__(self) -> None:
        self.photos = self.count_ok = self.pages = self.found = 0
        self.ious: list[float] = []
        self.ms_12mp: list[float] = []
        self.peak = 0

    def add(self, sample: gen.PageSample, quads: list[Quad], seconds: float) -> None:
        self.photos += 1
        self.count_ok += len(quads) == len(sample.quads)
        for q in sample.quads:
            best = max((gen.quad_iou(q, p) for p in quads), default=0.0)
            self.ious.append(best)
            self.found += best >= 0.9
            self.pages += 1
        if sample.image.width * sample.image.height >= 11_000_000:
            self.ms_12mp.append(seconds * 1000)

    def row(self, name: str) -> str:
        ms = f"{statistics.median(self.ms_12mp):.0f}" if self.ms_12mp else "-"
        peak = f"{self.peak / 1e6:.0f} MB" if self.peak else "-"
        return (
            f"{name:9} {self.count_ok / self.photos:12.1%} {self.found / self.pages:9.1%}"
            f" {statistics.mean(self.ious):9.3f} {ms:>10} {peak:>10}"
        )


def measure_scenes(n: int, long_side: int) -> None:
    """One page where people really photograph one (`gen.scene`): every method, and the
    splitter by the scene's traits."""
    tallies = {name: Tally() for name in METHODS}
    by_trait: dict[str, Tally] = {}
    for seed in range(n):
        sample = gen.scene(seed, long_side=long_side)
        for name, method in METHODS.items():
            t = time.perf_counter()
            quads = method(sample.image, 1)
            tallies[name].add(sample, quads, time.perf_counter() - t)
            if name == "splitter":
                for trait in sample.traits:
                    by_trait.setdefault(trait, Tally()).add(sample, quads, 0)
    print(f"\n{n} generated scenes (one page each; seeds 0-{n - 1}) at {long_side} px")
    print(f"{'method':9} {'count right':>12} {'IoU≥0.9':>9} {'mean IoU':>9} {'ms/12MP':>10}")
    for name, tally in tallies.items():
        print(tally.row(name)[:54])
    print("splitter by trait:")
    for trait, tally in sorted(by_trait.items()):
        print("  " + tally.row(trait)[:43] + f"   ({tally.photos} images)")


def measure(n_photos: int, long_side: int, first_seed: int = 0) -> None:
    """Score every method on each photo, one photo in memory at a time."""
    tallies = {name: Tally() for name in METHODS}
    by_kind: dict[str, Tally] = {}
    kinds: Counter[str] = Counter()
    for seed in range(first_seed, first_seed + n_photos):
        sample = gen.sample(seed, long_side=long_side)
        kinds[sample.kind] += 1
        for name, method in METHODS.items():
            t = time.perf_counter()
            quads = method(sample.image, len(sample.quads))
            tallies[name].add(sample, quads, time.perf_counter() - t)
            if name == "splitter":
                by_kind.setdefault(sample.kind, Tally()).add(sample, quads, 0)
        tracemalloc.start()
        split_pages(sample.image)
        tallies["splitter"].peak = max(tallies["splitter"].peak, tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    pages = sum(t.pages for t in by_kind.values())
    print(
        f"{n_photos} images ({', '.join(f'{v} {k}' for k, v in sorted(kinds.items()))}), "
        f"{pages} pages; seeds {first_seed}-{first_seed + n_photos - 1}, "
        f"photos at {long_side} px on the long side"
    )
    header = f"{'method':9} {'count right':>12} {'IoU≥0.9':>9} {'mean IoU':>9}"
    print(f"{header} {'ms/12MP':>10} {'peak mem':>10}")
    for name, tally in tallies.items():
        print(tally.row(name))
    print("splitter by kind:")
    for kind, tally in sorted(by_kind.items()):
        print("  " + tally.row(kind)[:43] + f"   ({tally.photos} images)")
    print("targets: count right ≥ 97%, IoU≥0.9 ≥ 97%, ≤ 400 ms per 12-megapixel photo")
    print("(equal-n is told the true page count, so its count is right by construction)")


def measure_real(root: Path, crops: Path | None) -> None:
    """Every method on the real photos of `root/pages`; the splitter's crops of the photos
    with several pages go to `crops`."""
    manifest = json.loads((root / "pages" / "manifest.json").read_text())
    thresholds = {"single_page": 0.9, "single_page_coarse": 0.7}
    rows: dict[str, dict[str, list[float]]] = {name: {} for name in METHODS}
    ms: dict[str, list[float]] = {name: [] for name in METHODS}
    multi: list[str] = []
    for item in manifest["items"]:
        img = Image.open(root / "pages" / item["file"])
        img.load()
        for name, method in METHODS.items():
            t = time.perf_counter()
            quads = method(img, len(item["quads"] or [0, 0]))
            if img.width * img.height >= 9e6:  # the 10-12 MP photos
                ms[name].append((time.perf_counter() - t) * 1000)
            if item["quads"] is None:
                if name == "splitter":
                    multi.append(f"  {item['file']}: {len(quads)} pages")
                continue
            iou = max(gen.quad_iou(item["quads"][0], q) for q in quads)
            rows[name].setdefault(item["subset"], []).append(iou)
            if name == "splitter" and iou < thresholds[item["subset"]]:
                multi.append(f"  missed {item['file']} ({item['subset']}): IoU {iou:.3f}")
        if item["quads"] is None and crops is not None:
            crops.mkdir(parents=True, exist_ok=True)
            for i, page in enumerate(split_pages(img).pages):
                page.image.save(crops / f"{Path(item['file']).stem}_{i}.png")
    print(f"\nreal photos ({root / 'pages'}): found = IoU ≥ 0.9 (coarse: ≥ 0.7)")
    print(f"{'method':9} {'found':>9} {'mean IoU':>9} {'coarse':>7} {'ms/10-12MP':>11}")
    for name in METHODS:
        single = rows[name].get("single_page", [])
        coarse = rows[name].get("single_page_coarse", [])
        found = sum(i >= 0.9 for i in single)
        print(
            f"{name:9} {found:>4}/{len(single):<4} {statistics.mean(single):9.3f}"
            f" {sum(i >= 0.7 for i in coarse):>3}/{len(coarse):<3}"
            f" {statistics.median(ms[name]):11.0f}"
        )
    print("splitter, multi-page photos (expect ≥ 2 pages) and misses:")
    print("\n".join(multi))
    print("targets: ≥ 95% found, mean IoU ≥ 0.95 (single_page); ms: median over 10-12 MP photos")


def _normalize(text: str) -> str:
    text = unicodedata.normalize("NFKC", text)
    return "".join(ch for ch in text if not ch.isspace())


def cer(truth: str, read: str) -> float:
    """Character error rate: edit distance over the true length, whitespace ignored."""
    a, b = _normalize(truth), _normalize(read)
    if not a:
        return float(bool(b))
    return Levenshtein.distance(a, b) / len(a)


def measure_enhancement(long_side: int, max_pages: int) -> None:
    try:
        from notelens.pipeline.local_ocr import get_engine

        engine = get_engine()
    except Exception as exc:  # the engine or its models are optional
        print(f"\nOCR engine unavailable ({exc}); enhancement not measured")
        return
    crops: list[tuple[Image.Image, str]] = []
    seed = 10_000
    while len(crops) < max_pages:
        sample = gen.photo(seed, long_side=long_side)
        seed += 1
        split = split_pages(sample.image)
        if len(split.pages) == len(sample.texts):
            crops += [(p.image, t) for p, t in zip(split.pages, sample.texts, strict=True) if t]
    crops = crops[:max_pages]
    variants = [(), *[(name,) for name in enhance.STEPS], ("flatten", "clahe")]
    if enhance.KEPT and enhance.KEPT not in variants:
        variants.append(enhance.KEPT)
    print(
        f"\ncharacter error rate of {len(crops)} page crops from desk photos at {long_side} px"
        " (offline OCR):"
    )
    base = None
    for steps in variants:
        t = time.perf_counter()
        rates = [cer(text, engine.recognize(enhance.apply(img, steps)).text) for img, text in crops]
        mean = statistics.mean(rates)
        base = mean if base is None else base
        label = "+".join(steps) or "none"
        kept = "  (kept)" if steps and steps == enhance.KEPT else ""
        print(
            f"  {label:16} CER {mean:6.2%}  ({mean - base:+.2%} vs none)  "
            f"{(time.perf_counter() - t) / len(crops):.1f} s/page{kept}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20 images, 4 OCR pages")
    parser.add_argument("--photos", type=int, default=100, help="0: only the OCR measurement")
    parser.add_argument(
        "--first-seed", type=int, default=0, help="another range: images the splitter never saw"
    )
    parser.add_argument("--long-side", type=int, default=4000, help="4000 px: 12 megapixels")
    parser.add_argument("--ocr-pages", type=int, default=48)
    parser.add_argument(
        "--ocr-long-side", type=int, default=2000, help="smaller photos: smaller, harder text"
    )
    parser.add_argument("--no-ocr", action="store_true")
    parser.add_argument("--real", type=Path, help="the shared real set, e.g. ../shared/real")
    parser.add_argument("--crops", type=Path, help="write the multi-page photos' crops here")
    parser.add_argument("--scenes", type=int, default=60, help="generated real-like scenes")
    args = parser.parse_args()
    cv2.setNumThreads(1)  # times are per photo on one core
    if args.quick:
        args.photos, args.ocr_pages, args.scenes = 20, 4, 10
    if args.real:
        measure_real(args.real, args.crops)
    if args.photos:
        measure(args.photos, args.long_side, args.first_seed)
    if args.scenes:
        measure_scenes(args.scenes, args.long_side)
    if not args.no_ocr:
        measure_enhancement(args.ocr_long_side, args.ocr_pages)


if __name__ == "__main__":
    main()
