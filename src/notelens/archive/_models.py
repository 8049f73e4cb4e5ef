"""What goes into the archive and what comes out of it."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from ._names import note_file_name

SourceKind = Literal["telegram", "files", "api"]


def telegram_owner(chat_id: int, user_id: int, *, private: bool) -> str:
    """Whose notes: a person's in a private chat; a group's belong to the group."""
    return f"tg-user:{user_id}" if private else f"tg-chat:{chat_id}"


@dataclass(frozen=True)
class Source:
    """Where a note came from: a chat and message, or the files a CLI user gave."""

    kind: SourceKind
    chat_id: int | None = None
    message_id: int | None = None
    files: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind}
        if self.chat_id is not None:
            out["chat"] = self.chat_id
        if self.message_id is not None:
            out["message"] = self.message_id
        if self.files:
            out["files"] = list(self.files)
        return out

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> Source:
        data = json.loads(text)
        return cls(
            kind=data.get("kind", "api"),
            chat_id=data.get("chat"),
            message_id=data.get("message"),
            files=tuple(data.get("files", ())),
        )


@dataclass(frozen=True)
class ArchivedPage:
    index: int
    raw: str
    polished: str | None = None
    error: str | None = None


@dataclass
class NewNote:
    """A notes result ready to keep (see `filing.note_from_result`)."""

    title: str
    markdown: str
    pages: list[ArchivedPage]
    source: Source
    category: str
    keywords: list[str] = field(default_factory=list)
    language: str = "zh"
    model: str = ""
    engine: str = "vlm"
    created_at: datetime | None = None  # None: now

    @property
    def body(self) -> str:
        """The text search reads: each page's polished text, or its raw OCR."""
        return "\n\n".join(p.polished or p.raw for p in self.pages if p.error is None)


@dataclass(frozen=True)
class NoteSummary:
    number: int
    title: str
    category: str
    created_at: datetime


@dataclass(frozen=True)
class SearchHit(NoteSummary):
    snippet: str = ""
    highlights: tuple[tuple[int, int], ...] = ()  # spans of the matched words in `snippet`


@dataclass(frozen=True)
class Note(NoteSummary):
    keywords: tuple[str, ...] = ()
    source: Source = Source("api")
    language: str = "zh"
    model: str = ""
    engine: str = "vlm"
    markdown: str = ""
    pages: tuple[ArchivedPage, ...] = ()

    @property
    def file_name(self) -> str:
        """The Markdown file's name, safe on Windows, macOS and Linux."""
        return note_file_name(self.number, self.title)


def to_time(value: float) -> datetime:
    return datetime.fromtimestamp(value, UTC)
