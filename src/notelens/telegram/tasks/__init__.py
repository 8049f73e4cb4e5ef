"""The general tasks (notes, OCR, classify, captcha, questions): their handlers, buttons
and the way each is answered."""

from __future__ import annotations

from ..context import BotApp
from . import presenters as presenters  # registers how notes, classify and captcha answer
from .buttons import add_button_handlers
from .handlers import add_task_handlers, menu


def register(app: BotApp) -> None:
    add_task_handlers(app)
    add_button_handlers(app)


__all__ = ["menu", "register"]
