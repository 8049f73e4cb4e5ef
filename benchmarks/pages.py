"""The page splitter against two baselines, on synthetic photos with known corners.

Baselines, measured in the same run on the same photos:
- whole: the whole image is one page;
- equal: cut into equal parts along the long side, as many as there are pages
  (given the true count: more than the seed tool, which assumes three).

    python -m benchmarks.pages [--photos N] [--long-side PX]
"""

from __future__ import annotations

import argparse
import statistics
import time
import tracemalloc
from collections.abc import Callable

from PIL import Image

from pipeline.pages import split_pages
from tests.imagegen import pages as gen

Quad = list[tuple[float, float]]


def whole(img: Image.Image, n: int) -> list[Quad]:
    w, h = img.size
    return [[(0, 0), (w, 0), (w, h), (0, h)]]


def equal(img: Image.Image, n: int) -> list[Quad]:
    w, h = img.size
    if h >= w:
        return [
            [(0, h * i / n), (w, h * i / n), (w, h * (i + 1) / n), (0, h * (i + 1) / n)]
            for i in range(n)
        ]
    return [
        [(w * i / n, 0), (w * (i + 1) / n, 0), (w * (i + 1) / n, h), (w * i / n, h)]
        for i in range(n)
    ]


def ours(img: Image.Image, n: int) -> list[Quad]:
    return [p.quad for p in split_pages(img).pages]


def score(method: Callable[[Image.Image, int], list[Quad]], samples: list[gen.PageSample]):
    count_ok, found, total, ious, times = 0, 0, 0, [], []
    for s in samples:
        t = time.perf_counter()
        quads = method(s.image, len(s.quads))
        times.append(time.perf_counter() - t)
        count_ok += len(quads) == len(s.quads)
        for q in s.quads:
            best = max((gen.quad_iou(q, p) for p in quads), default=0.0)
            ious.append(best)
            found += best >= 0.9
            total += 1
    return count_ok / len(samples), found / total, statistics.mean(ious), times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--photos", type=int, default=100)
    parser.add_argument("--long-side", type=int, default=4000, help="4000 ≈ 12 megapixels")
    args = parser.parse_args()
    t = time.perf_counter()
    samples = [gen.sample(seed, long_side=args.long_side) for seed in range(args.photos)]
    kinds: dict[str, int] = {}
    for s in samples:
        kinds[s.kind] = kinds.get(s.kind, 0) + 1
    print(
        f"{len(samples)} photos ({', '.join(f'{v} {k}' for k, v in sorted(kinds.items()))}), "
        f"{sum(len(s.quads) for s in samples)} pages, generated in {time.perf_counter() - t:.0f} s"
    )
    print(f"{'method':8} {'count right':>12} {'IoU≥0.9':>9} {'mean IoU':>9} {'ms/12MP photo':>14}")
    for name, method in (("ours", ours), ("whole", whole), ("equal", equal)):
        tracemalloc.start()
        counts, found, mean_iou, times = score(method, samples)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        twelve = [
            dt
            for dt, s in zip(times, samples, strict=True)
            if s.image.width * s.image.height >= 10_000_000
        ]
        ms = statistics.median(twelve) * 1000 if twelve else float("nan")
        print(
            f"{name:8} {counts:12.1%} {found:9.1%} {mean_iou:9.3f} {ms:14.0f}"
            + (f"   peak traced memory {peak / 1e6:.0f} MB" if name == "ours" else "")
        )
    print("targets: count right ≥ 95%, IoU≥0.9 ≥ 97%, ≤ 400 ms per 12 MP photo")


if __name__ == "__main__":
    main()
