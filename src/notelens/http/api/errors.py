"""Every error the app answers is JSON `{"error": {"code", "message"}}`: a stable English code
for programs and a message for people, in Chinese or English by `Accept-Language`.

A 500 says only that something went wrong (the exception is logged, never sent).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from ...i18n import N_, Lang, plain

log = logging.getLogger(__name__)


def lang_of(headers: Mapping[str, str]) -> Lang:
    """Chinese when the client's first language is Chinese, else English."""
    first = headers.get("accept-language", "").split(",", 1)[0].strip().lower()
    return "zh" if first.startswith("zh") else "en"


class ApiError(Exception):
    """An answer other than success: status, code, and the catalogue key of the message."""

    def __init__(
        self,
        status: int,
        code: str,
        key: str,
        *,
        headers: dict[str, str] | None = None,
        **values: object,
    ) -> None:
        super().__init__(code)
        self.status, self.code, self.key, self.values = status, code, key, values
        self.headers = headers

    def message(self, lang: Lang) -> str:
        return plain(lang, self.key, **self.values)


LEGACY_OCR_PATH = "/ocr"  # answers in the earlier service's shape, errors included


def error_body(code: str, message: str, *, legacy: bool = False) -> dict[str, Any]:
    if legacy:
        return {"success": False, "error": message}
    return {"error": {"code": code, "message": message}}


def error_response(
    status: int,
    code: str,
    message: str,
    headers: dict[str, str] | None = None,
    *,
    legacy: bool = False,
) -> JSONResponse:
    body = error_body(code, message, legacy=legacy)
    return JSONResponse(body, status_code=status, headers=headers)


def is_legacy(path: str) -> bool:
    return path == LEGACY_OCR_PATH


# Starlette's own refusals (no route, wrong method, ...) in our shape.
_HTTP_CODES = {
    400: ("bad_request", N_("api_invalid")),
    404: ("not_found", N_("api_no_route")),
    405: ("method_not_allowed", N_("api_no_route")),
    413: ("too_large", N_("api_too_large")),
}


def describe_validation(exc: RequestValidationError) -> str:
    """`task: Input should be 'notes', 'ocr', ...` for the first problems (at most three)."""
    parts = []
    for error in exc.errors()[:3]:
        where = ".".join(str(p) for p in error.get("loc", ()) if p not in ("body", "query", "path"))
        parts.append(f"{where}: {error.get('msg', 'invalid')}" if where else error.get("msg", ""))
    return "; ".join(parts) or "invalid"


def install_handlers(app: FastAPI, *, max_upload_mb: float) -> None:
    async def api_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ApiError)
        message = exc.message(lang_of(request.headers))
        legacy = is_legacy(request.url.path)
        return error_response(exc.status, exc.code, message, exc.headers, legacy=legacy)

    async def http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, HTTPException)
        lang = lang_of(request.headers)
        code, key = _HTTP_CODES.get(exc.status_code, ("error", N_("api_internal")))
        if exc.status_code == 413:
            message = plain(lang, key, limit=f"{max_upload_mb:g}")
        elif key == "api_invalid":
            message = plain(lang, key, details=str(exc.detail))
        else:
            message = plain(lang, key)
        headers = dict(exc.headers or {}) or None
        return error_response(
            exc.status_code, code, message, headers, legacy=is_legacy(request.url.path)
        )

    async def invalid(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        message = plain(lang_of(request.headers), "api_invalid", details=describe_validation(exc))
        return error_response(422, "invalid", message, legacy=is_legacy(request.url.path))

    async def internal(request: Request, exc: Exception) -> JSONResponse:
        log.error("unexpected error in %s %s", request.method, request.url.path, exc_info=exc)
        message = plain(lang_of(request.headers), N_("api_internal"))
        return error_response(500, "internal", message, legacy=is_legacy(request.url.path))

    app.add_exception_handler(ApiError, api_error)
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(RequestValidationError, invalid)
    app.add_exception_handler(Exception, internal)
