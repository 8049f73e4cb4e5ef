"""A job as a DBOS workflow: each page's OCR and each polish a checkpointed step.

After a crash DBOS replays the workflow: finished steps return their stored results at
once, so the job continues at its first unfinished step and no page is read twice.
Replay needs determinism: step calls are made in a fixed order (a step's number is
taken when it is called, so the page steps are all called before any is awaited), and
everything that reads the clock, the network or a file runs inside a step.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import asdict, dataclass, field
from typing import Any

from dbos import DBOS

from ..config import Settings
from ..pipeline.errors import ModelError, NoteLensError, describe_os_error
from ..pipeline.results import NotesResult, PageResult, Usage
from ..pipeline.service import Pipeline
from ..pipeline.tasks.notes import assemble, can_polish, polish
from ..pipeline.tasks.ocr import ocr
from ._media import MediaSource, PageCache
from .types import Job, MediaRef

log = logging.getLogger(__name__)

QUEUE = "notelens-jobs"
MODEL_QUEUE = "notelens-model"  # permits for model requests, rate-limited (MODEL_RATE_LIMIT)
ALBUM_TOPIC = "album"
ALBUM_CLOSED = "album-closed"  # event: the job takes no more photos
ALBUM_ITEMS = "album-items"  # event: the keys of the photos it took
PROGRESS = "progress"  # event: {"stage", "done", "total"}
API_PREFIX = "api-"  # the HTTP API's jobs (`api_job_id`): files and outcomes in the store


@dataclass
class JobOutcome:
    """What a job produced: one result per photo (notes: one document), or why it failed."""

    job_id: str
    results: list[Any] = field(default_factory=list)
    error: str | None = None
    error_code: str | None = None  # the NoteLensError's code, when it had one
    errors: list[str | None] = field(default_factory=list)  # per photo (one-photo tasks)

    @property
    def ok(self) -> bool:
        return self.error is None


Deliver = Callable[[Job, JobOutcome], Awaitable[None]]
# A product's own way to run a whole one-step job and answer it (the Telegram layer's
# runner: its answers depend on the ledger, the user's categories and the like).
RunWhole = Callable[[Job], Awaitable[None]]
# Shown to the user as pages finish ("page 2/5"): a display only, never checkpointed.
ShowProgress = Callable[[Job, str, int, int], Awaitable[None]]
# What a gathered album becomes: the jobs to run, in order (none when it answered by itself).
# Each item is the job its own update would have made; without a hook, the first item's job
# over every item's files.
SettleAlbum = Callable[[list[Job]], Awaitable[list[Job]]]


@dataclass
class Runtime:
    """What the steps of this process use; set by the engine before DBOS launches."""

    settings: Settings
    pipeline: Pipeline
    media: MediaSource
    deliver: Deliver
    pages: PageCache
    run: RunWhole | None = None
    show: ShowProgress | None = None
    settle: SettleAlbum | None = None
    running: set[asyncio.Task[Any]] = field(default_factory=set)  # this process's jobs
    stopping: bool = False


_runtime: Runtime | None = None


def set_runtime(runtime: Runtime | None) -> None:
    global _runtime
    _runtime = runtime


def runtime() -> Runtime:
    if _runtime is None:
        raise RuntimeError("the job engine is not started in this process")
    return _runtime


def job_to_json(job: Job) -> dict[str, Any]:
    data = asdict(job)
    data["media"] = [m.to_json() for m in job.media]
    return data


def job_from_json(data: dict[str, Any]) -> Job:
    return Job(**{**data, "media": [MediaRef(**m) for m in data["media"]]})


def language_of(job: Job) -> str | None:
    """The language the user asked for (None: the default prompts, the text's language)."""
    lang = (job.meta or {}).get("language")
    return str(lang) if lang else None


# ------------------------------------------------------------------ steps


def _failure(exc: NoteLensError | OSError) -> tuple[str, str | None]:
    """What a page that failed says: the error and its code; a file is named, never its path."""
    if isinstance(exc, NoteLensError):
        return str(exc), exc.code
    return describe_os_error(exc), None


@DBOS.step(name="notelens.count_pages")
async def count_pages(
    data: dict[str, Any], source: int
) -> tuple[int, list[str], tuple[str, str | None] | None]:
    """How many pages one photo holds (its crops are cached for the page steps)."""
    rt = runtime()
    try:
        crops, warnings = await rt.pages.pages(rt.pipeline.ctx, job_from_json(data).media[source])
    except (NoteLensError, OSError) as exc:
        return 0, [], _failure(exc)
    return len(crops), warnings, None


@DBOS.step(name="notelens.ocr_page")
async def ocr_page(
    data: dict[str, Any], source: int, page: int, language: str
) -> tuple[PageResult, Usage]:
    """One page's OCR; a failure is recorded on the page, never raised."""
    rt = runtime()
    result = PageResult(0, source + 1)
    try:
        crops, _ = await rt.pages.pages(rt.pipeline.ctx, job_from_json(data).media[source])
        async with rt.pipeline.ctx.page_slots:  # as `read_page`: decoded only when sent
            done = await ocr(rt.pipeline.ctx, crops[page], language=language)
    except (NoteLensError, OSError) as exc:
        result.error, result.error_code = _failure(exc)
        return result, Usage()
    result.ocr_text, result.engine, result.warnings = done.text, done.engine, done.warnings
    return result, done.usage


@DBOS.step(name="notelens.polish_page")
async def polish_page(raw: str, language: str) -> tuple[str | None, Usage, str | None]:
    try:
        text, usage = await polish(runtime().pipeline.ctx, raw, language)
    except ModelError as exc:
        return None, Usage(), f"not polished: {exc}"
    return text, usage, None


@DBOS.step(name="notelens.render_notes")
async def render_notes(
    pages: list[PageResult],
    usage: Usage,
    split_warnings: list[tuple[int, str]],
    language: str | None,
    fallback: str,
    polishing: bool,
) -> NotesResult:
    """The document (a step: it reads today's date)."""
    return assemble(pages, usage, split_warnings, language, fallback, polishing=polishing)


@DBOS.step(name="notelens.run_task")
async def run_task(
    data: dict[str, Any], source: int, language: str | None
) -> tuple[Any, tuple[str, str | None] | None]:
    """A one-photo task (ocr, classify, captcha, ask, receipt): its result, or why it failed
    (the error and its code)."""
    rt = runtime()
    job = job_from_json(data)
    p = rt.pipeline
    try:
        image = await rt.media.fetch(job.media[source])
        if job.task == "classify":
            return await p.classify(image, job.categories, language=language), None
        if job.task == "captcha":
            return await p.captcha(image, language=language), None
        if job.task == "ask":
            return await p.ask(image, job.question or "", language=language), None
        if job.task == "receipt":
            return await p.receipt(image, language=language), None
        return await p.ocr(image, language=language), None
    except (NoteLensError, OSError) as exc:
        return None, _failure(exc)


@DBOS.step(name="notelens.run_whole")
async def run_whole(data: dict[str, Any]) -> None:
    """A job the product runs and answers itself, as one step (at least once)."""
    run = runtime().run
    assert run is not None
    await run(job_from_json(data))


def is_api_job(job_id: str) -> bool:
    return job_id.startswith(API_PREFIX)


def runs_whole(job_id: str, job: Job) -> bool:
    """Notes are read page by page here (a restart resumes at the first unread page); other
    tasks, and notes from PDFs, go to the product's own runner when it has one (the bot's:
    API jobs never, they are answered through `deliver`)."""
    if runtime().run is None or is_api_job(job_id):
        return False
    return job.task != "notes" or any(ref.kind == "pdf" for ref in job.media)


@DBOS.step(name="notelens.deliver", retries_allowed=True, max_attempts=5, interval_seconds=2)
async def deliver(data: dict[str, Any], outcome: JobOutcome) -> None:
    """Hand the outcome to the product (reply, API, page). At least once: a crash between
    sending and this step's checkpoint repeats the reply."""
    await runtime().deliver(job_from_json(data), outcome)


@DBOS.step(name="notelens.settle_album")
async def settle_album(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The jobs a gathered album becomes (a step: the product may look things up, answer)."""
    settle = runtime().settle
    jobs = [job_from_json(item) for item in items]
    if settle is None:
        first = jobs[0]
        first.media = [ref for job in jobs for ref in job.media]
        return [job_to_json(first)]
    return [job_to_json(job) for job in await settle(jobs)]


# ------------------------------------------------------------------ the workflow


async def _report(stage: str, done: int, total: int) -> None:
    await DBOS.set_event_async(PROGRESS, {"stage": stage, "done": done, "total": total})


async def _show(job: Job, stage: str, done: int, total: int) -> None:
    show = runtime().show
    if show is None:
        return
    try:
        await show(job, stage, done, total)
    except Exception:  # a progress display must never fail the job
        log.exception("progress display failed")


async def _gather_reporting(
    stage: str,
    calls: list[Coroutine[Any, Any, Any]],
    offset: int,
    total: int,
    job: Job | None = None,
) -> list[Any]:
    """Await step calls (already numbered) concurrently, reporting each that finishes."""
    tasks = [asyncio.ensure_future(c) for c in calls]
    done = offset
    try:
        for finished in asyncio.as_completed(tasks):
            await finished
            done += 1
            await _report(stage, done, total)
            if job is not None:
                await _show(job, stage, done, total)
    except BaseException:  # cancelled, or the job was taken over: stop the other pages too
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
    return [t.result() for t in tasks]


async def _notes(job: Job, data: dict[str, Any], language: str | None) -> NotesResult:
    """As `pipeline.tasks.notes`, one checkpointed step per page's OCR and per polish."""
    lang = language or runtime().settings.default_language
    counts = await asyncio.gather(*[count_pages(data, i) for i in range(len(job.media))])
    failures = [failure for _, _, failure in counts if failure is not None]
    if counts and len(failures) == len(counts):
        raise NoteLensError(failures[0][0], code=failures[0][1])
    pages: list[PageResult] = []
    split_warnings: list[tuple[int, str]] = []
    calls: list[Coroutine[Any, Any, tuple[PageResult, Usage]]] = []
    slots: list[int] = []
    for source, (n, found_warnings, failure) in enumerate(counts):
        if failure is not None:
            error, code = failure
            pages.append(PageResult(len(pages) + 1, source + 1, error=error, error_code=code))
            continue
        split_warnings += [(source + 1, w) for w in found_warnings]
        for k in range(n):
            slots.append(len(pages))
            pages.append(PageResult(len(pages) + 1, source + 1))
            calls.append(ocr_page(data, source, k, lang))
    total = len(pages)
    await _report("ocr", total - len(calls), total)
    await _show(job, "start", total - len(calls), total)
    usage = Usage()
    for slot, (page, page_usage) in zip(
        slots, await _gather_reporting("ocr", calls, total - len(calls), total, job), strict=True
    ):
        page.index, page.source = pages[slot].index, pages[slot].source
        pages[slot] = page
        usage = usage + page_usage
    polishing = can_polish(runtime().pipeline.ctx)
    if polishing:
        todo = [p for p in pages if p.ok and p.ocr_text.strip()]
        polished = await _gather_reporting(
            "polish", [polish_page(p.ocr_text, lang) for p in todo], 0, len(todo)
        )
        for page, (text, polish_usage, warning) in zip(todo, polished, strict=True):
            page.polished = text
            usage = usage + polish_usage
            if warning:
                page.warnings.append(warning)
    return await render_notes(pages, usage, split_warnings, language, lang, polishing)


async def _collect_album(first: str, data: dict[str, Any]) -> list[dict[str, Any]]:
    """Take the album's other items until none came for ALBUM_WAIT_S, then close.

    An item sent after the close is not taken (DBOS keeps the message but nobody reads
    it): the sender sees the close and the published keys and starts a job of its own.
    """
    wait = runtime().settings.album_wait_s
    items: dict[str, dict[str, Any]] = {first: data}

    def take(message: Any) -> None:
        items[str(message["key"])] = message.get("job") or {**data, "media": message["media"]}

    while (message := await DBOS.recv_async(ALBUM_TOPIC, timeout_seconds=wait)) is not None:
        take(message)
    await DBOS.set_event_async(ALBUM_CLOSED, True)
    while (message := await DBOS.recv_async(ALBUM_TOPIC, timeout_seconds=0)) is not None:
        take(message)
    await DBOS.set_event_async(ALBUM_ITEMS, sorted(items))
    return [items[key] for key in sorted(items)]  # IDs sort in arrival order


@DBOS.workflow(name="notelens.model_permit")
async def model_permit() -> None:
    """Does nothing: its start, which the model queue's limiter allows at most
    MODEL_RATE_LIMIT times per MODEL_RATE_PERIOD_S across the deployment, is the permit
    for one model request."""


@DBOS.workflow(name="notelens.job")
async def job_workflow(data: dict[str, Any], album: bool = False) -> str:
    """One job, start to reply. Returns "ok" or "failed"; the user hears either way."""
    job_id = DBOS.workflow_id or ""
    task = asyncio.current_task()
    assert task is not None
    runtime().running.add(task)
    try:
        return await _run_job(job_id, data, album)
    finally:
        runtime().running.discard(task)


async def _run_job(job_id: str, data: dict[str, Any], album: bool) -> str:
    if not album:
        return await _run_one(job_id, data)
    jobs = await settle_album(await _collect_album(job_id, data))
    outcomes = [
        await _run_one(f"{job_id}-{i:02d}" if len(jobs) > 1 else job_id, one)
        for i, one in enumerate(jobs)
    ]
    return "failed" if "failed" in outcomes else "ok"


async def _run_one(job_id: str, data: dict[str, Any]) -> str:
    job = job_from_json(data)
    if runs_whole(job_id, job):
        await run_whole(data)
        return "ok"
    language = language_of(job)
    outcome = JobOutcome(job_id)
    try:
        if job.task == "notes":
            outcome.results = [await _notes(job, data, language)]
        else:
            calls = [run_task(data, i, language) for i in range(len(job.media))]
            answers = await _gather_reporting("task", calls, 0, len(calls))
            outcome.results = [result for result, _ in answers]
            outcome.errors = [failure[0] if failure else None for _, failure in answers]
            failures = [failure for _, failure in answers if failure]
            if failures and len(failures) == len(answers):
                outcome.error, outcome.error_code = failures[0]
    except NoteLensError as exc:
        outcome.error, outcome.error_code = str(exc), exc.code
    except Exception:  # a bug: the user still hears that the job failed
        if runtime().stopping:
            raise  # shutting down: the job stays unfinished and resumes at the next start
        log.exception("job %s failed", job_id)
        outcome.error = "internal error"
    await deliver(data, outcome)
    return "ok" if outcome.ok else "failed"
