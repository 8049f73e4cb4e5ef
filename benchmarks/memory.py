"""Memory of the bot for albums of large photos: idle, peak and after-work RSS.

    python -m benchmarks.memory [--base /tmp/base-main] [--latency 0.3]

Ten 12-24 MP desk photos (testsupport.imagegen, cached in the temp folder) are sent as
one album, then as four albums from four users at once, each scenario to a fresh bot.
The bot runs as a child process (`benchmarks.bot_load --serve`: the same `build_app`
as `notelens bot`); its RSS is read from outside, in /proc (VmRSS now, VmHWM for the
peak). `--base` names a checkout of another commit (e.g. `git worktree add
/tmp/base-main db3fa1c`) whose bot is measured the same way in the same run, side by
side with this tree's.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PHOTOS = 10
# Long sides from 4000 px (12 MP at 4:3) to 5657 px (24 MP).
LONG_SIDES = [4000 + (5657 - 4000) * i // (PHOTOS - 1) for i in range(PHOTOS)]


@dataclass
class Figures:
    idle_mb: float
    peak_mb: float
    after_mb: float
    seconds: float


def album_photos() -> list[bytes]:
    """Ten JPEG photos of pages on a desk, generated once and cached."""
    from testsupport.imagegen.pages import photo

    cache = Path(tempfile.gettempdir()) / "notelens-memory-photos"
    cache.mkdir(exist_ok=True)
    out = []
    for seed, side in enumerate(LONG_SIDES):
        path = cache / f"{seed}-{side}.jpg"
        if not path.exists():
            buf = io.BytesIO()
            photo(seed, long_side=side).image.save(buf, format="JPEG", quality=90)
            path.write_bytes(buf.getvalue())
        out.append(path.read_bytes())
    return out


def status_mb(pid: int, field: str) -> float:
    """A field of /proc/<pid>/status (VmRSS, VmHWM) in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise KeyError(field)


async def settled_rss(pid: int, *, quiet_s: float = 3.0, limit_s: float = 30.0) -> float:
    """RSS once it has stopped falling for `quiet_s` (freed memory and trims land late)."""
    deadline = time.monotonic() + limit_s
    low, since = status_mb(pid, "VmRSS"), time.monotonic()
    while time.monotonic() < deadline and time.monotonic() - since < quiet_s:
        await asyncio.sleep(0.2)
        rss = status_mb(pid, "VmRSS")
        if rss < low - 1:
            low, since = rss, time.monotonic()
    return status_mb(pid, "VmRSS")


async def measure(
    root: Path, albums: int, photos: list[bytes], latency: float, extra: dict[str, str]
) -> Figures:
    from testsupport.fakes.openai_server import FakeOpenAI, text
    from testsupport.fakes.telegram_server import FakeTelegram, user

    model = FakeOpenAI(responder=lambda req: text("# Notes\n\nFake OCR text."), latency=latency)
    model.start()
    tg = FakeTelegram().start()
    workdir = Path(tempfile.mkdtemp(prefix="notelens-memory-"))
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("VLM_", "LLM_", "TELEGRAM_", "OCR_", "DATABASE_", "MALLOC_"))
    }
    env.update(
        tg.env(),
        VLM_BASE_URL=model.url,
        VLM_API_KEY="sk-bench",
        VLM_TIMEOUT_S="60",
        OCR_ENGINE="vlm",
        DATABASE_PATH=str(workdir / "bench.db"),
        USER_JOBS_PER_MINUTE="1000",
        PTB_TIMEDELTA="true",
        PYTHONPATH=f"{root / 'src'}:{root}",
        **extra,
    )
    # Started before anything is measured: a blocking spawn here stalls nothing.
    child = subprocess.Popen(  # noqa: ASYNC220
        [sys.executable, "-m", "benchmarks.bot_load", "--serve"],
        cwd=workdir,
        env=env,
        stdout=subprocess.DEVNULL,
    )
    try:
        await tg.wait_for(lambda f: f.get_updates_calls > 0, timeout=60)
        idle = await settled_rss(child.pid)
        people = [user(200_000 + i, "en") for i in range(albums)]
        start = time.monotonic()
        for person in people:
            tg.send_album(photos, person)

        def done() -> bool:
            return all(tg.calls_of("sendDocument", chat_id=p["id"]) for p in people)

        await tg.wait_for(lambda f: done(), timeout=900, interval=0.2)
        seconds = time.monotonic() - start
        peak = status_mb(child.pid, "VmHWM")
        after = await settled_rss(child.pid)
    finally:
        child.send_signal(signal.SIGTERM)
        try:
            child.wait(timeout=60)
        except subprocess.TimeoutExpired:
            child.kill()
        tg.stop()
        model.stop()
    return Figures(idle, peak, after, seconds)


async def run(
    base: Path | None, latency: float, variants: list[str]
) -> list[tuple[str, int, Figures]]:
    photos = await asyncio.to_thread(album_photos)
    trees: list[tuple[str, Path, dict[str, str]]] = [("main", base, {})] if base else []
    trees.append(("this tree", ROOT, {}))
    for variant in variants:  # e.g. "MALLOC_TRIM=false,MALLOC_ARENA_MAX=0"
        trees.append((variant, ROOT, dict(kv.split("=", 1) for kv in variant.split(","))))
    rows = []
    for albums in (1, 4):
        for name, root, extra in trees:
            rows.append((name, albums, await measure(root, albums, photos, latency, extra)))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", type=Path, help="a checkout of the commit to compare with")
    parser.add_argument("--latency", type=float, default=0.3, help="fake model seconds per call")
    parser.add_argument(
        "--variant",
        action="append",
        default=[],
        help="also measure this tree with settings: MALLOC_TRIM=false,MALLOC_ARENA_MAX=0",
    )
    args = parser.parse_args()
    rows = asyncio.run(run(args.base, args.latency, args.variant))
    width = max(len(name) for name, _, _ in rows)
    print(f"{'tree':>{width}} {'albums':>6} {'idle MB':>8} {'peak MB':>8} {'after MB':>9} {'s':>6}")
    for name, albums, f in rows:
        print(
            f"{name:>{width}} {albums:>6} {f.idle_mb:>8.0f} {f.peak_mb:>8.0f} "
            f"{f.after_mb:>9.0f} {f.seconds:>6.1f}"
        )
    by = {(name, albums): f for name, albums, f in rows}
    if args.base:
        for albums in (1, 4):
            old, new = by[("main", albums)], by[("this tree", albums)]
            print(
                f"{albums} album(s): peak {new.peak_mb / old.peak_mb:.2f}× main's, "
                f"after-work above idle {new.after_mb - new.idle_mb:+.0f} MB "
                f"(main {old.after_mb - old.idle_mb:+.0f} MB)"
            )
    four = by[("this tree", 4)]
    ok = four.peak_mb <= 600 and four.after_mb - four.idle_mb <= 100
    verdict = "met" if ok else "missed"
    print(f"target (four albums: peak ≤ 600 MB, after ≤ idle + 100 MB): {verdict}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
