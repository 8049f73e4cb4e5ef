"""The job endpoints: submit, look, stream, download, delete; and `POST /api/v1/<task>`,
which submits and waits. Thin: checks and shapes live in `uploads` and `service`."""

from __future__ import annotations

from collections.abc import AsyncIterable
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, File, Form, Path, Request, Response, Security, UploadFile
from fastapi.responses import JSONResponse
from fastapi.security import HTTPBearer
from fastapi.sse import EventSourceResponse, ServerSentEvent
from pathvalidate import sanitize_filename

from ...i18n import N_
from ...pipeline.registry import TASKS
from . import schemas
from .errors import ApiError, lang_of
from .gate import LOCAL_OWNER, OWNER_KEY
from .service import FINISHED, ApiService
from .uploads import read_inputs

PREFIX = "/api/v1"
JOB_ID = Path(min_length=1, max_length=64, description="the id `POST /api/v1/jobs` answered")


def owner(request: Request) -> str:
    """Who is asking (set by `ApiGate` from the key)."""
    return str(getattr(request.state, OWNER_KEY, LOCAL_OWNER))


def service(request: Request) -> ApiService:
    api: ApiService = request.app.state.api
    return api


Owner = Annotated[str, Depends(owner)]
Service = Annotated[ApiService, Depends(service)]
Files = Annotated[
    list[UploadFile], File(description="one or more images, or one PDF (checked by content)")
]
Categories = Annotated[
    str | None, Form(max_length=2000, description="classify: comma-separated categories")
]
Question = Annotated[str | None, Form(max_length=2000, description="ask: the question")]
Language = Annotated[
    schemas.Language | None, Form(description="answer language (notes: default the text's)")
]


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {status: {"model": schemas.ErrorReply} for status in statuses}


def json_errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """As `errors`, for a route whose own answers are not JSON (its errors still are)."""
    body = schemas.ErrorReply.model_json_schema(ref_template="#/components/schemas/{model}")
    body.pop("$defs", None)
    content = {"application/json": {"schema": body}}
    return {status: {"description": "an error", "content": content} for status in statuses}


# Documents the key for /docs and the schema; `ApiGate` checks it (before the body is read).
bearer = HTTPBearer(
    auto_error=False, description="one of API_KEYS (none when the server has no keys)"
)
KEYED = [Security(bearer)]

router = APIRouter(
    prefix=PREFIX,
    tags=["jobs"],
    responses=errors(400, 401, 422, 429, 500),
    dependencies=KEYED,
)


def accepted(job: schemas.Job | schemas.Accepted) -> JSONResponse:
    return JSONResponse(
        job.model_dump(mode="json"),
        status_code=202,
        headers={"Location": f"{PREFIX}/jobs/{job.id}"},
    )


@router.post(
    "/jobs",
    status_code=202,
    response_model=schemas.Accepted,
    responses=errors(413, 415),
    summary="Submit a job",
)
async def submit_job(
    request: Request,
    who: Owner,
    api: Service,
    files: Files,
    task: Annotated[schemas.Task, Form()],
    categories: Categories = None,
    question: Question = None,
    language: Language = None,
) -> JSONResponse:
    """Stored, then queued: `202 {"id", "status": "queued"}`, the job at `Location`."""
    inputs = await read_inputs(files, api.settings, lang_of(request.headers))
    row = await api.submit(
        who, task, inputs, question=question, categories=categories, language=language
    )
    return accepted(schemas.Accepted(id=row.public_id, status="queued"))


@router.get("/jobs/{job_id}", response_model=schemas.Job, responses=errors(404), summary="A job")
async def get_job(
    request: Request, who: Owner, api: Service, job_id: Annotated[str, JOB_ID]
) -> schemas.Job:
    return await api.view(await api.owned(who, job_id), lang_of(request.headers))


async def _owned_for_events(
    who: Owner, api: Service, job_id: Annotated[str, JOB_ID]
) -> tuple[ApiService, Any]:
    """Checked before the stream starts (a 404 cannot be sent once it has)."""
    return api, await api.owned(who, job_id)


@router.get(
    "/jobs/{job_id}/events",
    response_class=EventSourceResponse,
    responses=json_errors(400, 401, 404, 422, 429, 500),
    summary="A job's progress as server-sent events",
)
async def job_events(
    request: Request, found: Annotated[tuple[ApiService, Any], Depends(_owned_for_events)]
) -> AsyncIterable[ServerSentEvent]:
    """`progress` events (`{"id", "status", "progress"}`) while it runs, then one `done`
    event carrying the whole job (as `GET /api/v1/jobs/{id}`), then the stream ends."""
    api, row = found
    async for event in api.events(row, lang_of(request.headers)):
        yield event


@router.get(
    "/jobs/{job_id}/document",
    response_class=Response,
    responses={
        200: {"content": {"text/markdown": {"schema": {"type": "string"}}}},
        **json_errors(400, 401, 404, 409, 422, 429, 500),
    },
    summary="A notes job's Markdown document",
)
async def job_document(
    request: Request, who: Owner, api: Service, job_id: Annotated[str, JOB_ID]
) -> Response:
    row = await api.owned(who, job_id)
    if row.task != "notes":
        raise ApiError(404, "no_document", N_("api_no_document"))
    job = await api.view(row, lang_of(request.headers))
    if job.status not in FINISHED:
        raise ApiError(409, "not_done", N_("api_not_done"))
    if job.result is None or job.result.markdown is None:
        assert job.error is not None
        return JSONResponse({"error": job.error.model_dump()}, status_code=409)
    name = sanitize_filename(job.result.title or "")[:80].strip() or "notes"
    plain_name = name if name.isascii() and '"' not in name else "notes"  # for old clients
    disposition = (
        f"attachment; filename=\"{plain_name}.md\"; filename*=UTF-8''{quote(name + '.md')}"
    )
    return Response(
        job.result.markdown,
        media_type="text/markdown; charset=utf-8",
        headers={"Content-Disposition": disposition},
    )


@router.delete(
    "/jobs/{job_id}", status_code=204, responses=errors(404), summary="Cancel and forget a job"
)
async def delete_job(who: Owner, api: Service, job_id: Annotated[str, JOB_ID]) -> Response:
    """Cancels it if it runs; forgets it, its files and its result."""
    await api.forget(who, job_id)
    return Response(status_code=204)


def add_task_route(task: str) -> None:
    """`POST /api/v1/<task>`: submit, wait up to `wait` seconds; 200 with the job when it
    ended, else 202 with it as it is (look it up later by its id)."""

    async def run_and_wait(
        request: Request,
        who: Owner,
        api: Service,
        files: Files,
        categories: Categories = None,
        question: Question = None,
        language: Language = None,
        wait: Annotated[float, Form(ge=0, le=300, description="seconds to wait")] = 60.0,
    ) -> JSONResponse:
        lang = lang_of(request.headers)
        inputs = await read_inputs(files, api.settings, lang)
        row = await api.submit(
            who, task, inputs, question=question, categories=categories, language=language
        )
        job = await api.view(await api.wait(row, wait), lang)
        if job.status in FINISHED:
            return JSONResponse(job.model_dump(mode="json"))
        return accepted(job)

    router.add_api_route(
        f"/{task}",
        run_and_wait,
        methods=["POST"],
        response_model=schemas.Job,
        responses={202: {"model": schemas.Job}, **errors(413, 415)},
        summary=f"Run `{task}` and wait for the result",
        description=TASKS[task].description,
        name=f"run_{task}",
    )


for _task in ("notes", "ocr", "classify", "captcha", "ask", "receipt"):
    add_task_route(_task)
