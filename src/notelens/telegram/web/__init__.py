"""`/web`: a signed link that opens the web page as the person who asked."""

from __future__ import annotations

from ..context import BotApp
from .handlers import add_web_handlers


def register(app: BotApp) -> None:
    add_web_handlers(app)


__all__ = ["register"]
