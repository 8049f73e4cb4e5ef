"""The scaled-out deployment, for real: PostgreSQL, two `notelens serve` behind a proxy that
takes turns between them, two `notelens worker`, the fake Telegram posting by webhook.

- an album whose items reach different `serve` processes is one job over all its photos;
- a webhook call without the secret stores nothing;
- a worker killed with SIGKILL and not restarted: its started jobs finish on the others
  once it has been silent for WORKER_SILENCE_S, and each person's replies keep their order.

The processes are started once for the module (the tests run in this order).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import httpx
import psycopg
import pytest

from notelens.http.app import WEBHOOK_PATH
from testsupport.fakes.openai_server import FakeOpenAI
from testsupport.fakes.telegram_server import FakeTelegram, user
from testsupport.proxy import RoundRobinProxy

from ..jobs.conftest import PG_ADMIN
from ..telegram.conftest import jpeg

ROOT = Path(__file__).resolve().parents[2]
SECRET = "deployment-webhook-secret-42"
SILENCE_S = 3
MODEL_LATENCY_S = 0.8


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(check: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := check():
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


class Deployment:
    def __init__(self, tmp: Path, db_url: str, tg: FakeTelegram, model: FakeOpenAI) -> None:
        self.tmp, self.db_url, self.tg, self.model = tmp, db_url, tg, model
        self.ports = [free_port(), free_port()]
        self.proxy = RoundRobinProxy([f"http://127.0.0.1:{p}" for p in self.ports]).start()
        self.env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("VLM_", "OCR_", "DATABASE_", "WORKER_", "JOB"))
        }
        self.env |= {
            **tg.env(),
            "VLM_BASE_URL": model.url,
            "VLM_API_KEY": "sk-test-secret-model-key",
            "VLM_TIMEOUT_S": "20",
            "OCR_ENGINE": "vlm",
            "DATABASE_URL": db_url,
            "PUBLIC_URL": self.proxy.base,
            "WEBHOOK_SECRET": SECRET,
            "WORKER_SILENCE_S": str(SILENCE_S),
            "ALBUM_WAIT_S": "1",
            "PTB_TIMEDELTA": "true",
            "PYTHONPATH": f"{ROOT / 'src'}:{ROOT}",
        }
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.logs: list[IO[str]] = []
        self.killed: set[str] = set()

    def spawn(self, name: str, *args: str) -> None:
        log = (self.tmp / f"{name}.log").open("w")
        self.logs.append(log)
        self.procs[name] = subprocess.Popen(
            [sys.executable, "-m", "notelens", *args],
            env={**self.env, "WORKER_ID": name},
            stdout=log,
            stderr=log,
            cwd=self.tmp,
        )

    def start(self) -> None:
        for i, port in enumerate(self.ports, 1):
            self.spawn(f"serve-{i}", "serve", "--host", "127.0.0.1", "--port", str(port))
        for i in (1, 2):
            self.spawn(f"worker-{i}", "worker")
        for port in self.ports:
            wait_until(lambda p=port: self.ready(p), 90, f"serve on port {port}")
        wait_until(lambda: len(self.beating()) == 4, 90, "four workers beating")

    def ready(self, port: int) -> bool:
        self.check_alive()
        try:
            answer = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2)
        except httpx.HTTPError:
            return False
        return answer.status_code == 200

    def check_alive(self) -> None:
        for name, proc in self.procs.items():
            if proc.poll() is not None and name not in self.killed:
                raise AssertionError(f"{name} exited:\n{self.log(name)}")

    def log(self, name: str) -> str:
        return (self.tmp / f"{name}.log").read_text()[-4000:]

    def query(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.db_url.replace("+asyncpg", "")) as conn:
            return conn.execute(sql, args).fetchall()  # type: ignore[arg-type]

    def beating(self) -> set[str]:
        try:
            return {r[0] for r in self.query("SELECT worker_id FROM dbos.notelens_workers")}
        except psycopg.errors.UndefinedTable:
            return set()

    def close(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for log in self.logs:
            log.close()
        self.proxy.stop()


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    name = f"notelens_deploy_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    with FakeTelegram() as tg, FakeOpenAI(latency=MODEL_LATENCY_S) as model:
        d = Deployment(
            tmp_path_factory.mktemp("deployment"),
            f"postgresql://postgres@127.0.0.1:5432/{name}",
            tg,
            model,
        )
        try:
            d.start()
            yield d
        finally:
            d.close()
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_an_album_whose_items_reach_two_processes_is_one_job(deployment: Deployment) -> None:
    tg = deployment.tg
    alice = user(3001)
    [first, *_] = tg.send_album([jpeg(), jpeg(), jpeg()], alice, caption="/classify")
    album = first["media_group_id"]
    wait_until(lambda: tg.sent(alice["id"]), 60, "the album's answer")
    [reply] = tg.sent(alice["id"])
    assert [line[:3] for line in reply.text.splitlines()] == ["1. ", "2. ", "3. "], reply.text
    took = deployment.proxy.upstreams_where(
        lambda body: body.get("message", {}).get("media_group_id") == album
    )
    assert took == {0, 1}  # both serve processes took items of it


def test_a_webhook_call_without_the_secret_stores_nothing(deployment: Deployment) -> None:
    update_id = 900_000_001
    update = {
        "update_id": update_id,
        "message": {
            "message_id": 1,
            "date": int(time.time()),
            "chat": {"id": 3002, "type": "private"},
            "from": user(3002),
            "photo": [{"file_id": "FILE-none", "file_unique_id": "u1", "width": 9, "height": 9}],
            "caption": "/ocr",
            "caption_entities": [{"type": "bot_command", "offset": 0, "length": 4}],
        },
    }
    jobs_before = deployment.query("SELECT count(*) FROM jobs")
    url = deployment.proxy.base + WEBHOOK_PATH
    for headers in ({}, {"X-Telegram-Bot-Api-Secret-Token": "wrong"}):
        answer = httpx.post(url, json=update, headers=headers, timeout=10)
        assert answer.status_code in (401, 403)
    # The webhook answers only after an update is stored, so nothing can still be coming.
    assert deployment.query("SELECT count(*) FROM jobs") == jobs_before
    workflows = deployment.query(
        "SELECT count(*) FROM dbos.workflow_status WHERE workflow_uuid LIKE %s",
        f"tg-{update_id:012d}%",
    )
    assert workflows == [(0,)]
    assert deployment.tg.sent(3002) == []


def test_a_killed_workers_jobs_finish_on_the_others_in_each_persons_order(
    deployment: Deployment,
) -> None:
    tg = deployment.tg
    people = [user(4001 + i) for i in range(6)]
    sent: dict[int, list[int]] = {}
    for _ in range(3):
        for who in people:
            photo = tg.send_photo(jpeg(), who, caption="/captcha")
            sent.setdefault(who["id"], []).append(photo["message_id"])
    victim = deployment.procs["worker-1"]
    started = wait_until(
        lambda: deployment.query(
            "SELECT workflow_uuid FROM dbos.workflow_status"
            " WHERE executor_id = 'worker-1' AND status = 'PENDING'"
        ),
        60,
        "worker-1 to start a job",
    )
    deployment.killed.add("worker-1")
    victim.send_signal(signal.SIGKILL)
    victim.wait(10)
    killed_at = time.monotonic()
    orphans = [row[0] for row in started]
    for who in people:
        wait_until(lambda w=who: len(_first_replies(tg, w["id"])) >= 3, 60, "the replies")
    took = time.monotonic() - killed_at
    assert took < 60
    for who in people:
        assert _first_replies(tg, who["id"]) == sent[who["id"]]  # in the order sent
        assert all("AB12" in c.text for c in tg.sent(who["id"]))
    done = deployment.query(
        "SELECT workflow_uuid, status, executor_id FROM dbos.workflow_status"
        " WHERE workflow_uuid = ANY(%s)",
        orphans,
    )
    assert done and all(status == "SUCCESS" and ex != "worker-1" for _, status, ex in done)
    duplicates = sum(len(tg.sent(w["id"])) for w in people) - 3 * len(people)
    print(
        f"taken over: {len(orphans)} jobs, all answered {took:.1f} s after the kill; "
        f"repeated replies: {duplicates}"
    )


def _first_replies(tg: FakeTelegram, chat_id: int) -> list[int]:
    """The photos answered, in the order of their first answer (a repeat is not a new one)."""
    seen: list[int] = []
    for call in tg.sent(chat_id):
        if call.reply_to is not None and call.reply_to not in seen:
            seen.append(call.reply_to)
    return seen
