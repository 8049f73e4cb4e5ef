"""Jobs through the API: every task on the real pipeline (fake model), progress as events,
the notes document, deletion, and one key never reaching another key's jobs."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote

import httpx
import pytest
import sqlalchemy as sa

from notelens.i18n import plain
from notelens.store.api_schema import api_jobs, api_uploads
from testsupport.fakes.openai_server import FakeOpenAI, default_responder, error, text

from .conftest import OTHER_KEY, Api, files, page_png, pdf_of

pytestmark = pytest.mark.asyncio(loop_scope="module")


async def test_an_ocr_job_is_accepted_then_done_with_its_text_and_usage(
    shared_api: Api, fresh_model: FakeOpenAI
) -> None:
    async with shared_api.client() as client:
        answer = await client.post(
            "/api/v1/jobs", files=files(page_png()), data={"task": "ocr", "language": "en"}
        )
        assert answer.status_code == 202
        accepted = answer.json()
        assert accepted["status"] == "queued" and len(accepted["id"]) >= 20
        assert answer.headers["location"] == f"/api/v1/jobs/{accepted['id']}"
        job = await shared_api.wait_done(client, accepted["id"])
    assert job["status"] == "done" and job["task"] == "ocr" and job["error"] is None
    assert job["result"]["text"] == "Fake OCR text\nsecond line"
    assert job["result"]["items"][0]["engine"] == "vlm"
    assert job["progress"] == {"done": 1, "total": 1, "stage": None}
    usage = job["usage"]
    assert usage["calls"] == 1 and usage["image_tokens"] == 100 and usage["pages"] == 1
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"] > 0
    assert usage["seconds"] is not None and usage["seconds"] >= 0
    assert "Read all the text in the image" in fresh_model.requests[-1].texts


@pytest.mark.parametrize(
    ("task", "data", "check"),
    [
        ("classify", {"categories": "cats, receipts"}, lambda r: r["items"][0]["category"]),
        ("captcha", {}, lambda r: r["text"] == "AB12"),
        ("ask", {"question": "What is written?"}, lambda r: r["text"] == "A fake answer."),
        (
            "receipt",
            {},
            lambda r: (
                r["items"][0]["receipt"]["total"] == "23.50"
                and r["items"][0]["receipt"]["merchant"] == "全家 FamilyMart"
            ),
        ),
    ],
)
async def test_every_task_runs_through_the_pipeline(
    shared_api: Api, fresh_model: FakeOpenAI, task: str, data: dict[str, str], check: Any
) -> None:
    async with shared_api.client() as client:
        job = await shared_api.wait_done(client, await shared_api.submit(client, task, **data))
    assert job["status"] == "done", job
    assert check(job["result"])
    if task == "classify":
        assert job["result"]["items"][0]["category"] == "cats"
        assert "cats" in fresh_model.requests[-1].texts
    if task == "ask":
        assert "What is written?" in fresh_model.requests[-1].texts


async def test_many_images_are_one_job_with_an_answer_each(
    shared_api: Api, fresh_model: FakeOpenAI
) -> None:
    fresh_model.reply(text("first"), text("second"), text("third"))
    async with shared_api.client() as client:
        job_id = await shared_api.submit(client, "ocr", page_png(), page_png(), page_png())
        job = await shared_api.wait_done(client, job_id)
    assert [item["index"] for item in job["result"]["items"]] == [1, 2, 3]
    assert sorted(item["text"] for item in job["result"]["items"]) == ["first", "second", "third"]
    assert job["progress"] == {"done": 3, "total": 3, "stage": None}
    assert job["usage"]["calls"] == 3 and job["usage"]["pages"] == 3


async def test_notes_from_a_pdf_read_page_by_page_and_download_as_markdown(
    shared_api: Api, fresh_model: FakeOpenAI
) -> None:
    fresh_model.responder = lambda req: (
        text("page text") if req.image_urls else text("# 线性代数: 矩阵\n\nPolished.")
    )
    try:
        async with shared_api.client() as client:
            answer = await client.post(
                "/api/v1/jobs",
                files=[("files", ("lecture.pdf", pdf_of(3), "application/pdf"))],
                data={"task": "notes", "language": "en"},
            )
            assert answer.status_code == 202
            job = await shared_api.wait_done(client, answer.json()["id"])
            document = await client.get(f"/api/v1/jobs/{job['id']}/document")
    finally:
        fresh_model.responder = default_responder
    assert job["status"] == "done"
    assert len(job["result"]["items"]) == 3 and job["progress"]["total"] == 3
    assert len([r for r in fresh_model.requests if r.image_urls]) == 3  # one OCR call a page
    assert job["result"]["markdown"].startswith("# ")
    assert document.status_code == 200
    assert document.headers["content-type"].startswith("text/markdown")
    assert document.text == job["result"]["markdown"]
    disposition = document.headers["content-disposition"]
    assert disposition.startswith("attachment;") and 'filename="notes.md"' in disposition
    named = unquote(disposition.split("filename*=UTF-8''", 1)[1])
    assert job["result"]["title"] == "线性代数: 矩阵"
    assert named == "线性代数 矩阵.md"  # no colon: a file name that works everywhere


async def test_a_pdf_longer_than_the_page_limit_is_read_in_part_and_says_so(
    shared_api: Api, fresh_model: FakeOpenAI
) -> None:
    limit = shared_api.settings.pdf_max_pages
    async with shared_api.client(headers={"Accept-Language": "zh-CN"}) as client:
        answer = await client.post(
            "/api/v1/jobs",
            files=[("files", ("long.pdf", pdf_of(limit + 2), "application/pdf"))],
            data={"task": "ocr"},
        )
        job = await shared_api.wait_done(client, answer.json()["id"])
    assert len(job["result"]["items"]) == limit
    assert job["result"]["warnings"] == [plain("zh", "pdf_truncated", total=limit + 2, n=limit)]
    assert "22" in job["result"]["warnings"][0]


async def test_events_report_progress_before_the_end(
    shared_api: Api, fresh_model: FakeOpenAI
) -> None:
    fresh_model.responder = lambda req: text("slow", delay=0.4) if req.image_urls else text("x")
    try:
        async with shared_api.client() as client:
            job_id = await shared_api.submit(client, "ocr", page_png(), page_png())
            events: list[tuple[str, dict[str, Any]]] = []
            async with client.stream("GET", f"/api/v1/jobs/{job_id}/events") as stream:
                assert stream.headers["content-type"].startswith("text/event-stream")
                name = ""
                async for line in stream.aiter_lines():
                    if line.startswith("event: "):
                        name = line.removeprefix("event: ")
                    elif line.startswith("data: "):
                        events.append((name, json.loads(line.removeprefix("data: "))))
    finally:
        fresh_model.responder = default_responder
    names = [n for n, _ in events]
    assert names[-1] == "done" and names.count("done") == 1
    assert "progress" in names
    first = events[0][1]
    assert first["id"] == job_id and first["progress"]["total"] == 2
    assert events[-1][1]["status"] == "done" and events[-1][1]["result"]["text"] == "slow\n\nslow"


async def test_a_failed_model_makes_a_failed_job_with_a_reason(
    shared_api: Api, fresh_model: FakeOpenAI
) -> None:
    fresh_model.responder = lambda req: error(401, message="bad key")
    try:
        async with shared_api.client() as client:
            job = await shared_api.wait_done(client, await shared_api.submit(client, "classify"))
    finally:
        fresh_model.responder = default_responder
    assert job["status"] == "failed" and job["result"] is None
    assert job["error"]["code"] == "model_auth" and "VLM_API_KEY" in job["error"]["message"]
    assert "sk-test" not in json.dumps(job)


async def test_delete_cancels_and_forgets_the_job_and_its_files(
    shared_api: Api, fresh_model: FakeOpenAI
) -> None:
    fresh_model.responder = lambda req: text("late", delay=2)
    try:
        async with shared_api.client() as client:
            job_id = await shared_api.submit(client, "ocr")
            gone = await client.delete(f"/api/v1/jobs/{job_id}")
            assert gone.status_code == 204
            assert (await client.get(f"/api/v1/jobs/{job_id}")).status_code == 404
            assert (await client.delete(f"/api/v1/jobs/{job_id}")).status_code == 404
    finally:
        fresh_model.responder = default_responder
    engine = sa.create_engine(f"sqlite:///{shared_api.settings.database_path}")
    with engine.connect() as conn:
        public = conn.scalar(sa.select(sa.func.count()).where(api_jobs.c.public_id == job_id))
        uploads = conn.scalar(
            sa.select(sa.func.count())
            .select_from(api_uploads)
            .where(api_uploads.c.job_seq.not_in(sa.select(api_jobs.c.seq)))
        )
    engine.dispose()
    assert public == 0 and uploads == 0


async def test_one_key_never_sees_another_keys_jobs(shared_api: Api) -> None:
    async with shared_api.client() as mine, shared_api.client(OTHER_KEY) as theirs:
        job_id = await shared_api.submit(mine, "notes")
        await shared_api.wait_done(mine, job_id)
        for method, path in [
            ("GET", f"/api/v1/jobs/{job_id}"),
            ("GET", f"/api/v1/jobs/{job_id}/events"),
            ("GET", f"/api/v1/jobs/{job_id}/document"),
            ("DELETE", f"/api/v1/jobs/{job_id}"),
        ]:
            answer = await theirs.request(method, path)
            assert answer.status_code == 404, (method, path)
            assert answer.json()["error"]["code"] == "not_found"
        # ...and the owner still has it, untouched.
        assert (await mine.get(f"/api/v1/jobs/{job_id}")).json()["status"] == "done"
        assert (await mine.get(f"/api/v1/jobs/{job_id}/document")).status_code == 200


async def test_the_document_is_for_finished_notes_only(
    shared_api: Api, fresh_model: FakeOpenAI
) -> None:
    async with shared_api.client() as client:
        ocr_id = await shared_api.submit(client, "ocr")
        await shared_api.wait_done(client, ocr_id)
        not_notes = await client.get(f"/api/v1/jobs/{ocr_id}/document")
        fresh_model.responder = lambda req: text("late", delay=1.5)
        try:
            notes_id = await shared_api.submit(client, "notes")
            early = await client.get(f"/api/v1/jobs/{notes_id}/document")
            await shared_api.wait_done(client, notes_id)
        finally:
            fresh_model.responder = default_responder
    assert not_notes.status_code == 404 and not_notes.json()["error"]["code"] == "no_document"
    assert early.status_code == 409 and early.json()["error"]["code"] == "not_done"


async def test_post_task_waits_for_the_result_or_answers_202_with_the_job(
    shared_api: Api, fresh_model: FakeOpenAI
) -> None:
    async with shared_api.client() as client:
        done = await client.post("/api/v1/ocr", files=files(page_png()))
        assert done.status_code == 200
        assert done.json()["status"] == "done"
        assert done.json()["result"]["text"] == "Fake OCR text\nsecond line"
        fresh_model.responder = lambda req: text("late", delay=1.5)
        try:
            waiting = await client.post(
                "/api/v1/captcha", files=files(page_png()), data={"wait": "0.2"}
            )
            assert waiting.status_code == 202
            job = waiting.json()
            assert job["status"] in ("queued", "running") and job["result"] is None
            assert waiting.headers["location"] == f"/api/v1/jobs/{job['id']}"
            finished = await shared_api.wait_done(client, job["id"])
        finally:
            fresh_model.responder = default_responder
    assert finished["result"]["text"] == "late"


async def test_the_schema_and_docs_are_served(shared_api: Api) -> None:
    async with httpx.AsyncClient(base_url=shared_api.url) as anonymous:
        schema = (await anonymous.get("/openapi.json")).json()
        docs = await anonymous.get("/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()
    paths = schema["paths"]
    for path in ("/api/v1/jobs", "/api/v1/jobs/{job_id}", "/api/v1/jobs/{job_id}/events"):
        assert path in paths
    for task in ("notes", "ocr", "classify", "captcha", "ask", "receipt"):
        assert "post" in paths[f"/api/v1/{task}"]
    assert "post" in paths["/ocr"] and "post" in paths["/api/v1/analyze"]
