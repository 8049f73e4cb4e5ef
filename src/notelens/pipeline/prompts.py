"""Prompt templates: files in the package's `prompts/`, one per task and language.

They ship inside the package and are read with `importlib.resources`, so a wheel
installed anywhere finds them. `PROMPTS_DIR` may point at a folder of edited copies
(to try a prompt without reinstalling); a name missing there falls back to the packaged one.

Placeholders are `$name`; only the names a caller passes are replaced, so the
dollar signs of LaTeX in a prompt stay as written. A prompt that cannot be read is a
`ConfigError` naming the file by its name (never its path: it may end up in a document).
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources
from pathlib import Path

from .errors import ConfigError

LANGUAGES = ("zh", "en")


@cache
def _read(directory: Path | None, name: str, language: str) -> str:
    file_name = f"{name}.{language}.md"
    try:
        if directory is not None and (directory / file_name).is_file():
            return (directory / file_name).read_text(encoding="utf-8").strip()
        packaged = resources.files("notelens").joinpath("prompts", file_name)
        return packaged.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise ConfigError(
            f"The prompt file {file_name} cannot be read ({reason}).", code="prompt_unreadable"
        ) from exc


def render(directory: Path | None, name: str, language: str, **values: str) -> str:
    lang = language if language in LANGUAGES else "en"
    template = _read(directory, name, lang)
    if not values:
        return template
    return re.sub(r"\$(\w+)", lambda m: values.get(m.group(1), m.group(0)), template)


def numbered(items: list[str]) -> str:
    return "\n".join(f"{i}. {item}" for i, item in enumerate(items, 1))
