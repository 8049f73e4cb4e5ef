"""`notelens serve`: the ASGI app on uvicorn, stopped cleanly on SIGTERM."""

from __future__ import annotations

import logging
import sys

import uvicorn
from telegram.error import InvalidToken

from ..config import Settings
from ..pipeline.errors import ConfigError
from .app import create_app

EXIT_OK, EXIT_CONFIG = 0, 3
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


def check_listen(settings: Settings, host: str) -> None:
    """Without API_KEYS the API answers anyone who reaches it: only this machine may."""
    if not settings.api_key_values and host not in LOOPBACK:
        raise ConfigError(
            f"API_KEYS is not set, so the HTTP API has no keys: it listens on 127.0.0.1 only, "
            f"not on {host}. Set API_KEYS (comma-separated) to listen on another address.",
            code="no_api_keys",
        )


def run_serve(settings: Settings, host: str, port: int) -> int:
    if not logging.getLogger().handlers:
        logging.basicConfig(
            level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        )
    try:
        check_listen(settings, host)
        app = create_app(settings)
    except ConfigError as exc:
        print(f"notelens serve: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    # uvicorn stops taking requests on SIGTERM, lets the ones in flight finish, then runs
    # the lifespan's shutdown, which lets accepted jobs finish within the grace period.
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, lifespan="on"))
    try:
        server.run()
    except InvalidToken:
        print("notelens serve: Telegram rejected TELEGRAM_BOT_TOKEN.", file=sys.stderr)
        return EXIT_CONFIG
    return EXIT_OK if server.started else EXIT_CONFIG
