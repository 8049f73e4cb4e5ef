"""What handlers are given (through `bot_data`): settings, pipeline, store and schedulers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from telegram.ext import ContextTypes

from ..config import Settings
from ..pipeline.context import ImageInput
from ..pipeline.results import ClassifyResult, NotesResult, TaskResult
from ..pipeline.tasks.receipt import ReceiptResult
from ..store import Store
from .admins import AdminCache
from .jobs import AlbumCollector, Lanes, RateLimiter
from .ledger import Ledger

SERVICES_KEY = "services"


class PipelineLike(Protocol):
    """The part of `pipeline.service.Pipeline` the bot uses (tests may pass a stub)."""

    async def aclose(self) -> None: ...

    async def classify(
        self, image: ImageInput, categories: list[str] | None = None, *, language: str | None = None
    ) -> ClassifyResult: ...

    async def captcha(self, image: ImageInput, *, language: str | None = None) -> TaskResult: ...

    async def ocr(self, image: ImageInput, *, language: str | None = None) -> TaskResult: ...

    async def ask(
        self, image: ImageInput, question: str, *, language: str | None = None
    ) -> TaskResult: ...

    async def notes(
        self,
        images: Sequence[ImageInput],
        *,
        language: str | None = None,
        progress: Callable[[int, int], Awaitable[None]] | None = None,
    ) -> NotesResult: ...

    async def receipt(self, image: ImageInput, *, language: str | None = None) -> ReceiptResult: ...


@dataclass
class Services:
    settings: Settings
    pipeline: PipelineLike
    store: Store
    lanes: Lanes
    limiter: RateLimiter
    albums: AlbumCollector
    owns_pipeline: bool = True
    owns_store: bool = True
    ledger: Ledger = field(init=False)
    admins: AdminCache = field(init=False)

    def __post_init__(self) -> None:
        self.ledger = Ledger(self.store)
        self.admins = AdminCache(self.settings.admin_user_ids)

    def allowed(self, user_id: int) -> bool:
        """An empty ALLOWED_USER_IDS means everyone; admins are always allowed."""
        allowed = self.settings.allowed_user_ids
        return not allowed or user_id in allowed or user_id in self.settings.admin_user_ids

    def is_admin(self, user_id: int) -> bool:
        return user_id in self.settings.admin_user_ids

    def throttle(self, user_id: int) -> float:
        """Count a job for the user: 0 when it may run, else seconds to wait. Bot admins are
        never limited."""
        return 0.0 if self.is_admin(user_id) else self.limiter.try_acquire(user_id)

    def categories_for(self, stored: list[str] | None) -> list[str]:
        return list(stored) if stored else list(self.settings.default_categories)


def services(context: ContextTypes.DEFAULT_TYPE) -> Services:
    return context.bot_data[SERVICES_KEY]  # type: ignore[no-any-return]
