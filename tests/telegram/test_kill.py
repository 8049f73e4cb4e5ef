"""`notelens bot` killed with SIGKILL mid-work and restarted: every photo is answered, and a
notes job resumes at its first unread page (the model is asked again only for the page in
flight when the process died)."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
from pathlib import Path

from testsupport.fakes.openai_server import FakeOpenAI
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


async def test_sigkill_mid_notes_resumes_and_every_photo_is_answered(
    tmp_path: Path, tg: FakeTelegram, fake_model: FakeOpenAI
) -> None:
    fake_model.latency = 0.4
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VLM_", "OCR_", "DATABASE_"))}
    env |= {
        **tg.env(),
        "VLM_BASE_URL": fake_model.url,
        "VLM_API_KEY": "sk-test-secret-model-key",
        "VLM_MAX_CONCURRENCY": "1",  # pages are read one at a time: at most one in flight
        "OCR_ENGINE": "vlm",
        "DATABASE_PATH": str(tmp_path / "notelens.db"),
        "PTB_TIMEDELTA": "true",
        "PYTHONPATH": f"{ROOT / 'src'}:{ROOT}",
    }
    log = (tmp_path / "bot.log").open("w")

    def start() -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [sys.executable, "-m", "notelens", "bot"], env=env, stdout=log, stderr=log
        )

    photo, pages = multi_page_photo()
    first = start()
    try:
        await tg.wait_for(lambda f: f.get_updates_calls > 0, timeout=60)
        tg.send_photo(photo, ALICE, caption="/notes")
        for _ in range(3):
            tg.send_photo(jpeg(), BOB, caption="/captcha")
        # Pages are read one at a time: when the third read starts, two are stored.
        await tg.wait_for(lambda f: page_reads(fake_model) >= 3, timeout=120)
        first.send_signal(signal.SIGKILL)
        first.wait(30)
        reads_before = page_reads(fake_model)
        second = start()
        try:
            await tg.wait_for(lambda f: f.calls_of("sendDocument", ALICE["id"]), timeout=180)
            answers = await tg.wait_sent(BOB["id"], 3, timeout=120)
        finally:
            second.send_signal(signal.SIGTERM)
            second.wait(60)
    finally:
        if first.poll() is None:
            first.kill()
        log.close()
    [doc] = tg.calls_of("sendDocument", ALICE["id"])
    markdown = (doc.document or ("", b""))[1].decode()
    assert markdown.count("## ") >= pages  # every page is in the document
    assert all("AB12" in a.text for a in answers)
    # No page read twice but the one in flight when the process died.
    assert reads_before >= 3
    assert page_reads(fake_model) <= pages + 1, (tmp_path / "bot.log").read_text()[-3000:]
    assert second.returncode == 0
