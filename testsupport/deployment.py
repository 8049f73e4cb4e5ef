"""Real `notelens` processes for tests and benchmarks: a PostgreSQL database of their own,
`serve` and `worker` subprocesses with their logs, their peak memory, a clean stop.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import httpx
import psycopg

ROOT = Path(__file__).resolve().parents[1]
RUNNING_ON = re.compile(r"Uvicorn running on (http://127\.0\.0\.1:\d+)")
# Settings the processes must not inherit from whoever runs them.
OWN_PREFIXES = ("VLM_", "LLM_", "OCR_", "DATABASE_", "JOBS_", "WORKER_", "JOB_", "TELEGRAM_")


def loopback_socket() -> socket.socket:
    """A socket bound to a free loopback port, for a server in this process to listen on
    (binding it here, not later, leaves no window for another test to take the port)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    return sock


def free_port() -> int:
    """A port free now, for a subprocess that must be told its port before it starts."""
    with loopback_socket() as sock:
        return int(sock.getsockname()[1])


def wait_until(check: Callable[[], Any], timeout: float, what: str, every: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := check():
            return value
        time.sleep(every)
    raise AssertionError(f"timed out waiting for {what}")


class Processes:
    """`notelens` subprocesses sharing one environment; each named (its WORKER_ID too)."""

    def __init__(self, workdir: Path, env: dict[str, str]) -> None:
        self.workdir = workdir
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(OWN_PREFIXES)}
        self.env |= {"PTB_TIMEDELTA": "true", "PYTHONPATH": f"{ROOT / 'src'}:{ROOT}", **env}
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.killed: set[str] = set()
        self._logs: list[IO[str]] = []

    def spawn(self, name: str, *args: str, **env: str) -> subprocess.Popen[bytes]:
        log = (self.workdir / f"{name}.log").open("w")
        self._logs.append(log)
        extra = {"WORKER_ID": name, **{k.upper(): v for k, v in env.items()}}
        proc = subprocess.Popen(
            [sys.executable, "-m", "notelens", *args],
            env={**self.env, **extra},
            stdout=log,
            stderr=log,
            cwd=self.workdir,
        )
        self.procs[name] = proc
        return proc

    def serve(self, name: str, port: int = 0, **env: str) -> subprocess.Popen[bytes]:
        """`serve` on `port`; by default on one it chooses itself (see `wait_ready`): a port
        picked free beforehand can be taken by another test worker before it is bound."""
        return self.spawn(name, "serve", "--host", "127.0.0.1", "--port", str(port), **env)

    def wait_ready(self, name: str, timeout: float = 90) -> str:
        """Until `serve` named `name` answers /readyz (its webhook is registered by then);
        its URL, as its log says."""
        url = ""

        def ready() -> bool:
            nonlocal url
            self.check_alive()
            found = RUNNING_ON.search((self.workdir / f"{name}.log").read_text())
            if not found:
                return False
            url = found.group(1)
            try:
                answer = httpx.get(f"{url}/readyz", timeout=2)
            except httpx.HTTPError:
                return False
            return answer.status_code == 200

        wait_until(ready, timeout, f"{name} ready")
        return url

    def wait_beating(self, db_url: str, names: set[str], timeout: float = 90) -> None:
        """Until every named process beats in the job database (it takes jobs by then)."""

        def beating() -> bool:
            self.check_alive()
            try:
                rows = query(db_url, "SELECT worker_id FROM dbos.notelens_workers")
            except psycopg.errors.UndefinedTable:
                return False
            return names <= {r[0] for r in rows}

        wait_until(beating, timeout, f"{sorted(names)} beating", every=0.2)

    def check_alive(self) -> None:
        for name, proc in self.procs.items():
            if proc.poll() is not None and name not in self.killed:
                raise AssertionError(f"{name} exited:\n{self.log(name)}")

    def log(self, name: str) -> str:
        return (self.workdir / f"{name}.log").read_text()[-4000:]

    def kill(self, name: str) -> None:
        self.killed.add(name)
        self.procs[name].send_signal(signal.SIGKILL)
        self.procs[name].wait(10)

    def peak_rss_mb(self) -> dict[str, float]:
        """Each live process's peak resident memory (VmHWM), in MB."""
        peaks = {}
        for name, proc in self.procs.items():
            with contextlib.suppress(OSError):
                for line in Path(f"/proc/{proc.pid}/status").read_text().splitlines():
                    if line.startswith("VmHWM:"):
                        peaks[name] = int(line.split()[1]) / 1024
        return peaks

    def cpu_s(self) -> dict[str, float]:
        """Each live process's CPU time so far (user + system), in seconds."""
        ticks = os.sysconf("SC_CLK_TCK")
        used = {}
        for name, proc in self.procs.items():
            with contextlib.suppress(OSError):
                fields = Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
                used[name] = (int(fields[11]) + int(fields[12])) / ticks
        return used

    def close(self, timeout: float = 60) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for log in self._logs:
            log.close()


def query(db_url: str, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    with psycopg.connect(db_url.replace("+asyncpg", "")) as conn:
        return conn.execute(sql, args).fetchall()  # type: ignore[arg-type]
