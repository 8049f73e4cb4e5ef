"""Load test: many users send photos at once; does the bot keep up, in order, without lag?

    python -m benchmarks.bot_load [--users 50] [--photos 200] [--latency 1] [--concurrency 8]

The fake Telegram and fake model servers run in this process; the bot runs in a
child process (`--serve`), built by the same `build_app` as `notelens bot`, so its
peak memory and event-loop lag are its own. Every photo is captioned `/ocr` (one
model call each), so the ideal time is ceil(photos / concurrency) × latency.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
import math
import os
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)]


# --- the child: the bot, plus an event-loop lag probe -----------------------------


async def _serve_child() -> None:
    from notelens.config import Settings
    from notelens.telegram.app import build_app, serve

    app = build_app(Settings())
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    lags: list[float] = []

    async def probe(interval: float = 0.01) -> None:
        while True:
            start = loop.time()
            await asyncio.sleep(interval)
            lags.append(loop.time() - start - interval)

    probe_task = asyncio.create_task(probe())
    await serve(app, stop, poll_timeout=10)
    probe_task.cancel()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(
        json.dumps(
            {
                "peak_rss_mb": usage.ru_maxrss / 1024,
                "cpu_s": usage.ru_utime + usage.ru_stime,
                "lag_p99_ms": percentile(lags, 0.99) * 1000,
                "lag_max_ms": max(lags, default=0.0) * 1000,
                "lag_samples": len(lags),
            }
        ),
        flush=True,
    )


# --- the parent: fakes, load, measurements ----------------------------------------


def photo_bytes() -> bytes:
    from testsupport.imagegen.text import EN_SENTENCES, render_lines

    img = render_lines(list(EN_SENTENCES[:4]), size=30)
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=85)
    return buf.getvalue()


async def run(
    users: int, photos: int, latency: float, concurrency: int, **env_extra: str
) -> dict[str, object]:
    """`env_extra`: more settings for the bot (e.g. DURABLE_JOBS=false)."""
    from testsupport.fakes.openai_server import FakeOpenAI, text
    from testsupport.fakes.telegram_server import FakeTelegram, user

    model = FakeOpenAI(responder=lambda req: text("Fake OCR text"), latency=latency).start()
    tg = FakeTelegram().start()
    workdir = Path(tempfile.mkdtemp(prefix="notelens-bench-"))
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("VLM_", "LLM_", "TELEGRAM_", "OCR_", "DATABASE_"))
    }
    env.update(
        tg.env(),
        VLM_BASE_URL=model.url,
        VLM_API_KEY="sk-bench",
        VLM_MAX_CONCURRENCY=str(concurrency),
        VLM_TIMEOUT_S="30",
        OCR_ENGINE="vlm",
        DATABASE_PATH=str(workdir / "bench.db"),
        USER_JOBS_PER_MINUTE="1000",
        PTB_TIMEDELTA="true",
        PYTHONPATH=str(ROOT),
    )
    env.update(env_extra)
    # Started once, before the load: a blocking spawn here stalls nothing being measured.
    child = subprocess.Popen(  # noqa: ASYNC220
        [sys.executable, "-m", "benchmarks.bot_load", "--serve"],
        cwd=workdir,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        await tg.wait_for(lambda f: f.get_updates_calls > 0, timeout=60)
        data = photo_bytes()
        people = [user(100_000 + i, "en") for i in range(users)]
        sent_at: dict[tuple[int, int], float] = {}
        start = time.monotonic()
        for i in range(photos):
            sender = people[i % users]
            msg = tg.send_photo(data, sender, caption="/ocr")
            sent_at[(sender["id"], msg["message_id"])] = time.monotonic()

        def replies() -> list:
            return [c for c in tg.calls_of("sendMessage") if c.reply_to is not None]

        deadline = max(120.0, 10 * photos * latency / concurrency)
        with contextlib.suppress(TimeoutError):  # unanswered photos are reported below
            await tg.wait_for(lambda f: len(replies()) >= photos, timeout=deadline, interval=0.1)
        answered = replies()
        last = max((c.at for c in answered), default=start) - start
        latencies = [
            c.at - sent_at[(int(c.chat_id or 0), int(c.reply_to or 0))]
            for c in answered
            if (int(c.chat_id or 0), int(c.reply_to or 0)) in sent_at
        ]
        in_order = all(
            [c.reply_to for c in answered if c.chat_id == p["id"]]
            == sorted(c.reply_to for c in answered if c.chat_id == p["id"])
            for p in people
        )
        unanswered = photos - len({(c.chat_id, c.reply_to) for c in answered})
    finally:
        child.send_signal(signal.SIGTERM)
        out, _ = child.communicate(timeout=60)
        tg.stop()
        model.stop()
    child_stats = json.loads(out.strip().splitlines()[-1]) if out.strip() else {}
    ideal = math.ceil(photos / concurrency) * latency
    return {
        "users": users,
        "photos": photos,
        "model_latency_s": latency,
        "concurrency": concurrency,
        "ideal_s": round(ideal, 2),
        "last_reply_s": round(last, 2),
        "overhead_vs_ideal": f"{(last / ideal - 1) * 100:+.1f}%" if ideal else "n/a",
        "latency_p50_s": round(statistics.median(latencies), 2) if latencies else None,
        "latency_p95_s": round(percentile(latencies, 0.95), 2),
        "model_max_in_flight": model.max_in_flight,
        "unanswered": unanswered,
        "answers_in_order_per_user": in_order,
        "bot_peak_rss_mb": round(float(child_stats.get("peak_rss_mb", float("nan"))), 1),
        "bot_cpu_s": round(float(child_stats.get("cpu_s", float("nan"))), 1),
        "loop_lag_p99_ms": round(float(child_stats.get("lag_p99_ms", float("nan"))), 1),
        "loop_lag_max_ms": round(float(child_stats.get("lag_max_ms", float("nan"))), 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--photos", type=int, default=200)
    parser.add_argument("--latency", type=float, default=1.0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        asyncio.run(_serve_child())
        return 0
    result = asyncio.run(run(args.users, args.photos, args.latency, args.concurrency))
    for key, value in result.items():
        print(f"{key:>28}: {value}")
    ok = result["unanswered"] == 0 and float(result["loop_lag_p99_ms"]) <= 50  # type: ignore[arg-type]
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
