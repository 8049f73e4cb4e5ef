"""`create_app(settings)`: the ASGI app of `notelens serve` (FastAPI on uvicorn): the
Telegram webhook, health checks, and the REST API (`http.api`).

The Telegram webhook follows PTB's custom-webhook pattern (an Application without an
Updater, started in the ASGI lifespan), with one difference that matters: the update is
handled (its job enqueued) before the request is answered, so Telegram re-sends it when
the process dies first. Requests without the right `X-Telegram-Bot-Api-Secret-Token`
are refused before anything is read into the bot.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Header, Request
from fastapi.responses import JSONResponse, Response
from telegram import Update
from telegram.ext import Application

from ..config import Settings
from ..pipeline.errors import ConfigError
from ..store import Store
from .api import add_api
from .web.routes import mount_web

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/telegram/webhook"

TelegramApp = Application[Any, Any, Any, Any, Any, Any]


def check_config(settings: Settings) -> None:
    """A bot token needs the public address Telegram posts to and the secret it sends."""
    if settings.telegram_bot_token is None:
        return
    if not settings.public_url or settings.webhook_secret is None:
        raise ConfigError(
            "`notelens serve` takes Telegram updates by webhook: set PUBLIC_URL (the https "
            "address Telegram can reach) and WEBHOOK_SECRET, or run `notelens bot` for long "
            "polling instead.",
            code="no_webhook",
        )


def create_app(settings: Settings, telegram: TelegramApp | None = None) -> FastAPI:
    """The app; `telegram` is built from settings when a bot token is set and none is given."""
    check_config(settings)
    if telegram is None and settings.telegram_bot_token is not None:
        from ..telegram.app import build_app

        telegram = build_app(settings)

    own_store = Store.from_settings(settings) if telegram is None else None

    def store() -> Store:
        if own_store is not None:
            return own_store
        assert telegram is not None
        from ..telegram.context import services_of

        return services_of(telegram).store

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if telegram is None:
            assert own_store is not None
            await own_store.open()
            try:
                async with api.running(None):
                    yield
            finally:
                await own_store.close()
            return
        from ..telegram.app import running

        async with running(telegram):
            assert settings.public_url is not None and settings.webhook_secret is not None
            await telegram.bot.set_webhook(
                url=settings.public_url.rstrip("/") + WEBHOOK_PATH,
                secret_token=settings.webhook_secret.get_secret_value(),
                allowed_updates=Update.ALL_TYPES,
            )
            async with api.running(telegram):
                yield

    app = FastAPI(title="NoteLens", lifespan=lifespan)
    api = add_api(app, settings)
    mount_web(app, settings, store)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        """The process is up."""
        return {"status": "ok"}

    @app.get("/readyz")
    async def readyz() -> Response:
        """The database answers."""
        if telegram is not None:
            from ..telegram.context import services_of

            try:
                await services_of(telegram).store.ping()
            except Exception as exc:  # any failure means "not ready"; say which kind only
                log.warning("readiness: the database did not answer (%s)", type(exc).__name__)
                return _error(503, "not_ready", "the database is not reachable")
        else:
            try:
                await api.ping()
            except Exception as exc:
                log.warning("readiness: the database did not answer (%s)", type(exc).__name__)
                return _error(503, "not_ready", "the database is not reachable")
        return JSONResponse({"status": "ready"})

    if telegram is not None:
        from ..telegram.polling import handled

        secret = (
            settings.webhook_secret.get_secret_value().encode() if settings.webhook_secret else b""
        )
        bot = telegram

        @app.post(WEBHOOK_PATH, include_in_schema=False)
        async def webhook(
            request: Request,
            token: str | None = Header(default=None, alias="X-Telegram-Bot-Api-Secret-Token"),
        ) -> Response:
            if token is None:
                return _error(401, "unauthorized", "missing secret token")
            if not hmac.compare_digest(token.encode(), secret):
                return _error(403, "forbidden", "wrong secret token")
            try:
                update = Update.de_json(await request.json(), bot.bot)
            except (ValueError, TypeError, KeyError):
                return _error(400, "bad_update", "not a Telegram update")
            await bot.process_update(update)
            try:
                await handled(bot, update)
            except Exception as exc:  # not stored: Telegram sends the update again
                log.warning("an update could not be stored (%s)", type(exc).__name__)
                return _error(503, "not_stored", "the update could not be stored; retry")
            return Response(status_code=200)

    return app


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)
