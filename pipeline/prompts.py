"""Prompt templates are files in `prompts/`, one per task and language.

Placeholders are `$name`; only the names a caller passes are replaced, so the
dollar signs of LaTeX in a prompt stay as written.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

LANGUAGES = ("zh", "en")


@cache
def _read(directory: Path, name: str, language: str) -> str:
    return (directory / f"{name}.{language}.md").read_text(encoding="utf-8").strip()


def render(directory: Path, name: str, language: str, **values: str) -> str:
    lang = language if language in LANGUAGES else "en"
    template = _read(directory, name, lang)
    if not values:
        return template
    return re.sub(r"\$(\w+)", lambda m: values.get(m.group(1), m.group(0)), template)


def numbered(items: list[str]) -> str:
    return "\n".join(f"{i}. {item}" for i, item in enumerate(items, 1))
