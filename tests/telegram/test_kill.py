"""`notelens bot` killed with SIGKILL, or stopped with SIGTERM, mid-work and restarted: every
photo is answered; a notes job resumes at its first unread page (the model is asked again
only for the page in flight when the process died); SIGTERM exits within the grace period."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import pytest

from testsupport.fakes.openai_server import FakeOpenAI, Recorded, Reply, default_responder
from testsupport.fakes.telegram_server import FakeTelegram, user
from testsupport.imagegen.pages import stitched

from .conftest import jpeg

ROOT = Path(__file__).resolve().parents[2]
ALICE, BOB = user(1001), user(1002)
OCR_PROMPT = "Read all the text in the image"


def multi_page_photo(pages: int = 4) -> tuple[bytes, int]:
    """A stitched strip of `pages` pages (the splitter cuts it at its gaps)."""
    for seed in range(200):
        sample = stitched(seed)
        if len(sample.quads) == pages:
            buf = io.BytesIO()
            sample.image.convert("RGB").save(buf, format="JPEG", quality=90)
            return buf.getvalue(), pages
    raise AssertionError("no stitched sample with that many pages")


def page_reads(model: FakeOpenAI) -> int:
    return sum(OCR_PROMPT in r.texts for r in model.requests)


class Bots:
    """`notelens bot` subprocesses against the fakes, one database, one log file."""

    def __init__(self, tmp_path: Path, tg: FakeTelegram, model: FakeOpenAI) -> None:
        self.env = {
            k: v for k, v in os.environ.items() if not k.startswith(("VLM_", "OCR_", "DATABASE_"))
        }
        self.env |= {
            **tg.env(),
            "VLM_BASE_URL": model.url,
            "VLM_API_KEY": "sk-test-secret-model-key",
            "OCR_ENGINE": "vlm",
            "DATABASE_PATH": str(tmp_path / "notelens.db"),
            "PTB_TIMEDELTA": "true",
            "PYTHONPATH": f"{ROOT / 'src'}:{ROOT}",
        }
        self.log_path = tmp_path / "bot.log"
        self.log: IO[str] = self.log_path.open("w")
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self, **env: str) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(
            [sys.executable, "-m", "notelens", "bot"],
            env={**self.env, **{k.upper(): v for k, v in env.items()}},
            stdout=self.log,
            stderr=self.log,
        )
        self.procs.append(proc)
        return proc

    def tail(self) -> str:
        return self.log_path.read_text()[-3000:]

    def close(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
        self.log.close()


@pytest.fixture
def bots(tmp_path: Path, tg: FakeTelegram, fake_model: FakeOpenAI) -> Iterator[Bots]:
    b = Bots(tmp_path, tg, fake_model)
    try:
        yield b
    finally:
        b.close()


async def test_sigkill_mid_notes_resumes_and_every_photo_is_answered(
    bots: Bots, tg: FakeTelegram, fake_model: FakeOpenAI
) -> None:
    fake_model.latency = 0.4
    photo, pages = multi_page_photo()
    # Pages are read one at a time: at most one in flight.
    first = bots.start(vlm_max_concurrency="1")
    await tg.wait_for(lambda f: f.get_updates_calls > 0, timeout=60)
    tg.send_photo(photo, ALICE, caption="/notes")
    for _ in range(3):
        tg.send_photo(jpeg(), BOB, caption="/captcha")
    # Pages are read one at a time: when the third read starts, two are stored.
    await tg.wait_for(lambda f: page_reads(fake_model) >= 3, timeout=120)
    first.send_signal(signal.SIGKILL)
    first.wait(30)
    reads_before = page_reads(fake_model)
    second = bots.start(vlm_max_concurrency="1")
    try:
        await tg.wait_for(lambda f: f.calls_of("sendDocument", ALICE["id"]), timeout=180)
        answers = await tg.wait_sent(BOB["id"], 3, timeout=120)
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(60)
    [doc] = tg.calls_of("sendDocument", ALICE["id"])
    markdown = (doc.document or ("", b""))[1].decode()
    assert markdown.count("## ") >= pages  # every page is in the document
    assert all("AB12" in a.text for a in answers)
    # No page read twice but the one in flight when the process died.
    assert reads_before >= 3
    assert page_reads(fake_model) <= pages + 1, bots.tail()
    assert second.returncode == 0


# Past the grace period: DBOS waits in whole seconds, then the interpreter exits (slow on a
# loaded test machine).
EXIT_MARGIN_S = 5
FAST_S, SLOW_S, GRACE_S = 1.5, 30.0, 4
OCR_TEXT = "Fake OCR text"


def slow_ocr(req: Recorded) -> Reply:
    """Captchas are read in FAST_S, whole pages (`/ocr`) in SLOW_S: past the grace period."""
    reply = default_responder(req)
    reply.delay = SLOW_S if OCR_PROMPT in req.texts else FAST_S
    return reply


async def test_sigterm_finishes_running_jobs_within_the_grace_and_the_rest_after_a_restart(
    bots: Bots, tg: FakeTelegram, fake_model: FakeOpenAI
) -> None:
    """5 jobs running (3 that finish within SHUTDOWN_GRACE_S, 2 that cannot) and 2 queued
    (JOB_CONCURRENCY=5), then SIGTERM: the process exits within the grace period, having
    answered the 3; the other 4 are answered after the next start, and nobody hears of a
    failure."""
    fake_model.responder = slow_ocr
    first = bots.start(job_concurrency="5", shutdown_grace_s=str(GRACE_S))
    await tg.wait_for(lambda f: f.get_updates_calls > 0, timeout=60)
    slow, fast = [user(2001 + i) for i in range(2)], [user(2011 + i) for i in range(5)]
    for who in slow:
        tg.send_photo(jpeg(), who, caption="/ocr")
    await tg.wait_for(lambda f: fake_model.in_flight == 2, timeout=60)
    for who in fast:  # three start (different people run in parallel), two wait
        tg.send_photo(jpeg(), who, caption="/captcha")
    await tg.wait_for(lambda f: fake_model.in_flight == 5, timeout=60)
    assert len(fake_model.requests) == 5  # two queued behind JOB_CONCURRENCY
    stopped_at = time.monotonic()
    first.send_signal(signal.SIGTERM)
    assert first.wait(GRACE_S + EXIT_MARGIN_S + 10) == 0, bots.tail()
    took = time.monotonic() - stopped_at
    assert took < GRACE_S + EXIT_MARGIN_S, (took, bots.tail())
    answered = [c.chat_id for c in tg.sent()]
    assert len(answered) == 3 and set(answered) <= {u["id"] for u in fast}, tg.summary()
    assert len(fake_model.requests) == 5  # nothing started after SIGTERM

    fake_model.responder = default_responder
    second = bots.start(job_concurrency="5")
    try:
        for who in slow + fast:
            [reply] = await tg.wait_sent(who["id"], timeout=60)
            assert ("AB12" if who in fast else OCR_TEXT) in reply.text, tg.summary()
    finally:
        second.send_signal(signal.SIGTERM)
        assert second.wait(60) == 0
    assert all(len(tg.sent(u["id"])) == 1 for u in slow + fast), tg.summary()
    # The two cut off were asked again; the two queued once; the three done not again.
    assert len(fake_model.requests) == 5 + 4
