"""The scaled-out deployment, for real: PostgreSQL, two `notelens serve` behind a proxy that
takes turns between them, two `notelens worker`, the fake Telegram posting by webhook.

- an album whose items reach different `serve` processes is one job over all its photos;
- a webhook call without the secret stores nothing;
- a worker killed with SIGKILL and not restarted: its started jobs finish on the others
  once it has been silent for WORKER_SILENCE_S, and each person's replies keep their order.

One test (so one deployment, whichever xdist worker runs it), in three parts.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from notelens.http.app import WEBHOOK_PATH
from testsupport.deployment import Processes, query, wait_until
from testsupport.fakes.openai_server import FakeOpenAI
from testsupport.fakes.telegram_server import FakeTelegram, user
from testsupport.postgres import pg_database
from testsupport.proxy import RoundRobinProxy

from ..telegram.conftest import jpeg

SECRET = "deployment-webhook-secret-42"
SILENCE_S = 3
MODEL_LATENCY_S = 0.8


class Deployment:
    """Two `serve` behind the proxy, two `worker`, one PostgreSQL database."""

    def __init__(self, workdir: Path, db_url: str, tg: FakeTelegram, model: FakeOpenAI) -> None:
        self.db_url, self.tg, self.model = db_url, tg, model
        # the two serve processes' URLs, filled in once they have chosen their ports
        self.proxy = RoundRobinProxy(["", ""]).start()
        self.procs = Processes(
            workdir,
            {
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
            },
        )

    def start(self) -> None:
        for i in (1, 2):
            self.procs.serve(f"serve-{i}")
        for i in (1, 2):
            self.procs.spawn(f"worker-{i}", "worker")
        self.proxy.upstreams[:] = [self.procs.wait_ready(f"serve-{i}") for i in (1, 2)]
        self.procs.wait_beating(self.db_url, {"serve-1", "serve-2", "worker-1", "worker-2"})

    def query(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        return query(self.db_url, sql, *args)

    def close(self) -> None:
        self.procs.close(30)
        self.proxy.stop()


@pytest.fixture
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    with (
        pg_database("notelens_deploy") as db_url,
        FakeTelegram() as tg,
        FakeOpenAI(latency=MODEL_LATENCY_S) as model,
    ):
        d = Deployment(tmp_path_factory.mktemp("deployment"), db_url, tg, model)
        try:
            d.start()
            yield d
        finally:
            d.close()


def test_the_scaled_out_deployment(deployment: Deployment) -> None:
    an_album_whose_items_reach_two_processes_is_one_job(deployment)
    a_webhook_call_without_the_secret_stores_nothing(deployment)
    a_killed_workers_jobs_finish_on_the_others_in_each_persons_order(deployment)


def an_album_whose_items_reach_two_processes_is_one_job(deployment: Deployment) -> None:
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


def a_webhook_call_without_the_secret_stores_nothing(deployment: Deployment) -> None:
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


def a_killed_workers_jobs_finish_on_the_others_in_each_persons_order(
    deployment: Deployment,
) -> None:
    tg = deployment.tg
    people = [user(4001 + i) for i in range(6)]
    sent: dict[int, list[int]] = {}
    for _ in range(3):
        for who in people:
            photo = tg.send_photo(jpeg(), who, caption="/captcha")
            sent.setdefault(who["id"], []).append(photo["message_id"])
    started = wait_until(
        lambda: deployment.query(
            "SELECT workflow_uuid FROM dbos.workflow_status"
            " WHERE executor_id = 'worker-1' AND status = 'PENDING'"
        ),
        60,
        "worker-1 to start a job",
    )
    deployment.procs.kill("worker-1")
    killed_at = time.monotonic()
    orphans = [row[0] for row in started]
    for who in people:
        wait_until(lambda w=who: len(_first_replies(tg, w["id"])) >= 3, 60, "the replies")
    took = time.monotonic() - killed_at
    assert took < 60
    for who in people:
        assert _first_replies(tg, who["id"]) == sent[who["id"]]  # in the order sent
        assert all("AB12" in c.text for c in tg.sent(who["id"]))
    # The reply is sent a moment before the job's end is recorded.
    done = wait_until(
        lambda: (
            (
                rows := deployment.query(
                    "SELECT status, executor_id FROM dbos.workflow_status"
                    " WHERE workflow_uuid = ANY(%s)",
                    orphans,
                )
            )
            and all(status == "SUCCESS" for status, _ in rows)
            and rows
        ),
        30,
        "the taken-over jobs to end",
    )
    assert len(done) == len(orphans) and all(ex != "worker-1" for _, ex in done)
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
