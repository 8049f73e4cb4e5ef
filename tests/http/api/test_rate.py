"""The per-key rate limit: 429 with Retry-After, counted in the database (so every process
sharing it counts the same submissions)."""

from __future__ import annotations

import time
from typing import Any

from notelens.http.api.gate import owner_of
from notelens.store import Store
from notelens.store.api_jobs import ApiJobStore
from testsupport.fakes.openai_server import FakeOpenAI

from .conftest import KEY, OTHER_KEY, files, page_png
from .test_errors import refused


async def test_the_rate_limit_is_per_key_with_retry_after(
    serve_api: Any, fake_model: FakeOpenAI
) -> None:
    api = await serve_api(API_RATE_PER_MIN="2")
    now = time.time()
    api.app.state.api.clock = lambda: now  # all in one minute, wherever it falls
    async with api.client() as mine, api.client(OTHER_KEY) as theirs:
        for _ in range(2):
            await api.submit(mine, "ocr")
        answer = await mine.post("/api/v1/jobs", files=files(page_png()), data={"task": "ocr"})
        message = refused(answer, 429, "rate_limited")
        assert 1 <= int(answer.headers["retry-after"]) <= 60
        assert answer.headers["retry-after"] in message
        # Another key has its own count; reading is never limited.
        await api.submit(theirs, "ocr")
        assert (await mine.get("/api/v1/jobs/x")).status_code == 404
    # The count is in the database: another process sharing it sees the key over its limit.
    store = await Store.from_settings(api.settings).open()
    try:
        assert await ApiJobStore(store.engine).hit(owner_of(KEY), 2, now) is not None
        assert await ApiJobStore(store.engine).hit(owner_of("key-three"), 2, now) is None
        # ...and a new minute starts a new count.
        assert await ApiJobStore(store.engine).hit(owner_of(KEY), 2, now + 60) is None
    finally:
        await store.close()
