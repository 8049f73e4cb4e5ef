"""The HTTP tests run the real bot against the same fakes as the Telegram tests."""

from tests.telegram.conftest import bot_settings, tg

__all__ = ["bot_settings", "tg"]
