"""Scaling out: does a second worker process help, and what do durable jobs cost?

    python -m benchmarks.scale [--users 50] [--photos 200] [--latency 1] [--concurrency 8]
                               [--ocr-photos 24] [--parts webhook,sqlite,ocr]

1. webhook: updates posted by the fake Telegram to `notelens serve` on PostgreSQL; the jobs
   run in `serve` itself (1 worker) or in `serve` plus a `notelens worker` (2 workers),
   VLM_MAX_CONCURRENCY = --concurrency model calls each, JOB_CONCURRENCY twice that (as the
   in-memory lanes: a job also downloads and answers). Every photo is captioned
   `/ocr`: one model call of --latency seconds. Ideal: the photos over all the workers'
   slots, but no less than one person's photos one after another (each person's order is
   kept). Intake latency: from the POST to its 200, which comes after the job is stored:
   for the load posted all at once (queueing in the process included), and for updates
   posted one at a time once it is done.
2. sqlite: one `notelens bot` (long polling, SQLite, durable jobs) against the same bot
   with DURABLE_JOBS=false (the in-memory lanes of NoteLens 0.1), as `benchmarks.bot_load`
   measures it. Target: within 10%.
3. ocr: the offline OCR engine (CPU-bound, no model) through the webhook, 1 vs 2 worker
   processes. Target: 2 at least 1.8x one, which needs a core per process to spare.

Peak RSS and CPU seconds are printed per process; the machine's load average too.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import math
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.bot_load import percentile
from benchmarks.bot_load import run as bot_load
from testsupport.deployment import ROOT, Processes, free_port
from testsupport.fakes.openai_server import FakeOpenAI, text
from testsupport.fakes.telegram_server import FakeTelegram, user
from testsupport.imagegen.text import EN_SENTENCES, ZH_SENTENCES, render_lines
from testsupport.postgres import pg_database

SECRET = "benchmark-webhook-secret"
ALONE = 20  # updates posted one at a time after the load


def photo(n: int = 0) -> bytes:
    """A photo of a few lines of text (the offline engine has something to read)."""
    lines = [*EN_SENTENCES[n % 3 : n % 3 + 3], *ZH_SENTENCES[:1]]
    buf = io.BytesIO()
    render_lines(lines, size=30).save(buf, format="JPEG", quality=85)
    return buf.getvalue()


def load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg()) + f" on {os.cpu_count()} cores"


async def through_webhook(
    workers: int,
    users: int,
    photos: int,
    concurrency: int,
    latency: float | None,
) -> dict[str, Any]:
    """`photos` from `users` posted to one `serve` (+ workers - 1 `notelens worker`);
    `latency` None: the offline OCR engine instead of the (fake) model."""
    workdir = Path(tempfile.mkdtemp(prefix="notelens-scale-"))
    with (
        pg_database("notelens_bench") as db_url,
        FakeTelegram() as tg,
        FakeOpenAI(responder=lambda req: text("Fake OCR text"), latency=latency or 0) as model,
    ):
        port = free_port()
        env = {
            **tg.env(),
            "DATABASE_URL": db_url,
            "PUBLIC_URL": f"http://127.0.0.1:{port}",
            "WEBHOOK_SECRET": SECRET,
            "JOB_CONCURRENCY": str(2 * concurrency),  # as the in-memory lanes
            "VLM_MAX_CONCURRENCY": str(concurrency),
            "USER_JOBS_PER_MINUTE": "100000",
        }
        if latency is None:
            env["OCR_ENGINE"] = "local"
        else:
            env |= {"VLM_BASE_URL": model.url, "VLM_API_KEY": "sk-bench", "OCR_ENGINE": "vlm"}
            env["VLM_TIMEOUT_S"] = "60"
        procs = Processes(workdir, env)
        try:
            procs.serve("serve-1", port)
            for i in range(1, workers):
                procs.spawn(f"worker-{i}", "worker")
            procs.wait_ready("serve-1")
            procs.wait_beating(db_url, set(procs.procs))
            cpu_before = procs.cpu_s()
            people = [user(200_000 + i, "en") for i in range(users)]
            data = [photo(n) for n in range(3)]
            sent: dict[int, list[int]] = {p["id"]: [] for p in people}
            start = time.monotonic()
            for i in range(photos):
                who = people[i % users]
                message = tg.send_photo(data[i % 3], who, caption="/ocr")
                sent[who["id"]].append(message["message_id"])

            def replies() -> list[Any]:
                return [c for c in tg.calls_of("sendMessage") if c.reply_to is not None]

            def answered() -> int:
                return len({(c.chat_id, c.reply_to) for c in replies()})

            slots = workers * concurrency
            per_call = latency if latency is not None else 1.0
            deadline = max(180.0, 20 * math.ceil(photos / slots) * per_call)
            await tg.wait_for(lambda f: answered() >= photos, timeout=deadline, interval=0.1)
            last = max(c.at for c in replies()) - start
            peaks, cpu = procs.peak_rss_mb(), procs.cpu_s()
            burst = list(tg.webhook_seconds)
            if latency is not None:  # then one update at a time: the intake without a queue
                for i in range(ALONE):
                    tg.send_photo(data[0], user(300_000 + i, "en"), caption="/ocr")
                    posted = len(burst) + i + 1
                    await tg.wait_for(lambda f, n=posted: len(f.webhook_seconds) >= n)
                await tg.wait_for(lambda f: answered() >= photos + ALONE, timeout=60)
            alone = tg.webhook_seconds[len(burst) :]
        finally:
            procs.close()
    firsts: dict[int, list[int]] = {}
    for call in replies():
        seen = firsts.setdefault(int(call.chat_id or 0), [])
        if call.reply_to not in seen:
            seen.append(int(call.reply_to or 0))
    result: dict[str, Any] = {
        "workers": workers,
        "photos": photos,
        "last_reply_s": round(last, 2),
    }
    if latency is not None:
        ideal = max(math.ceil(photos / slots), math.ceil(photos / users)) * latency
        result |= {
            "ideal_s": round(ideal, 2),
            "overhead_vs_ideal": f"{(last / ideal - 1) * 100:+.1f}%",
            "intake_p50_ms (all at once)": round(statistics.median(burst) * 1000, 1),
            "intake_p99_ms (all at once)": round(percentile(burst, 0.99) * 1000, 1),
            "intake_p50_ms (one at a time)": round(statistics.median(alone) * 1000, 1),
            "intake_p99_ms (one at a time)": round(percentile(alone, 0.99) * 1000, 1),
            "model_max_in_flight": model.max_in_flight,
        }
    result |= {
        "in_order_per_user": all(firsts.get(k) == v for k, v in sent.items()),
        "repeated_replies": len(replies()) - photos - len(alone),
        "peak_rss_mb": {k: round(v) for k, v in peaks.items()},
        "cpu_s": {k: round(v - cpu_before.get(k, 0.0), 1) for k, v in cpu.items()},
    }
    return result


def show(title: str, result: dict[str, Any]) -> None:
    print(f"\n== {title}")
    for key, value in result.items():
        print(f"{key:>28}: {value}")


async def main_async(args: argparse.Namespace) -> int:
    parts = set(args.parts.split(","))
    ok = True
    print(f"load average before: {load()}")
    if "webhook" in parts:
        runs = []
        for workers in (1, 2):
            result = await through_webhook(
                workers, args.users, args.photos, args.concurrency, args.latency
            )
            show(f"webhook, PostgreSQL, {workers} worker(s)", result)
            runs.append(result)
        speedup = runs[0]["last_reply_s"] / runs[1]["last_reply_s"]
        ideal = runs[0]["ideal_s"] / runs[1]["ideal_s"]
        print(f"\n{'2 workers vs 1':>28}: {speedup:.2f}x (ideal {ideal:.2f}x)")
        ok &= all(r["in_order_per_user"] for r in runs)
    if "sqlite" in parts:
        path = f"{ROOT / 'src'}:{ROOT}"
        figures = {}
        for durable in ("false", "true"):
            result = await bot_load(
                args.users,
                args.photos,
                args.latency,
                args.concurrency,
                DURABLE_JOBS=durable,
                JOB_CONCURRENCY=str(2 * args.concurrency),  # as the in-memory lanes
                PYTHONPATH=path,
            )
            name = "durable jobs" if durable == "true" else "in memory (DURABLE_JOBS=false)"
            show(f"notelens bot on SQLite, {name}", result)
            figures[durable] = float(result["last_reply_s"])  # type: ignore[arg-type]
        cost = figures["true"] / figures["false"] - 1
        print(f"\n{'durable vs in memory':>28}: {cost * 100:+.1f}% (target: within 10%)")
        ok &= cost <= 0.10
    if "ocr" in parts:
        runs = []
        for workers in (1, 2):
            result = await through_webhook(
                workers, args.ocr_photos, args.ocr_photos, args.concurrency, None
            )
            show(f"offline OCR (CPU-bound), {workers} worker process(es)", result)
            runs.append(result)
        speedup = runs[0]["last_reply_s"] / runs[1]["last_reply_s"]
        print(f"\n{'2 workers vs 1':>28}: {speedup:.2f}x (target: 1.8x)")
    print(f"\nload average after: {load()}")
    return 0 if ok else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--photos", type=int, default=200, help="in all, spread over users")
    parser.add_argument("--latency", type=float, default=1.0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--ocr-photos", type=int, default=24)
    parser.add_argument("--parts", default="webhook,sqlite,ocr")
    args = parser.parse_args()
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT / "src"))
    sys.exit(main())
