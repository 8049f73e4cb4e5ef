"""The notes archive in the bot: every notes result kept for its owner (`keeping`),
and `/notes` to list, search, get, refile, delete and export them (`handlers`)."""

from __future__ import annotations

from ..context import BotApp
from .handlers import add_notes_handlers


def register(app: BotApp) -> None:
    add_notes_handlers(app)


__all__ = ["register"]
