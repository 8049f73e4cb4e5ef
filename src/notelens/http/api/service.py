"""`ApiService`: the API's jobs on the durable job engine. Submit (uploads stored, workflow
enqueued), look (stored outcome, or the engine's progress), wait, stream, forget.

In `notelens serve` with the bot, the bot's engine runs API jobs too (`api=` in
`telegram.durable`); without the bot (or without durable jobs) the service starts an
engine of its own that takes only API jobs. Either way the uploads and outcomes are in
the application store, so any process sharing the database may run or read them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from fastapi.sse import ServerSentEvent

from ...config import Settings, split_names
from ...i18n import INPUT_ERROR_KEYS, N_, Lang, plain
from ...jobs.types import Job, MediaRef
from ...store import Store
from ...store.api_jobs import ApiJobRow, ApiJobStore
from . import schemas
from .errors import ApiError
from .uploads import Inputs

if TYPE_CHECKING:
    from ...jobs import JobEngine
    from ...telegram.context import BotApp

log = logging.getLogger(__name__)

EVENT_POLL_S = 0.25  # how often /events looks at the job
KEEPALIVE_S = 15.0  # an SSE comment when nothing changed for this long (proxies close idle streams)
FINISHED = ("done", "failed")


class ApiService:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._jobs: ApiJobStore | None = None
        self._engine: JobEngine | None = None
        self._store: Store | None = None
        self.clock = time.time  # the rate limit's minutes (tests hold it still)

    @property
    def jobs(self) -> ApiJobStore:
        if self._jobs is None:
            raise RuntimeError("the API is not started")
        return self._jobs

    @property
    def engine(self) -> JobEngine:
        if self._engine is None:
            raise RuntimeError("the API is not started")
        return self._engine

    # -------------------------------------------------------------- lifecycle

    @asynccontextmanager
    async def running(self, telegram: BotApp | None) -> AsyncIterator[None]:
        """Inside the app's lifespan, after the bot (if any) started: its engine, or ours."""
        own_engine = None
        bot_engine = None
        if telegram is not None:
            from ...telegram.context import services_of

            services = services_of(telegram)
            bot_engine, store = services.jobs, services.store
        else:
            store = self._store = await Store.from_settings(self.settings).open()
        try:
            self._jobs = ApiJobStore(store.engine)
            if bot_engine is None:
                from ...jobs import JobEngine, Routed

                routed = Routed(None, None, self._jobs)
                own_engine = JobEngine(
                    self.settings, media=routed, deliver=routed.deliver, api_only=True
                )
                await own_engine.start()
            self._engine = bot_engine or own_engine
            gone = await self._jobs.prune()
            if gone:
                log.info("pruned %s old API jobs", gone)
            yield
        finally:
            self._engine = None
            if own_engine is not None:
                await own_engine.stop()
            if self._store is not None:
                await self._store.close()
                self._store = None

    async def ping(self) -> None:
        async with self.jobs.engine.connect() as conn:
            await conn.exec_driver_sql("SELECT 1")

    async def rate(self, owner: str) -> float | None:
        return await self.jobs.hit(owner, self.settings.api_rate_per_min, self.clock())

    # -------------------------------------------------------------- submit

    async def submit(
        self,
        owner: str,
        task: str,
        inputs: Inputs,
        *,
        question: str | None = None,
        categories: str | None = None,
        language: str | None = None,
    ) -> ApiJobRow:
        """Store the files and the job, then enqueue it (committed when this returns)."""
        from ...jobs import api_job_id, upload_ref

        if task == "ask" and not (question or "").strip():
            raise ApiError(422, "question_required", N_("api_question_required"))
        row, ids = await self.jobs.create(
            owner, task, language, inputs.uploads, inputs.count, inputs.notices
        )
        refs: list[MediaRef] = []
        for upload_id, upload in zip(ids, inputs.uploads, strict=True):
            if upload.kind == "pdf":
                refs += [
                    upload_ref(upload_id, "pdf", upload.name, page)
                    for page in range(inputs.pdf_pages)
                ]
            else:
                refs.append(upload_ref(upload_id, "image", upload.name))
        job = Job(
            user_id=0,
            chat_id=0,
            task=task,
            media=refs,
            question=(question or "").strip() or None,
            categories=split_names(categories) if categories else None,
            meta={"language": language} if language else None,
        )
        try:
            await self.engine.submit_api(api_job_id(row.seq), job)
        except Exception:
            log.exception("an API job could not be enqueued")
            await self.jobs.delete(owner, row.public_id)
            raise ApiError(503, "not_stored", N_("api_not_stored")) from None
        return row

    # -------------------------------------------------------------- look

    async def owned(self, owner: str, public_id: str) -> ApiJobRow:
        row = await self.jobs.get(owner, public_id)
        if row is None:
            raise ApiError(404, "not_found", N_("api_not_found"))
        return row

    async def view(self, row: ApiJobRow, lang: Lang) -> schemas.Job:
        from ...jobs import api_job_id

        status, stage, done, total = "queued", None, 0, row.inputs
        ended: str | None = None
        if row.outcome is None:
            progress = await self.engine.progress(api_job_id(row.seq))
            if progress is not None and progress.finished:
                # Delivered between our two reads, or ended without delivering (cancelled).
                fresh = await self.jobs.get(row.owner, row.public_id)
                row = fresh or row
                ended = progress.status
            elif progress is not None:
                status = "running" if progress.status == "PENDING" else "queued"
                stage = progress.stage
                done, total = progress.done, progress.total or row.inputs
        usage = schemas.Usage(pages=row.inputs)
        if row.outcome is not None:
            return self._finished(row, lang)
        if ended is not None:
            code, key = (
                ("cancelled", N_("api_cancelled"))
                if ended == "CANCELLED"
                else ("internal", N_("api_internal"))
            )
            return schemas.Job(
                id=row.public_id,
                task=row.task,  # type: ignore[arg-type]
                status="failed",
                progress=schemas.Progress(done=0, total=row.inputs),
                error=schemas.ErrorInfo(code=code, message=plain(lang, key)),
                usage=usage,
                created_at=row.created_at,
            )
        return schemas.Job(
            id=row.public_id,
            task=row.task,  # type: ignore[arg-type]
            status=status,  # type: ignore[arg-type]
            progress=schemas.Progress(done=done, total=total, stage=stage),
            usage=usage,
            created_at=row.created_at,
        )

    def _finished(self, row: ApiJobRow, lang: Lang) -> schemas.Job:
        outcome = row.outcome or {}
        result = shape_result(row.task, outcome, row.notices, lang)
        usage = shape_usage(outcome, row)
        error = None
        if outcome.get("error"):
            error = error_info(outcome.get("error_code"), str(outcome["error"]), lang)
        count = len(result.items) if row.task == "notes" else row.inputs
        return schemas.Job(
            id=row.public_id,
            task=row.task,  # type: ignore[arg-type]
            status="failed" if error else "done",
            progress=schemas.Progress(done=count, total=count),
            result=None if error else result,
            error=error,
            usage=usage,
            created_at=row.created_at,
        )

    async def wait(self, row: ApiJobRow, seconds: float) -> ApiJobRow:
        """The job once it ended, or as it is after `seconds`."""
        from ...jobs import api_job_id

        if seconds > 0:
            with contextlib.suppress(Exception):  # timed out, cancelled, failed: look below
                await asyncio.wait_for(self.engine.result(api_job_id(row.seq)), seconds)
        return await self.jobs.get(row.owner, row.public_id) or row

    async def events(self, row: ApiJobRow, lang: Lang) -> AsyncIterator[ServerSentEvent]:
        """`progress` events while the job runs (one per change), then `done` with the job."""
        last: tuple[Any, ...] | None = None
        quiet_since = time.monotonic()
        while True:
            fresh = await self.jobs.get(row.owner, row.public_id)
            if fresh is None:  # deleted meanwhile
                yield ServerSentEvent(
                    event="error",
                    data={"code": "not_found", "message": plain(lang, N_("api_not_found"))},
                )
                return
            job = await self.view(fresh, lang)
            if job.status in FINISHED:
                yield ServerSentEvent(event="done", data=job.model_dump(mode="json"))
                return
            state = (job.status, job.progress.done, job.progress.total, job.progress.stage)
            if state != last:
                last, quiet_since = state, time.monotonic()
                event = schemas.JobEvent(id=job.id, status=job.status, progress=job.progress)
                yield ServerSentEvent(event="progress", data=event.model_dump(mode="json"))
            elif time.monotonic() - quiet_since > KEEPALIVE_S:
                quiet_since = time.monotonic()
                yield ServerSentEvent(comment="waiting")
            await asyncio.sleep(EVENT_POLL_S)

    async def forget(self, owner: str, public_id: str) -> None:
        """Cancel the job, forget it, its files and what the engine kept of it."""
        from ...jobs import api_job_id

        row = await self.jobs.delete(owner, public_id)
        if row is None:
            raise ApiError(404, "not_found", N_("api_not_found"))
        try:
            await self.engine.forget(api_job_id(row.seq))
        except Exception as exc:  # the rows are gone: a running step finds no files
            log.warning("job %s: the engine kept its record (%s)", row.seq, type(exc).__name__)


