"""The HTTP side, served by `notelens serve`: the Telegram webhook and health checks."""
