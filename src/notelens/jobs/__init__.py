"""Durable jobs: every job is stored before anyone is told it was received, and survives
crashes, deploys and dead workers. All DBOS Transact calls live in this package.

Public API (everything else in the product only says submit, progress, cancel)::

    engine = JobEngine(settings, media=TelegramMedia(bot), deliver=send_reply)
    await engine.start()                  # inside the running loop (post_init, lifespan)
    await engine.submit(telegram_job_id(update.update_id), job)        # per-chat order
    await engine.submit_album(f"{chat_id}:{media_group_id}", job_id, job)  # any process
    await engine.progress(job_id)         # JobProgress: status, stage, done/total pages
    await engine.cancel(job_id)
    await engine.stop()                   # SIGTERM: finish within SHUTDOWN_GRACE_S

- `Job`, `MediaRef`: what a job is (file references, never bytes).
- `MediaSource`: `fetch(ref) -> bytes`; `TelegramMedia(bot)`, `DirectoryMedia(root)`.
- `deliver(job, outcome: JobOutcome)`: the product's reply; runs as a step (at least once).
- `settle(items) -> jobs`: what a gathered album becomes (a step); each item is the job its
  own update made. Albums are gathered in the job database (DBOS send/recv), so the items
  of one album may reach different processes.
- `JobClient(settings)`: progress and cancel from a process that runs no jobs.
- The HTTP API's jobs (`submit_api(api_job_id(seq), job)`, queue `notelens-api`): their
  files are uploads in the application store (`store.api_jobs`), read by every engine
  given `api=ApiJobStore(...)`, and their outcomes are kept there (`_api.Routed`).
- Job ids must sort in arrival order (SQLite queues order by whole seconds, then id):
  `telegram_job_id(update_id)`, `api_job_id(seq)`.

Settings: JOBS_DATABASE_URL (default: `dbos.sqlite` beside the SQLite database, in WAL
mode; or schema `dbos` of the PostgreSQL DATABASE_URL), WORKER_ID, APP_VERSION (bump only
for changes old jobs cannot replay: their jobs then restart on the new version),
JOB_CONCURRENCY, WORKER_SILENCE_S (a silent worker's started jobs are taken over),
SHUTDOWN_GRACE_S.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .types import Job, MediaRef

if TYPE_CHECKING:
    from ._api import Routed, upload_ref
    from ._engine import JobClient, JobEngine, JobProgress, api_job_id, telegram_job_id
    from ._media import DirectoryMedia, MediaSource, TelegramMedia
    from ._workflows import Deliver, JobOutcome, RunWhole, SettleAlbum

# `import dbos` costs 0.5-1 s and ~55 MB: only what runs jobs pays it (`notelens.jobs.types`
# stays cheap for the Telegram layer and the CLI).
_LAZY = {
    "Routed": "._api",
    "upload_ref": "._api",
    "JobClient": "._engine",
    "JobEngine": "._engine",
    "JobProgress": "._engine",
    "api_job_id": "._engine",
    "telegram_job_id": "._engine",
    "DirectoryMedia": "._media",
    "MediaSource": "._media",
    "TelegramMedia": "._media",
    "Deliver": "._workflows",
    "JobOutcome": "._workflows",
    "RunWhole": "._workflows",
    "SettleAlbum": "._workflows",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "Deliver",
    "DirectoryMedia",
    "Job",
    "JobClient",
    "JobEngine",
    "JobOutcome",
    "JobProgress",
    "MediaRef",
    "MediaSource",
    "Routed",
    "RunWhole",
    "SettleAlbum",
    "TelegramMedia",
    "api_job_id",
    "telegram_job_id",
    "upload_ref",
]
