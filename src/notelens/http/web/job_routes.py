"""What the page shows of a job beyond the API's JSON: the result rendered (Markdown to
HTML on the server), each notes photo with its page outlines and crops, thumbnails, and a
zip of classified photos sorted into folders.

Every route finds the job by its id *and* the session's owner (`ApiJobStore.get`), so
another person's job is not found, whatever its id.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse
from markupsafe import Markup

from ...i18n import N_, as_lang, plain
from ...pipeline.errors import NoteLensError
from .job_files import JobFile, file_bytes, files_of
from .markdown import render_markdown
from .page_view import PageView
from .sorted_zip import Sorted, stream_zip
from .texts import TASK_LABELS

if TYPE_CHECKING:
    from ...store.api_jobs import ApiJobRow
    from ..api.service import ApiService
    from .routes import Web

STATUS_KEYS = (N_("web_status_pending"), N_("web_status_done"), N_("web_status_failed"))
MAX_OUTLINED = 12  # photos of one notes job drawn with their outlines
IMAGE_HEADERS = {"Cache-Control": "private, max-age=3600", "X-Content-Type-Options": "nosniff"}


@dataclass
class Photo:
    n: int  # 1-based, in the order sent
    file: JobFile
    view: PageView | None = None

    @property
    def width(self) -> int:
        return self.view.size[0] if self.view else 0

    @property
    def height(self) -> int:
        return self.view.size[1] if self.view else 0


def api_of(request: Request) -> ApiService:
    api: ApiService = request.app.state.api
    return api


async def recent_jobs(request: Request, owner: str, lang: str, n: int = 10) -> list[dict[str, str]]:
    """The owner's latest API jobs (those sent from the page too), newest first."""
    rows = await api_of(request).jobs.recent(owner, n)
    shown = []
    for row in rows:
        if row.outcome is None:
            status = plain(lang, "web_status_pending")
        elif row.outcome.get("error"):
            status = plain(lang, "web_status_failed")
        else:
            status = plain(lang, "web_status_done")
        when = datetime.fromtimestamp(row.created_at, UTC).strftime("%Y-%m-%d %H:%M UTC")
        label = plain(lang, TASK_LABELS.get(row.task, "web_task_ocr"))
        shown.append({"id": row.public_id, "label": label, "when": when, "status": status})
    return shown


def job_router(web: Web) -> APIRouter:
    router = APIRouter(prefix="/web/jobs", include_in_schema=False)

    async def owned(request: Request, job_id: str) -> ApiJobRow | None:
        session = web.session(request)
        if session is None or len(job_id) > 64:
            return None
        return await api_of(request).jobs.get(session.owner, job_id)

    def not_found(request: Request) -> Response:
        return web.render(
            request, "message.html", 404, title="web_not_found", body="web_not_found_help"
        )

    async def photo_of(request: Request, job_id: str, n: int) -> tuple[ApiJobRow, JobFile] | None:
        row = await owned(request, job_id)
        if row is None:
            return None
        files = await files_of(api_of(request).jobs.engine, row.seq)
        if not 1 <= n <= len(files) or files[n - 1].kind != "image":
            return None
        return row, files[n - 1]

    async def page_view(request: Request, row: ApiJobRow, file: JobFile) -> PageView | None:
        engine = api_of(request).jobs.engine
        try:
            return await web.views.view(
                f"{row.public_id}:{file.upload_id}", lambda: file_bytes(engine, file.upload_id)
            )
        except (NoteLensError, FileNotFoundError):
            return None

    @router.get("/{job_id}/view", response_class=HTMLResponse)
    async def view(request: Request, job_id: str) -> Response:
        """The result as an HTML fragment the page's script puts in place."""
        row = await owned(request, job_id)
        if row is None:
            return not_found(request)
        lang = as_lang(web.lang(request))
        api = api_of(request)
        job = (await api.view(row, lang)).model_dump(mode="json")
        files = await files_of(api.jobs.engine, row.seq)
        values: dict[str, Any] = {
            "job": job,
            "task_label": plain(lang, TASK_LABELS[row.task]),
            "photos": [],
            "rows": [],
            "markdown": "",
            "zip_ready": False,
        }
        result = job.get("result") or {}
        if row.task == "notes" and job["status"] == "done":
            photos = [Photo(i, f) for i, f in enumerate(files, 1) if f.kind == "image"]
            for photo in photos[:MAX_OUTLINED]:
                photo.view = await page_view(request, row, photo.file)
            values["photos"] = photos
            values["markdown"] = Markup(render_markdown(result.get("markdown") or ""))
        else:
            images = len(files) == len(result.get("items") or []) or None
            values["rows"] = [
                {
                    "n": i,
                    "item": item,
                    "file": files[i - 1] if images else None,
                    "label": files[i - 1].label()
                    if images
                    else plain(lang, "web_page_n", n=item["index"]),
                }
                for i, item in enumerate(result.get("items") or [], 1)
            ]
            values["zip_ready"] = bool(images) and row.task == "classify"
        response = web.render(request, "_result.html", **values)
        return response

    @router.get("/{job_id}/photos/{n}/outlined.jpg")
    async def outlined(request: Request, job_id: str, n: int) -> Response:
        found = await photo_of(request, job_id, n)
        shown = found and await page_view(request, *found)
        if not shown:
            return not_found(request)
        return Response(shown.overlay, media_type="image/jpeg", headers=IMAGE_HEADERS)

    @router.get("/{job_id}/photos/{n}/pages/{page}.jpg")
    async def crop(request: Request, job_id: str, n: int, page: int) -> Response:
        found = await photo_of(request, job_id, n)
        shown = found and await page_view(request, *found)
        if not shown or not 1 <= page <= len(shown.crops):
            return not_found(request)
        return Response(shown.crops[page - 1], media_type="image/jpeg", headers=IMAGE_HEADERS)

    @router.get("/{job_id}/photos/{n}/thumb.jpg")
    async def thumb(request: Request, job_id: str, n: int) -> Response:
        found = await photo_of(request, job_id, n)
        if found is None:
            return not_found(request)
        engine = api_of(request).jobs.engine
        upload_id = found[1].upload_id
        try:
            data = await web.views.thumbnail(lambda: file_bytes(engine, upload_id))
        except (NoteLensError, FileNotFoundError):
            return not_found(request)
        return Response(data, media_type="image/jpeg", headers=IMAGE_HEADERS)

    @router.get("/{job_id}/sorted.zip")
    async def sorted_zip(request: Request, job_id: str) -> Response:
        """The photos of a classify job, one folder per category (failed ones: none)."""
        row = await owned(request, job_id)
        if row is None or row.task != "classify":
            return not_found(request)
        api = api_of(request)
        job = await api.view(row, as_lang(web.lang(request)))
        files = await files_of(api.jobs.engine, row.seq)
        items = job.result.items if job.result else []
        if len(items) != len(files):  # not done, or a PDF's pages
            return not_found(request)
        engine = api.jobs.engine

        def loader(upload_id: int) -> Any:
            return lambda: file_bytes(engine, upload_id)

        chosen = [
            Sorted(item.category or "other", file.label(), loader(file.upload_id))
            for item, file in zip(items, files, strict=True)
            if item.error is None
        ]
        name = f"notelens-{job_id[:8]}.zip"
        return StreamingResponse(
            stream_zip(chosen),
            media_type="application/zip",
            headers={
                "Content-Disposition": f'attachment; filename="{name}"; '
                f"filename*=UTF-8''{quote(name)}",
                "Cache-Control": "no-store",
            },
        )

    return router
