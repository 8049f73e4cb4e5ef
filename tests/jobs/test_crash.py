"""Real worker processes killed, restarted, redeployed and replaced, on both databases.

Each test runs `tests/jobs/worker_app.py` as a subprocess against the fake model server
and a fresh job database, and counts the model's OCR calls per page.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from dbos import DBOSClient

from notelens.config import Settings
from notelens.jobs._config import jobs_database_url
from notelens.jobs._workflows import MODEL_QUEUE
from testsupport.fakes.openai_server import FakeOpenAI

from ..conftest import model_env
from .conftest import by_page, ocr_calls_per_page, store_pages

ROOT = Path(__file__).resolve().parents[2]
APP = Path(__file__).with_name("worker_app.py")
# Past the grace period: DBOS waits in whole seconds, then the interpreter exits (slow on a
# loaded test machine). The worker logs how long its own stop took ("stopped in").
EXIT_MARGIN_S = 5


def wait_until(check: Callable[[], Any], timeout: float = 60, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := check():
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what or check}")


class Cluster:
    """Worker processes sharing one job database, one fake model and one upload folder."""

    def __init__(self, tmp: Path, env: dict[str, str], model: FakeOpenAI) -> None:
        self.tmp, self.model = tmp, model
        self.out = tmp / "delivered.jsonl"
        self.uploads = tmp / "uploads"
        self.env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("VLM_", "LLM_", "OCR_", "DATABASE_", "JOBS_", "WORKER_"))
        }
        self.env.update(model_env(model, vlm_max_concurrency=2, vlm_timeout_s=20))
        self.env.update(env, UPLOADS=str(self.uploads), PYTHONPATH=f"{ROOT / 'src'}:{ROOT}")
        settings = Settings(**{k.lower(): v for k, v in env.items()})
        self.client = DBOSClient(system_database_url=jobs_database_url(settings), lazy=True)
        self.procs: list[subprocess.Popen[str]] = []
        self.logs: list[Any] = []

    def start(
        self, jobs: list[dict[str, Any]] | None = None, app: Path = APP, **env: str
    ) -> subprocess.Popen[str]:
        args = [sys.executable, str(app), str(self.out)]
        if jobs:
            spec = self.tmp / f"jobs{len(self.procs)}.json"
            spec.write_text(json.dumps(jobs))
            args.append(str(spec))
        log = (self.tmp / f"worker{len(self.procs)}.log").open("w")
        self.logs.append(log)
        proc = subprocess.Popen(
            args,
            env={**self.env, **{k.upper(): v for k, v in env.items()}},
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            cwd=self.tmp,
        )
        self.procs.append(proc)
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready", (self.tmp / "worker0.log").read_text()
        return proc

    def delivered(self) -> dict[str, dict[str, Any]]:
        if not self.out.exists():
            return {}
        lines = [json.loads(line) for line in self.out.read_text().splitlines()]
        return {d["job_id"]: d for d in lines}

    def checkpointed_pages(self, job_id: str) -> set[int]:
        """Pages whose OCR step result is stored."""
        steps = self.client.list_workflow_steps(job_id) or []
        return {
            int(s["output"][0].ocr_text.rsplit(" ", 1)[1])
            for s in steps
            if s["function_name"] == "notelens.ocr_page" and s["output"] is not None
        }

    def kill_mid_job(self, worker: subprocess.Popen[str], job_id: str) -> set[int]:
        """SIGKILL the worker once a page of the job is stored; the pages stored at its death."""
        wait_until(lambda: self.checkpointed_pages(job_id), what="a page read")
        worker.send_signal(signal.SIGKILL)
        worker.wait()
        return self.checkpointed_pages(job_id)

    def close(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
            if proc.stdout:
                proc.stdout.close()
        for log in self.logs:
            log.close()
        self.client.destroy()


@pytest.fixture
def cluster(tmp_path: Path, jobs_env: dict[str, str], fake_model: FakeOpenAI) -> Iterator[Cluster]:
    fake_model.responder = by_page(delay=0.4)
    c = Cluster(tmp_path, jobs_env, fake_model)
    store_pages(c.uploads, range(7))
    try:
        yield c
    finally:
        c.close()


def notes_job(job_id: str, pages: range, chat_id: int = 5) -> dict[str, Any]:
    return {"job_id": job_id, "chat_id": chat_id, "media": [f"page{n}.png" for n in pages]}


def assert_read_once(cluster: Cluster, stored_at_kill: set[int], pages: range) -> None:
    """Pages whose result was stored when the worker died were asked once; the others at
    most twice (asked, but killed before their result was stored)."""
    calls = ocr_calls_per_page(cluster.model)
    assert set(calls) == set(pages)
    assert stored_at_kill and all(calls[n] == 1 for n in stored_at_kill), calls
    assert all(calls[n] <= 2 for n in pages), calls


def test_sigkill_mid_job_resumes_at_the_first_unfinished_page(cluster: Cluster) -> None:
    job = notes_job("tg-000000000001", range(6))
    worker = cluster.start([job])
    done = cluster.kill_mid_job(worker, job["job_id"])
    assert job["job_id"] not in cluster.delivered()
    cluster.start()  # same WORKER_ID: DBOS recovers its own unfinished workflow
    result = wait_until(lambda: cluster.delivered().get(job["job_id"]), what="the reply")
    assert result["ok"] and result["pages"] == [f"text of page {n}" for n in range(6)]
    assert_read_once(cluster, done, range(6))


def test_unfinished_jobs_finish_after_a_deploy_with_changed_code(cluster: Cluster) -> None:
    """Same APP_VERSION, different code: DBOS's default version (a hash of the workflow
    code) would differ and strand the job; ours is explicit."""
    job = notes_job("tg-000000000001", range(6))
    worker = cluster.start([job])
    done = cluster.kill_mid_job(worker, job["job_id"])
    changed = cluster.tmp / "worker_app_v2.py"
    shutil.copy(APP, changed)
    with changed.open("a") as f:  # a new workflow: what a deploy changes
        f.write(
            "\nfrom dbos import DBOS\n\n\n@DBOS.workflow(name='notelens.new_feature')\n"
            "async def new_feature() -> str:\n    return 'new'\n"
        )
    cluster.start(app=changed)
    result = wait_until(lambda: cluster.delivered().get(job["job_id"]), what="the reply")
    assert result["ok"]
    assert_read_once(cluster, done, range(6))


def test_a_version_bump_restarts_the_old_versions_jobs(cluster: Cluster) -> None:
    job = notes_job("tg-000000000001", range(4))
    worker = cluster.start([job], app_version="1")
    cluster.kill_mid_job(worker, job["job_id"])
    cluster.start(app_version="2")  # same WORKER_ID, so version 1 has no live worker
    result = wait_until(lambda: cluster.delivered().get("tg-000000000001~2"), what="the reply")
    assert result["ok"] and len(result["pages"]) == 4
    old = cluster.client.retrieve_workflow(job["job_id"]).get_status()
    assert old.status == "CANCELLED"


def test_a_dead_workers_started_job_is_taken_over(cluster: Cluster) -> None:
    job = notes_job("tg-000000000001", range(6))
    later = notes_job("tg-000000000002", range(6, 7))  # same chat: waits behind the first
    dead = cluster.start([job, later], worker_id="a", worker_silence_s="2")
    done = cluster.kill_mid_job(dead, job["job_id"])
    cluster.start(worker_id="b", worker_silence_s="2")
    delivered = wait_until(
        lambda: len(cluster.delivered()) == 2 and cluster.delivered(), what="both replies"
    )
    assert delivered[job["job_id"]]["ok"] and delivered[later["job_id"]]["ok"]
    lines = cluster.out.read_text().splitlines()
    assert [json.loads(x)["job_id"] for x in lines] == [job["job_id"], later["job_id"]]
    status = cluster.client.retrieve_workflow(job["job_id"]).get_status()
    assert status.executor_id == "b"
    assert_read_once(cluster, done, range(7))


def test_sigterm_finishes_running_jobs_and_leaves_queued_ones_for_the_next_start(
    cluster: Cluster,
) -> None:
    running = notes_job("tg-000000000001", range(2))
    queued = notes_job("tg-000000000002", range(2, 4))  # same chat: not started yet
    worker = cluster.start([running, queued], shutdown_grace_s="10")
    wait_until(lambda: cluster.checkpointed_pages(running["job_id"]), what="a page read")
    started = time.monotonic()
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=15) == 0
    assert time.monotonic() - started < 10 + EXIT_MARGIN_S
    delivered = cluster.delivered()
    assert delivered[running["job_id"]]["ok"]
    assert queued["job_id"] not in delivered
    cluster.start()
    wait_until(lambda: queued["job_id"] in cluster.delivered(), what="the queued job")
    assert ocr_calls_per_page(cluster.model) == {0: 1, 1: 1, 2: 1, 3: 1}


def test_sigterm_past_the_grace_period_exits_and_the_job_resumes(cluster: Cluster) -> None:
    job = notes_job("tg-000000000001", range(6))  # 6 pages, 2 at a time, 1 s each: ~3 s
    cluster.model.responder = by_page(delay=1.0)
    worker = cluster.start([job], shutdown_grace_s="1")
    wait_until(lambda: cluster.checkpointed_pages(job["job_id"]), what="a page read")
    started = time.monotonic()
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=15) == 0
    done = cluster.checkpointed_pages(job["job_id"])
    assert time.monotonic() - started < 1 + EXIT_MARGIN_S
    assert job["job_id"] not in cluster.delivered()
    cluster.model.responder = by_page(delay=0.0)
    cluster.start()
    result = wait_until(lambda: cluster.delivered().get(job["job_id"]), what="the reply")
    assert result["ok"] and result["pages"] == [f"text of page {n}" for n in range(6)]
    assert_read_once(cluster, done, range(6))


@pytest.mark.parametrize("jobs_env", ["postgres"], indirect=True)
def test_the_model_rate_limit_holds_for_the_whole_deployment(cluster: Cluster) -> None:
    """Two workers, one job each, every model request (OCR and polish) behind a permit from
    DBOS's queue limiter: together they make at most MODEL_RATE_LIMIT requests a period.
    On PostgreSQL, where a deployment's processes meet: the limiter's count and claim are
    one serializable transaction there (on SQLite two processes can race past it)."""
    limit, period = 3, 2.0
    cluster.model.responder = by_page(delay=0.0)
    # Supervision (every WORKER_SILENCE_S / 4) forgets permits two periods old: keep it away
    # from a slow run so that every permit can be counted.
    env = {"model_rate_limit": str(limit), "model_rate_period_s": str(period)}
    env["worker_silence_s"] = "600"
    jobs = [notes_job("tg-000000000001", range(3), chat_id=1)]
    jobs.append(notes_job("tg-000000000002", range(3, 6), chat_id=2))
    cluster.start(worker_id="b", job_concurrency="1", **env)
    cluster.start(jobs, worker_id="a", job_concurrency="1", **env)  # one job each
    delivered = wait_until(lambda: len(cluster.delivered()) == 2 and cluster.delivered())
    assert all(d["ok"] and len(d["pages"]) == 3 for d in delivered.values())
    runners = {cluster.client.retrieve_workflow(j["job_id"]).get_status().executor_id for j in jobs}
    assert runners == {"a", "b"}  # both workers asked the model
    assert len(cluster.model.requests) == 12  # six pages read, six polished
    permits = cluster.client.list_workflows(queue_name=MODEL_QUEUE, load_input=False)
    assert len(permits) == 12  # one per request
    # When DBOS started them (the database's clock, in ms): any `limit + 1` span a period.
    starts = sorted(p.dequeued_at or 0 for p in permits)
    spans = [(starts[i + limit] - starts[i]) / 1000 for i in range(len(starts) - limit)]
    assert min(spans) >= period - 0.05, spans
