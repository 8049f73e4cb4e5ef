"""Typed results of the tasks: the answer, the raw model output, usage and warnings."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Engine = Literal["vlm", "local"]


@dataclass
class Usage:
    """Token accounting; `estimated_image_tokens` is our formula, the rest the API's answer."""

    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    image_tokens: int = 0
    estimated_image_tokens: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.calls + other.calls,
            self.prompt_tokens + other.prompt_tokens,
            self.completion_tokens + other.completion_tokens,
            self.image_tokens + other.image_tokens,
            self.estimated_image_tokens + other.estimated_image_tokens,
        )

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass
class TaskResult:
    text: str
    raw: str = ""
    usage: Usage = field(default_factory=Usage)
    warnings: list[str] = field(default_factory=list)
    engine: Engine = "vlm"


@dataclass
class ClassifyResult(TaskResult):
    category: str = "other"
    categories: list[str] = field(default_factory=list)


@dataclass
class PageResult:
    """One page of a notes document; a failed page keeps its place with `error` set."""

    index: int
    source: int
    ocr_text: str = ""
    polished: str | None = None
    error: str | None = None
    warnings: list[str] = field(default_factory=list)
    engine: Engine = "vlm"
    error_code: str | None = None  # the NoteLensError code, for a message in the reader's language

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class NotesResult(TaskResult):
    title: str = ""
    markdown: str = ""
    language: str = "en"  # of the document: as asked, else detected from the text
    pages: list[PageResult] = field(default_factory=list)

    @property
    def failed_pages(self) -> list[PageResult]:
        return [p for p in self.pages if not p.ok]