# ------------------------------------------------------------------ shaping results


def error_info(code: str | None, message: str, lang: Lang) -> schemas.ErrorInfo:
    """A failure: its code, and the catalogue's message for the input errors people cause."""
    if code in INPUT_ERROR_KEYS:
        return schemas.ErrorInfo(code=code, message=plain(lang, code))
    return schemas.ErrorInfo(code=code or "failed", message=message)


def shape_result(
    task: str, outcome: dict[str, Any], notices: list[str], lang: Lang
) -> schemas.JobResult:
    results: list[Any] = outcome.get("results") or []
    if task == "notes":
        notes = results[0] if results and isinstance(results[0], dict) else {}
        items = [
            schemas.ItemResult(
                index=page.get("index", i + 1),
                text=page.get("polished") or page.get("ocr_text") or "",
                error=error_info(page.get("error_code"), page["error"], lang)
                if page.get("error")
                else None,
                warnings=page.get("warnings") or [],
                engine=page.get("engine"),
            )
            for i, page in enumerate(notes.get("pages") or [])
        ]
        return schemas.JobResult(
            text=notes.get("markdown", ""),
            items=items,
            warnings=notices + list(notes.get("warnings") or []),
            title=notes.get("title"),
            markdown=notes.get("markdown"),
            language=notes.get("language"),
        )
    errors: list[Any] = outcome.get("errors") or []
    items = []
    for i, found in enumerate(results):
        failure = errors[i] if i < len(errors) else None
        if not isinstance(found, dict):
            message = str(failure or "failed")
            items.append(schemas.ItemResult(index=i + 1, error=error_info(None, message, lang)))
            continue
        items.append(
            schemas.ItemResult(
                index=i + 1,
                text=found.get("text", ""),
                warnings=found.get("warnings") or [],
                engine=found.get("engine"),
                category=found.get("category") if task == "classify" else None,
                receipt=found.get("receipt") if task == "receipt" else None,
            )
        )
    text = "\n\n".join(item.text for item in items if item.text)
    return schemas.JobResult(text=text, items=items, warnings=notices)


def shape_usage(outcome: dict[str, Any], row: ApiJobRow) -> schemas.Usage:
    totals = {"calls": 0, "prompt_tokens": 0, "completion_tokens": 0, "image_tokens": 0}
    for found in outcome.get("results") or []:
        usage = found.get("usage") if isinstance(found, dict) else None
        for name in totals:
            totals[name] += int((usage or {}).get(name) or 0)
    seconds = None
    if row.finished_at is not None:
        seconds = round(max(0.0, row.finished_at - row.created_at), 3)
    return schemas.Usage(
        **totals,
        total_tokens=totals["prompt_tokens"] + totals["completion_tokens"],
        pages=row.inputs,
        seconds=seconds,
    )
