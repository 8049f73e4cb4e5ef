"""What a checkpoint costs: one job step's stored result, on each job database.

A notes job stores one row per page OCR and per polish; this measures that row's cost
(a workflow of STEPS empty steps, minus an empty workflow) on SQLite with the default
rollback journal (the baseline), SQLite in WAL mode (what the engine uses) and
PostgreSQL (127.0.0.1:5432, a scratch database dropped after), side by side.

    python -m benchmarks.checkpoints [--steps N] [--runs R]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from dbos import DBOS

from notelens.config import Settings
from notelens.jobs._config import dbos_config, prepare_sqlite
from testsupport.postgres import pg_database


@DBOS.step(name="bench.step")
async def step(i: int) -> int:
    return i


@DBOS.workflow(name="bench.steps")
async def steps(n: int) -> int:
    return sum([await step(i) for i in range(n)])


async def measure(url: str, n_steps: int, runs: int) -> tuple[float, float]:
    """Milliseconds per empty workflow and per step (medians over `runs`)."""
    DBOS(config=dbos_config(Settings(), url))
    DBOS.launch()
    try:
        await steps(0)  # warm-up: connections, prepared statements
        empty, full = [], []
        for _ in range(runs):
            t = time.perf_counter()
            await steps(0)
            empty.append(time.perf_counter() - t)
            t = time.perf_counter()
            await steps(n_steps)
            full.append(time.perf_counter() - t)
    finally:
        await asyncio.to_thread(DBOS.destroy)
    e, f = statistics.median(empty), statistics.median(full)
    return e * 1000, (f - e) / n_steps * 1000


async def main(n_steps: int, runs: int) -> None:
    rows: list[tuple[str, float, float]] = []
    with tempfile.TemporaryDirectory() as tmp:
        rollback = f"sqlite:///{Path(tmp) / 'rollback.sqlite'}"
        rows.append(
            ("sqlite, rollback journal (baseline)", *await measure(rollback, n_steps, runs))
        )
        wal = f"sqlite:///{Path(tmp) / 'wal.sqlite'}"
        prepare_sqlite(wal)
        rows.append(("sqlite, WAL (engine)", *await measure(wal, n_steps, runs)))
    with pg_database("bench") as pg:
        rows.append(("postgresql, schema dbos", *await measure(pg, n_steps, runs)))
    base = rows[0][2]
    print(f"{n_steps} steps per workflow, median of {runs} runs")
    print(f"{'database':38} {'empty workflow':>15} {'per step':>10} {'speed-up':>10}")
    for label, wf_ms, step_ms in rows:
        print(f"{label:38} {wf_ms:12.1f} ms {step_ms:7.2f} ms {base / step_ms:9.2f}x")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    asyncio.run(main(args.steps, args.runs))
