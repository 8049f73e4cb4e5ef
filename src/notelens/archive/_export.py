"""An owner's notes as a zip that opens as an Obsidian vault: one folder per category,
one Markdown file per note with YAML front matter (title, date, category, keywords, source)."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable
from typing import Any

import yaml

from ._models import Note
from ._names import safe_name


def one_line(text: str) -> str:
    """Front matter values stay on one line: a `---` line inside would end the block."""
    return " ".join(text.split())


def front_matter(note: Note) -> str:
    data: dict[str, Any] = {
        "title": one_line(note.title),
        "date": note.created_at.date(),
        "category": one_line(note.category),
        "keywords": [one_line(k) for k in note.keywords],
        "source": note.source.to_dict(),
        "number": note.number,
    }
    dumped = yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=10_000)
    return f"---\n{dumped}---\n\n"


def note_path(note: Note) -> str:
    return f"{safe_name(note.category, 'other')}/{note.file_name}"


def build_zip(notes: Iterable[Note]) -> bytes:
    """CPU work (compression): call it in a worker thread."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for note in notes:
            info = zipfile.ZipInfo(note_path(note), date_time=note.created_at.timetuple()[:6])
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, front_matter(note) + note.markdown)
    return buffer.getvalue()
