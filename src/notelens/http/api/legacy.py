"""Drop-in endpoints for clients of the services NoteLens grew from, in their shapes:

- `POST /ocr` `{"image": "<base64>"}` → `{"success": true, "ocr_result", "preprocessed_image"}`
  (a base64 PNG of what the OCR engine was given); failures `{"success": false, "error"}`.
- `POST /api/v1/analyze` (multipart `image`, `query`) → `{"text": "..."}`.

Both run as jobs like any other (stored, durable, listed under the key), and wait for them.
"""

from __future__ import annotations

import base64
import binascii
import logging
from typing import Annotated

from fastapi import APIRouter, Form, Request, UploadFile
from fastapi.responses import JSONResponse

from ...i18n import INPUT_ERROR_KEYS, N_, Lang
from ...pipeline.errors import NoteLensError
from ...pipeline.tasks.ocr import ocr_input_png
from . import schemas
from .errors import LEGACY_OCR_PATH, ApiError, error_response, lang_of
from .routes import KEYED, Owner, Service, errors
from .service import FINISHED, ApiService
from .uploads import Inputs, check_upload

log = logging.getLogger(__name__)

LEGACY_WAIT_S = 300.0  # the old services answered when done, however long it took

router = APIRouter(tags=["drop-in"], dependencies=KEYED)


def decode_base64(text: str) -> bytes:
    """Plain base64 or a data URL (`data:image/png;base64,...`); whitespace ignored."""
    if text.startswith("data:"):
        text = text.split(",", 1)[-1]
    try:
        return base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError):
        raise ApiError(422, "bad_base64", N_("api_bad_base64")) from None


def failure_status(code: str) -> int:
    """The input's fault (422), or the model's (502)."""
    return 422 if code in INPUT_ERROR_KEYS else 502


async def run_one(
    api: ApiService, owner: str, task: str, inputs: Inputs, lang: Lang, question: str | None = None
) -> schemas.Job:
    row = await api.submit(owner, task, inputs, question=question)
    job = await api.view(await api.wait(row, LEGACY_WAIT_S), lang)
    if job.status not in FINISHED:
        raise ApiError(504, "timeout", N_("api_timeout"), seconds=f"{LEGACY_WAIT_S:g}")
    return job


@router.post(
    LEGACY_OCR_PATH,
    response_model=schemas.OcrReply,
    responses={
        code: {"model": schemas.OcrReply} for code in (400, 401, 413, 415, 422, 429, 500, 502, 504)
    },
    summary="OCR one image (drop-in for the earlier Flask service)",
)
async def legacy_ocr(
    request: Request, who: Owner, api: Service, body: schemas.OcrRequest
) -> schemas.OcrReply | JSONResponse:
    lang = lang_of(request.headers)
    upload = await check_upload(decode_base64(body.image), "image", api.settings)
    if upload.kind != "image":
        raise ApiError(415, "not_image", N_("api_not_image"), name="image")
    job = await run_one(api, who, "ocr", Inputs([upload]), lang)
    if job.error is not None or job.result is None:
        error = job.error or schemas.ErrorInfo(code="failed", message="failed")
        status = failure_status(error.code)
        return error_response(status, error.code, error.message, legacy=True)
    # What the engine that read it was given (the offline one when the model failed),
    # made as the job's step made it.
    offline = job.result.items[0].engine == "local"
    try:
        png = await ocr_input_png(api.engine.pipeline.ctx, upload.data, offline=offline)
    except NoteLensError as exc:  # read by the job, yet not decodable here: say so
        log.warning("the preprocessed image could not be made (%s)", exc.code)
        png = b""
    return schemas.OcrReply(
        success=True,
        ocr_result=job.result.text,
        preprocessed_image=base64.b64encode(png).decode("ascii") if png else None,
    )


@router.post(
    "/api/v1/analyze",
    response_model=schemas.AnalyzeReply,
    responses=errors(400, 401, 413, 415, 422, 429, 500, 502, 504),
    summary="Ask a question about one image (drop-in for the earlier service)",
)
async def analyze(
    request: Request,
    who: Owner,
    api: Service,
    image: Annotated[UploadFile, Form(description="the image")],
    query: Annotated[str, Form(min_length=1, max_length=2000, description="the question")],
) -> schemas.AnalyzeReply | JSONResponse:
    lang = lang_of(request.headers)
    upload = await check_upload(await image.read(), image.filename, api.settings)
    if upload.kind != "image":
        raise ApiError(415, "not_image", N_("api_not_image"), name=image.filename or "image")
    job = await run_one(api, who, "ask", Inputs([upload]), lang, question=query)
    if job.error is not None or job.result is None:
        error = job.error or schemas.ErrorInfo(code="failed", message="failed")
        return error_response(failure_status(error.code), error.code, error.message)
    return schemas.AnalyzeReply(text=job.result.text)
