"""The HTTP API's cost: N OCR jobs through `notelens serve` vs. the same through the pipeline.

    python -m benchmarks.api [--jobs 200] [--clients 16] [--latency 1] [--job-concurrency N]

Both sides run in the same run against the same fake model (each answer after `latency`
seconds) and the same model concurrency (VLM_MAX_CONCURRENCY, default 8):

- baseline: `Pipeline.ocr` called directly by `clients` concurrent callers, in this process;
- API: a real `notelens serve` child process (SQLite, durable jobs); `clients` concurrent
  HTTP clients each `POST /api/v1/jobs` then follow the job's events to its end.

Printed: both wall times and their ratio (target <= 1.1), the latency of `POST /api/v1/jobs`
(p50, p99), and the server's peak RSS (VmHWM of the child).
"""

from __future__ import annotations

import argparse
import asyncio
import io
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from testsupport.deployment import free_port

ROOT = Path(__file__).resolve().parent.parent
KEY = "bench-key-0123456789"


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)]


def photo_bytes() -> bytes:
    from testsupport.imagegen.text import EN_SENTENCES, render_lines

    img = render_lines(list(EN_SENTENCES[:4]), size=30)
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=85)
    return buf.getvalue()


def model_env(url: str, concurrency: int) -> dict[str, str]:
    return {
        "VLM_BASE_URL": url,
        "VLM_API_KEY": "sk-bench",
        "VLM_MAX_CONCURRENCY": str(concurrency),
        "VLM_TIMEOUT_S": "30",
        "OCR_ENGINE": "vlm",
    }


async def baseline(url: str, data: bytes, jobs: int, clients: int, concurrency: int) -> float:
    """`jobs` OCR calls through one Pipeline, by `clients` concurrent callers."""
    from notelens.config import Settings
    from notelens.pipeline.service import Pipeline

    settings = Settings(
        _env_file=None, **{k.lower(): v for k, v in model_env(url, concurrency).items()}
    )
    todo = iter(range(jobs))
    async with Pipeline(settings) as pipeline:
        await pipeline.ocr(data)  # warm: the client's connection pool, the encoders

        async def client() -> None:
            for _ in todo:
                result = await pipeline.ocr(data)
                assert result.text

        start = time.monotonic()
        await asyncio.gather(*(client() for _ in range(clients)))
        return time.monotonic() - start


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def through_api(
    url: str, data: bytes, jobs: int, clients: int, concurrency: int, job_concurrency: int | None
) -> dict[str, Any]:
    import httpx

    workdir = Path(tempfile.mkdtemp(prefix="notelens-api-bench-"))
    port = free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("VLM_", "OCR_", "DATABASE_", "API_", "JOB"))
    }
    env.update(
        model_env(url, concurrency),
        API_KEYS=KEY,
        API_RATE_PER_MIN="100000",
        DATABASE_PATH=str(workdir / "data" / "notelens.db"),
        PYTHONPATH=f"{ROOT / 'src'}:{ROOT}",
    )
    if job_concurrency is not None:
        env["JOB_CONCURRENCY"] = str(job_concurrency)
    # Started once, before the load: the blocking spawn stalls nothing being measured.
    child = subprocess.Popen(  # noqa: ASYNC220
        [sys.executable, "-m", "notelens", "serve", "--port", str(port)],
        cwd=workdir,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=(workdir / "serve.log").open("w"),
    )
    base = f"http://127.0.0.1:{port}"
    posts: list[float] = []
    failed = 0
    try:
        limits = httpx.Limits(max_connections=2 * clients)
        async with httpx.AsyncClient(
            base_url=base, headers={"Authorization": f"Bearer {KEY}"}, timeout=120, limits=limits
        ) as http:
            async with asyncio.timeout(60):
                while True:
                    try:
                        if (await http.get("/readyz")).status_code == 200:
                            break
                    except httpx.TransportError:
                        await asyncio.sleep(0.1)
            # Warm: the first job pays for imports and connections, as in the baseline.
            warm = await http.post("/api/v1/ocr", files={"files": ("w.jpg", data, "image/jpeg")})
            assert warm.status_code == 200, warm.text
            todo = iter(range(jobs))

            async def client() -> None:
                nonlocal failed
                for _ in todo:
                    began = time.monotonic()
                    answer = await http.post(
                        "/api/v1/jobs",
                        files={"files": ("p.jpg", data, "image/jpeg")},
                        data={"task": "ocr"},
                    )
                    posts.append(time.monotonic() - began)
                    assert answer.status_code == 202, answer.text
                    job_id = answer.json()["id"]
                    async with http.stream("GET", f"/api/v1/jobs/{job_id}/events") as events:
                        async for line in events.aiter_lines():
                            if line == "event: done":
                                break
                    job = (await http.get(f"/api/v1/jobs/{job_id}")).json()
                    failed += job["status"] != "done"

            start = time.monotonic()
            await asyncio.gather(*(client() for _ in range(clients)))
            wall = time.monotonic() - start
        rss = peak_rss_mb(child.pid)
    finally:
        child.terminate()
        child.wait(60)
    return {"wall": wall, "posts": posts, "failed": failed, "rss": rss}


async def run(
    jobs: int, clients: int, latency: float, concurrency: int, job_concurrency: int | None
) -> dict[str, object]:
    from testsupport.fakes.openai_server import FakeOpenAI, text

    model = FakeOpenAI(responder=lambda req: text("Fake OCR text"), latency=latency).start()
    try:
        data = photo_bytes()
        base = await baseline(model.url, data, jobs, clients, concurrency)
        api = await through_api(model.url, data, jobs, clients, concurrency, job_concurrency)
    finally:
        model.stop()
    ideal = math.ceil(jobs / concurrency) * latency
    posts = api["posts"]
    return {
        "jobs": jobs,
        "clients": clients,
        "model_latency_s": latency,
        "model_concurrency": concurrency,
        "job_concurrency": job_concurrency or "default (JOB_CONCURRENCY)",
        "ideal_s": round(ideal, 2),
        "pipeline_direct_s": round(base, 2),
        "through_api_s": round(api["wall"], 2),
        "ratio_api_vs_direct": round(api["wall"] / base, 3),
        "post_jobs_p50_ms": round(statistics.median(posts) * 1000, 1),
        "post_jobs_p99_ms": round(percentile(posts, 0.99) * 1000, 1),
        "failed_jobs": api["failed"],
        "server_peak_rss_mb": round(api["rss"], 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--latency", type=float, default=1.0)
    parser.add_argument("--concurrency", type=int, default=8, help="VLM_MAX_CONCURRENCY")
    parser.add_argument("--job-concurrency", type=int, default=None, help="JOB_CONCURRENCY")
    args = parser.parse_args()
    result = asyncio.run(
        run(args.jobs, args.clients, args.latency, args.concurrency, args.job_concurrency)
    )
    for key, value in result.items():
        print(f"{key:>24}: {value}")
    ok = result["failed_jobs"] == 0 and float(result["ratio_api_vs_direct"]) <= 1.1  # type: ignore[arg-type]
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
