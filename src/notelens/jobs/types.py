"""What a job is: a task for someone, on files they sent, that a button or a retry can run again."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class MediaRef:
    """A file the user sent, as Telegram knows it (we keep ids, never bytes or URLs)."""

    file_id: str
    kind: str  # "photo" | "image" | "pdf"
    size: int | None = None
    name: str | None = None
    message_id: int | None = None
    unique_id: str | None = None  # Telegram's file_unique_id: the same file, whoever sends it

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


@dataclass
class Job:
    user_id: int  # whose job: the person, or the group for its anonymous admins
    chat_id: int
    task: str  # a name in pipeline.registry.TASKS
    media: list[MediaRef]
    question: str | None = None
    categories: list[str] | None = None
    job_id: str | None = None  # opaque, random (Store.add_job)
    # Task-specific facts that must survive a Retry (receipts: who posted the photo, when).
    meta: dict[str, Any] | None = None
    reply_to: int | None = field(default=None, compare=False)
    quiet: bool = field(default=False, compare=False)  # auto mode: say nothing unless found
    lang: str = field(default="en", compare=False)  # the language to answer in
