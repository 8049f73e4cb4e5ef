"""The HTTP API's jobs on the same engine as Telegram's: their files are uploads kept in the
application store, their outcomes are kept there too (the API reads them back).

The engine takes one media source and one deliver hook; `Routed` gives each job what its
origin needs: refs `upload:<id>` (`upload:<id>:<page>` for a page of a PDF) are read
from the store, other refs from the product's source (Telegram); jobs `api-…` are
delivered into the store, others to the product. Every process that runs jobs routes
so, whichever process took the upload.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from pydantic_core import to_jsonable_python

from ..pipeline.errors import ImageError
from ..pipeline.pdf import render_pdf_page_png
from ..store.api_jobs import ApiJobStore
from ._media import MediaSource
from ._workflows import API_PREFIX, Deliver, JobOutcome, is_api_job
from .types import Job, MediaRef

UPLOAD_PREFIX = "upload:"


def api_seq(job_id: str) -> int:
    """`api-000000000012` (or its restart `api-000000000012~2`) → 12."""
    return int(job_id.split("~", 1)[0].removeprefix(API_PREFIX))


def upload_ref(upload_id: int, kind: str, name: str | None, page: int | None = None) -> MediaRef:
    """An image upload, or one page (from 0) of an uploaded PDF, read as an image."""
    suffix = f":{page}" if page is not None else ""
    return MediaRef(file_id=f"{UPLOAD_PREFIX}{upload_id}{suffix}", kind="image", name=name)


def outcome_json(outcome: JobOutcome) -> dict[str, object]:
    """The outcome as stored for the API: results as plain JSON (dates and amounts as text)."""
    return {
        "error": outcome.error,
        "error_code": outcome.error_code,
        "results": to_jsonable_python(outcome.results),
        # Per input: why it failed (None: it did not). Older outcomes had no such list.
        "errors": list(getattr(outcome, "errors", None) or []),
    }


@dataclass
class Routed:
    """A media source and a deliver hook that send API jobs to the store, others on."""

    media: MediaSource | None
    deliver_other: Deliver | None
    api: ApiJobStore

    async def fetch(self, ref: MediaRef) -> bytes:
        if not ref.file_id.startswith(UPLOAD_PREFIX):
            if self.media is None:
                raise ImageError("this process reads no Telegram files", code="download_failed")
            return await self.media.fetch(ref)
        upload_id, _, page = ref.file_id.removeprefix(UPLOAD_PREFIX).partition(":")
        found = await self.api.upload(int(upload_id))
        if found is None:  # the job was deleted meanwhile
            raise ImageError("the upload is gone", code="download_failed")
        _, data = found
        if page:
            return await asyncio.to_thread(render_pdf_page_png, data, int(page))
        return data

    async def deliver(self, job: Job, outcome: JobOutcome) -> None:
        if is_api_job(outcome.job_id):
            await self.api.finish(api_seq(outcome.job_id), outcome_json(outcome))
        elif self.deliver_other is not None:
            await self.deliver_other(job, outcome)
