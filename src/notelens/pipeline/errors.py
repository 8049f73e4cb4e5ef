"""Typed errors that carry a message a person understands.

Each error has a stable `code` (the bot maps it to a Chinese or English reply)
and an English `str()` for the command line and logs. None of them ever holds
a secret or a URL with a token in it.
"""

from __future__ import annotations

from pathlib import Path


class NoteLensError(Exception):
    code = "error"

    def __init__(self, message: str, *, code: str | None = None, **details: object) -> None:
        super().__init__(message)
        if code:
            self.code = code
        self.details = details


class ImageError(NoteLensError):
    """The input is not an image we can read: empty, corrupt, not an image, or too big."""

    code = "image_invalid"


class ConfigError(NoteLensError):
    """A setting is missing or wrong (no API key, no bot token ...)."""

    code = "config"


class ModelError(NoteLensError):
    """The model endpoint failed after its retries, or its answer was unusable."""

    code = "model_error"


class ModelUnavailable(ModelError):
    """Unreachable, timed out, rate-limited or a server error, after the client's retries."""

    code = "model_unavailable"


class ModelAuthError(ModelError):
    code = "model_auth"


class ModelOutputError(ModelError):
    """The model answered, but with nothing usable (empty, cut off, looping, garbage)."""

    code = "model_output"


def describe_os_error(exc: OSError) -> str:
    """`notes.md: Permission denied`: the file by its name and what went wrong, never its path
    (and never Python's `[Errno 13]` wording)."""
    name = Path(str(exc.filename)).name if exc.filename else None
    reason = exc.strerror or str(exc) or type(exc).__name__
    return f"{name}: {reason}" if name else reason
