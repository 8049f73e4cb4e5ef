"""The notes archive: every notes result kept per owner, filed by category, searchable
in Chinese and English, exported as an Obsidian vault. `Archive` is the service;
`note_from_result` turns a pipeline result into a note to keep."""

from ._models import (
    ArchivedPage,
    NewNote,
    Note,
    NoteSummary,
    SearchHit,
    Source,
    telegram_owner,
)
from .filing import Filed, keep_result, note_from_result
from .service import Archive, open_archive

__all__ = [
    "Archive",
    "ArchivedPage",
    "Filed",
    "NewNote",
    "Note",
    "NoteSummary",
    "SearchHit",
    "Source",
    "keep_result",
    "note_from_result",
    "open_archive",
    "telegram_owner",
]
