"""`JobEngine`: the one object that talks to DBOS. Submit, progress, cancel, stop."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from dbos import (
    DBOS,
    DBOSClient,
    Queue,
    SetEnqueueOptions,
    SetWorkflowID,
    WorkflowHandleAsync,
    WorkflowStatus,
)

from ..config import Settings
from ..pipeline.service import Pipeline
from ..store.api_jobs import ApiJobStore
from ._api import Routed
from ._config import SCHEMA, dbos_config, jobs_database_url, prepare_sqlite
from ._media import MediaSource, PageCache
from ._workers import Workers
from ._workflows import (
    ALBUM_CLOSED,
    ALBUM_ITEMS,
    ALBUM_TOPIC,
    API_PREFIX,
    MODEL_QUEUE,
    PROGRESS,
    QUEUE,
    Deliver,
    Runtime,
    RunWhole,
    SettleAlbum,
    ShowProgress,
    job_to_json,
    job_workflow,
    model_permit,
    set_runtime,
)
from .types import Job

log = logging.getLogger(__name__)

UNFINISHED = ("ENQUEUED", "PENDING")
# How often each queue looks for work. Every look is a query; a job waits for the next
# one after the previous job of its person ends (JOB_CONCURRENCY above the model's slots
# hides that wait).
QUEUE_POLL_S = 0.1
API_QUEUE_POLL_S = 0.25
# The HTTP API's jobs: a queue of their own, so that a process without the bot (an API-only
# `serve`) takes only these, and no chat's order holds them up.
API_QUEUE = "notelens-api"
PERMIT_POLL_S = 0.05  # how often a model request waiting for its permit looks


class _NoJobArguments(logging.Filter):
    """DBOS logs a cut-off step with its arguments (a person's question, file ids): keep
    the fact, not the arguments."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = str(record.msg)
        if message.startswith("Asyncio task cancelled for workflow or step"):
            record.msg, record.args = "a job's step was cut off; it resumes at the next start", None
        return True


_NO_JOB_ARGUMENTS = _NoJobArguments()


def telegram_job_id(update_id: int) -> str:
    """Telegram's update ids grow: the queue breaks same-second ties by job id."""
    return f"tg-{update_id:012d}"


def api_job_id(seq: int) -> str:
    """From a sequence of ours (the API), for the same reason."""
    return f"{API_PREFIX}{seq:012d}"


def successor_id(job_id: str, version: str) -> str:
    """The job restarted on another application version (sorts right after the original)."""
    return f"{job_id.split('~', 1)[0]}~{version}"


@dataclass
class JobProgress:
    """Where a job is: DBOS status (ENQUEUED, PENDING, SUCCESS, ERROR, CANCELLED, ...),
    stage ("ocr", "polish"), pages done of total."""

    job_id: str
    status: str
    stage: str | None = None
    done: int = 0
    total: int = 0

    @property
    def finished(self) -> bool:
        return self.status not in UNFINISHED


def _is_job(workflow_id: str, job_id: str) -> bool:
    return workflow_id == job_id or workflow_id.startswith(job_id.split("~", 1)[0] + "~")


def _progress(job_id: str, status: str, event: Any) -> JobProgress:
    event = event or {}
    return JobProgress(
        job_id, status, event.get("stage"), event.get("done", 0), event.get("total", 0)
    )


class JobEngine:
    """Runs jobs in this process and takes new ones; one per process (DBOS is a singleton).

    `start()` inside the running event loop (PTB post_init, ASGI lifespan); `stop()` on
    SIGTERM. `media` fetches file references, `deliver(job, outcome)` hands the result
    over (it runs as a step: at least once); `settle` turns a gathered album into jobs.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        media: MediaSource,
        deliver: Deliver,
        run: RunWhole | None = None,
        show: ShowProgress | None = None,
        settle: SettleAlbum | None = None,
        pipeline: Pipeline | None = None,
        api: ApiJobStore | None = None,
        api_only: bool = False,
    ) -> None:
        """`api`: the store of the HTTP API's jobs (their uploads and outcomes), so that this
        process runs those jobs too; `api_only`: it runs nothing else (no bot here)."""
        self.settings = settings
        self.url = jobs_database_url(settings)
        self.owns_pipeline = pipeline is None
        self.pipeline = pipeline or Pipeline(settings)
        self.api_only = api_only
        if api is not None:
            routed = Routed(None if api_only else media, None if api_only else deliver, api)
            media, deliver = routed, routed.deliver
        self.runtime = Runtime(
            settings, self.pipeline, media, deliver, PageCache(media), run, show, settle
        )
        self.model_queue: Queue | None = None
        self._workers: Workers | None = None
        self._supervisor: asyncio.Task[None] | None = None

    # -------------------------------------------------------------- lifecycle

    async def start(self) -> None:
        s = self.settings
        await asyncio.to_thread(prepare_sqlite, self.url)
        set_runtime(self.runtime)
        logging.getLogger("dbos").addFilter(_NO_JOB_ARGUMENTS)  # once: a set of filters
        DBOS(config=dbos_config(s, self.url))
        if self.api_only:  # and the model's permits, which any process may have to start
            DBOS.listen_queues([API_QUEUE, MODEL_QUEUE])
        DBOS.launch()  # must run on the loop: DBOS then runs our async workflows on it
        self.queue = await DBOS.register_queue_async(
            QUEUE,
            partition_concurrency=1,
            worker_concurrency=s.job_concurrency,
            polling_interval_sec=QUEUE_POLL_S,
            on_conflict="always_update",
        )
        # API jobs are mostly one photo, one model call: twice as many in flight as the
        # model's slots (JOB_CONCURRENCY, 16, is twice VLM_MAX_CONCURRENCY's 8) keep them busy
        # while a finished job hands over (its checkpoints, the queue's next poll). Measured by
        # benchmarks/api.py: 1.41x the pipeline's time with 8 jobs at once, 1.01x with 16.
        self.api_queue = await DBOS.register_queue_async(
            API_QUEUE,
            worker_concurrency=s.job_concurrency,
            polling_interval_sec=API_QUEUE_POLL_S,
            on_conflict="always_update",
        )
        if s.model_rate_limit is not None:
            self.model_queue = await DBOS.register_queue_async(
                MODEL_QUEUE,
                limiter={"limit": s.model_rate_limit, "period": s.model_rate_period_s},
                polling_interval_sec=PERMIT_POLL_S,
                on_conflict="always_update",
            )
            for client in (self.pipeline.ctx.vlm, self.pipeline.ctx.llm):
                if client is not None:
                    client.permit = self.model_permit
        self._workers = await asyncio.to_thread(
            Workers, self.url, s.worker_id, s.app_version, s.worker_silence_s
        )
        await self.supervise_once()
        self._supervisor = asyncio.create_task(self._supervise(), name="jobs-supervisor")

    async def stop(self, grace_s: float | None = None) -> None:
        """Stop taking jobs, give running ones `grace_s` (SHUTDOWN_GRACE_S) to finish, shut
        DBOS down. What did not finish stays PENDING and resumes at the next start."""
        grace = self.settings.shutdown_grace_s if grace_s is None else grace_s
        if self._supervisor is not None:
            self._supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._supervisor
        self.runtime.stopping = True
        for client in (self.pipeline.ctx.vlm, self.pipeline.ctx.llm):
            if client is not None:
                client.permit = None
        # DBOS.destroy stops dequeuing and waits for running jobs (in whole seconds, blocking:
        # in a thread, so our loop runs the jobs meanwhile), then disconnects.
        await asyncio.to_thread(DBOS.destroy, workflow_completion_timeout_sec=int(grace))
        # DBOS made its executor the loop's default one and has just shut it down: a new one
        # for whatever runs next (the cut-off jobs' cleanup included).
        asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor())
        # Jobs still running are cut off here (a cancelled step records nothing): they stay
        # PENDING and resume, at their first unfinished step, at the next start.
        for task in list(self.runtime.running):
            task.cancel()
        await asyncio.gather(*self.runtime.running, return_exceptions=True)
        set_runtime(None)
        if self._workers is not None:
            await asyncio.to_thread(self._workers.dispose)
        if self.owns_pipeline:
            await self.pipeline.aclose()

    # -------------------------------------------------------------- jobs

    async def submit(self, job_id: str, job: Job, *, partition_key: str | None = None) -> str:
        """Enqueue a job (committed when this returns). Jobs with the same partition key (by
        default the chat) run one at a time in the order submitted; a second submit with
        the same id is the first job."""
        return await self._enqueue(job_id, job, partition_key, album=False)

    async def submit_api(self, job_id: str, job: Job) -> str:
        """Enqueue an HTTP API job (`api_job_id`); its refs are uploads in the store."""
        with SetWorkflowID(job_id):
            await self.api_queue.enqueue_async(job_workflow, job_to_json(job), False)
        return job_id

    async def submit_album(
        self, album_key: str, job_id: str, job: Job, *, partition_key: str | None = None
    ) -> str:
        """One item of an album (`album_key`: chat and media_group_id), whichever process it
        reached. The first item's job gathers the others (the gathered jobs go to the
        `settle` hook); an item that comes after that job closed starts the next gathering
        job. Returns the id of the job the item landed in."""
        assert self._workers is not None
        workers = self._workers
        owner = await asyncio.to_thread(workers.claim_album, album_key, job_id)
        while owner != job_id:
            if await self._album_open(owner):
                message = {"key": job_id, "job": job_to_json(job)}
                await DBOS.send_async(owner, message, ALBUM_TOPIC, idempotency_key=job_id)
                if not await DBOS.get_event_async(owner, ALBUM_CLOSED, timeout_seconds=0):
                    return owner
                taken = await DBOS.get_event_async(owner, ALBUM_ITEMS, timeout_seconds=30)
                if taken is not None and job_id in taken:
                    return owner
            # Closed without this item (a message to a finished workflow is dropped): this
            # item's job gathers the album's later items, unless another took over first.
            owner = await asyncio.to_thread(workers.take_album, album_key, owner, job_id)
        return await self._enqueue(job_id, job, partition_key, album=True)

    async def _album_open(self, owner: str) -> bool:
        for _ in range(50):  # the owner claims the album a moment before it enqueues
            status = await DBOS.get_workflow_status_async(owner)
            if status is not None:
                return status.status in UNFINISHED and not await DBOS.get_event_async(
                    owner, ALBUM_CLOSED, timeout_seconds=0
                )
            await asyncio.sleep(0.1)
        return False

    async def _enqueue(self, job_id: str, job: Job, key: str | None, *, album: bool) -> str:
        with (
            SetWorkflowID(job_id),
            SetEnqueueOptions(queue_partition_key=key or str(job.chat_id)),
        ):
            await self.queue.enqueue_async(job_workflow, job_to_json(job), album)
        return job_id

    async def current_id(self, job_id: str) -> str:
        """The workflow now doing this job (itself, or its restart on a newer version)."""
        found = await DBOS.list_workflows_async(
            workflow_id_prefix=job_id.split("~", 1)[0],
            load_input=False,
            load_output=False,
            sort_desc=True,
        )
        return next((w.workflow_id for w in found if _is_job(w.workflow_id, job_id)), job_id)

    async def progress(self, job_id: str) -> JobProgress | None:
        wid = await self.current_id(job_id)
        status = await DBOS.get_workflow_status_async(wid)
        if status is None:
            return None
        return _progress(job_id, status.status, await DBOS.get_event_async(wid, PROGRESS, 0))

    async def cancel(self, job_id: str) -> None:
        await DBOS.cancel_workflow_async(await self.current_id(job_id))

    async def forget(self, job_id: str) -> None:
        """Cancel the job and delete what DBOS kept of it (its steps hold the text read)."""
        wid = await self.current_id(job_id)
        await DBOS.cancel_workflow_async(wid)
        await DBOS.delete_workflow_async(wid)

    async def result(self, job_id: str) -> Any:
        """Wait for a job to end; "ok" or "failed" (the outcome itself went to `deliver`)."""
        handle: WorkflowHandleAsync[str] = await DBOS.retrieve_workflow_async(
            await self.current_id(job_id)
        )
        return await handle.get_result()

    # -------------------------------------------------------------- the model's rate

    async def model_permit(self) -> None:
        """Wait until the model queue starts a permit: at most MODEL_RATE_LIMIT a period,
        counted by DBOS's queue limiter over every process of the deployment."""
        assert self.model_queue is not None
        queue = self.model_queue

        async def take() -> None:
            with SetWorkflowID(f"permit-{uuid.uuid4().hex}"):
                handle = await queue.enqueue_async(model_permit)
            await handle.get_result(polling_interval_sec=PERMIT_POLL_S)

        # Outside any workflow or step (a model call runs inside one): a permit is a
        # workflow of its own, not a child of the job.
        await asyncio.create_task(take(), context=contextvars.Context())

    async def _forget_old_permits(self) -> None:
        """A permit counts for one period; two later its row is only clutter."""
        cutoff = time.time() - 2 * self.settings.model_rate_period_s
        old = await DBOS.list_workflows_async(
            queue_name=MODEL_QUEUE,
            status="SUCCESS",
            dequeued_before=datetime.fromtimestamp(cutoff, UTC).isoformat(),
            load_input=False,
            load_output=False,
            limit=1000,
        )
        if old:
            await DBOS.delete_workflows_async([w.workflow_id for w in old])

    # -------------------------------------------------------------- takeover

    async def _supervise(self) -> None:
        while True:
            await asyncio.sleep(self.settings.worker_silence_s / 4)
            try:
                await self.supervise_once()
            except Exception:  # a database hiccup must not end supervision
                log.exception("job supervision failed")

    async def supervise_once(self) -> None:
        """Beat; resume the started jobs of workers silent for WORKER_SILENCE_S; restart on
        this version the unfinished jobs of versions no live worker runs."""
        workers = self._workers
        assert workers is not None
        await asyncio.to_thread(workers.beat)
        if self.model_queue is not None:
            await self._forget_old_permits()
        for worker_id, version in await asyncio.to_thread(workers.claim_silent):
            if version == self.settings.app_version:
                log.warning("worker %s is silent: taking over its jobs", worker_id)
                # DBOS's own recovery: re-enqueues only rows still PENDING on that worker,
                # so a job someone already resumed is never started twice.
                await asyncio.to_thread(DBOS._recover_pending_workflows, [worker_id])
        live = await asyncio.to_thread(workers.live_versions)
        known = {v["version_name"] for v in await DBOS.list_application_versions_async()}
        if not (stranded := sorted(known - live - {self.settings.app_version})):
            return
        for wf in await DBOS.list_workflows_async(
            status=list(UNFINISHED),
            queue_name=QUEUE,
            app_version=stranded,
            load_input=False,
            load_output=False,
        ):
            await self._restart_on_this_version(wf)

    async def _restart_on_this_version(self, wf: WorkflowStatus) -> None:
        """A job of a version nobody runs any more: its checkpoints may not fit this code, so
        it starts over (a fork from step 1 keeps nothing), then the original is cancelled."""
        new_id = successor_id(wf.workflow_id, self.settings.app_version)
        try:
            with SetWorkflowID(new_id):
                await DBOS.fork_workflow_async(
                    wf.workflow_id,
                    1,
                    application_version=self.settings.app_version,
                    queue_name=QUEUE,
                    queue_partition_key=wf.queue_partition_key,
                )
        except Exception as exc:  # another worker forked it first
            if await DBOS.get_workflow_status_async(new_id) is None:
                raise
            log.debug("job %s already restarted: %s", wf.workflow_id, exc)
        await DBOS.cancel_workflow_async(wf.workflow_id)
        log.warning("job %s restarted on version %s", wf.workflow_id, self.settings.app_version)


class JobClient:
    """For processes that only look at jobs (an API process): progress and cancel."""

    def __init__(self, settings: Settings) -> None:
        self.client = DBOSClient(
            system_database_url=jobs_database_url(settings), dbos_system_schema=SCHEMA
        )

    async def _current(self, job_id: str) -> WorkflowStatus | None:
        found = await self.client.list_workflows_async(
            workflow_id_prefix=job_id.split("~", 1)[0],
            load_input=False,
            load_output=False,
            sort_desc=True,
        )
        return next((w for w in found if _is_job(w.workflow_id, job_id)), None)

    async def progress(self, job_id: str) -> JobProgress | None:
        current = await self._current(job_id)
        if current is None:
            return None
        event = await self.client.get_event_async(current.workflow_id, PROGRESS, 0)
        return _progress(job_id, current.status, event)

    async def cancel(self, job_id: str) -> None:
        current = await self._current(job_id)
        if current is not None:
            await self.client.cancel_workflow_async(current.workflow_id)

    def close(self) -> None:
        self.client.destroy()
