"""A worker process for the kill, deploy and takeover tests.

    python -m tests.jobs.worker_app OUT [JOBS.json]

Settings come from the environment. Each delivered outcome is appended to OUT as a JSON
line; jobs listed in JOBS.json ([{"job_id", "chat_id", "task", "media": [file names]}])
are submitted after the start. Prints "ready" once it takes jobs; SIGTERM stops it with
the grace period.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

from notelens.config import Settings
from notelens.jobs import DirectoryMedia, Job, JobEngine, JobOutcome, MediaRef


def deliverer(out: Path):  # type: ignore[no-untyped-def]
    async def deliver(job: Job, outcome: JobOutcome) -> None:
        pages = [p.ocr_text for r in outcome.results for p in getattr(r, "pages", [])]
        line = json.dumps({"job_id": outcome.job_id, "ok": outcome.ok, "pages": pages})
        with out.open("a") as f:
            f.write(line + "\n")
            f.flush()
            os.fsync(f.fileno())

    return deliver


async def main(out: Path, jobs: list[dict[str, Any]]) -> None:
    engine = JobEngine(
        Settings(), media=DirectoryMedia(Path(os.environ["UPLOADS"])), deliver=deliverer(out)
    )
    await engine.start()
    stopping = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stopping.set)
    for spec in jobs:
        media = [MediaRef(file_id=name, kind="image") for name in spec["media"]]
        job = Job(user_id=spec["chat_id"], chat_id=spec["chat_id"], task="notes", media=media)
        await engine.submit(spec["job_id"], job)
    print("ready", flush=True)
    await stopping.wait()
    began = time.monotonic()
    await engine.stop()
    print(f"stopped in {time.monotonic() - began:.2f} s", file=sys.stderr, flush=True)


if __name__ == "__main__":
    specs = json.loads(Path(sys.argv[2]).read_text()) if len(sys.argv) > 2 else []
    asyncio.run(main(Path(sys.argv[1]), specs))
