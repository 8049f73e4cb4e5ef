"""200 photos classified by the real `notelens` CLI through a fake model with 1 s latency.

With concurrency 8 the ideal is 200 / 8 × 1 s = 25 s; the figure that matters is
how close the wall time comes to it (target: within 15%), plus peak memory.

    python -m benchmarks.throughput [--photos N] [--latency S] [--concurrency C]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from testsupport.fakes.openai_server import FakeOpenAI


def make_photos(folder: Path, count: int) -> None:
    """Distinct phone-like JPEGs (3 MP): each a different gradient, noise and tint."""
    rng = np.random.default_rng(7)
    h, w = 1500, 2000
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    ramp = (x / w * 180 + y / h * 60)[..., None]
    noise = rng.normal(0, 8, (h, w, 1)).astype(np.float32)
    for i in range(count):
        tint = rng.uniform(0.5, 1.0, 3).astype(np.float32)
        base = ramp * tint + np.roll(noise, i * 37, axis=1)
        buf = io.BytesIO()
        Image.fromarray(np.clip(base, 0, 255).astype(np.uint8)).save(buf, "JPEG", quality=88)
        (folder / f"photo-{i:03d}.jpg").write_bytes(buf.getvalue())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--photos", type=int, default=200)
    parser.add_argument("--latency", type=float, default=1.0)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    ideal = args.photos / args.concurrency * args.latency
    with tempfile.TemporaryDirectory() as tmp, FakeOpenAI(latency=args.latency) as server:
        folder = Path(tmp)
        t = time.perf_counter()
        make_photos(folder, args.photos)
        print(f"generated {args.photos} photos in {time.perf_counter() - t:.1f} s")
        env = {
            **os.environ,
            "VLM_BASE_URL": server.url,
            "VLM_API_KEY": "bench",
            "VLM_MAX_CONCURRENCY": str(args.concurrency),
        }
        exe = Path(sys.executable).parent / "notelens"
        t = time.perf_counter()
        done = subprocess.run(
            [str(exe), "classify", str(folder), "--json"], capture_output=True, text=True, env=env
        )
        wall = time.perf_counter() - t
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        rows = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
        answered = sum(1 for r in rows if r.get("category"))
        print(f"exit code               {done.returncode}")
        print(f"photos answered         {answered}/{args.photos}")
        print(f"requests to the model   {len(server.requests)}")
        print(f"most requests at once   {server.max_in_flight} (limit {args.concurrency})")
        print(f"ideal wall time         {ideal:.1f} s")
        print(f"measured wall time      {wall:.1f} s  ({wall / ideal:.3f}× the ideal)")
        print(f"overhead                {(wall / ideal - 1) * 100:.1f}% (target ≤ 15%)")
        if server.requests:
            window = server.requests[-1].at - server.requests[0].at + args.latency
            print(
                f"first to last request   {window:.1f} s  ({window / ideal:.3f}× the ideal; "
                f"the rest is start-up: interpreter, imports, first decode)"
            )
        print(f"load average (1 min)    {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
        print(f"peak memory of the CLI  {peak_mb:.0f} MB")
        if done.returncode != 0:
            print(done.stderr[-2000:])


if __name__ == "__main__":
    main()
