"""The REST API of `notelens serve` (FastAPI; schema at /openapi.json, docs at /docs).

- `POST /api/v1/jobs`, `GET|DELETE /api/v1/jobs/{id}`, `.../events` (SSE), `.../document`;
  `POST /api/v1/<task>` submits and waits (`routes`).
- `POST /ocr`, `POST /api/v1/analyze`: the earlier services' shapes (`legacy`).
- Keys, rate limit, upload limit before the body is read (`gate`); every error JSON
  (`errors`); jobs on the durable engine, files and outcomes in the store (`service`).

`add_api(app, settings)` installs it; `api.running(telegram)` in the app's lifespan
starts it (on the bot's job engine, or an engine of its own).
"""

from __future__ import annotations

from fastapi import FastAPI

from ...config import Settings
from . import legacy, routes
from .errors import install_handlers
from .gate import ApiGate
from .service import ApiService

__all__ = ["ApiService", "add_api"]


def add_api(app: FastAPI, settings: Settings) -> ApiService:
    api = ApiService(settings)
    app.state.api = api
    install_handlers(app, max_upload_mb=settings.api_max_upload_mb)
    app.include_router(routes.router)
    app.include_router(legacy.router)
    app.add_middleware(
        ApiGate,
        keys=settings.api_key_values,
        max_body=settings.api_max_upload_bytes,
        max_upload_mb=settings.api_max_upload_mb,
        rate=api.rate,
    )
    return api
