"""What handlers are given: `CustomContext` (PTB's contexttypesbot idiom) with the services
(settings, pipeline, store, schedulers) and the update's parsed intent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, Protocol, cast

from telegram.ext import Application, CallbackContext, ExtBot

from ..archive import Archive
from ..config import Settings
from ..pipeline.context import ImageInput
from ..pipeline.registry import Options
from ..pipeline.results import TaskResult
from ..store import Store
from .admins import AdminCache
from .ledger import Ledger
from .pending import Intake
from .scheduling import AlbumCollector, Lanes

if TYPE_CHECKING:
    from ..jobs import JobEngine
    from .intent import Intent

SERVICES_KEY = "services"
# Plain texts (hints) a person may get per minute; more are not answered.
HINTS_PER_MINUTE = 3


class PipelineLike(Protocol):
    """The part of `pipeline.service.Pipeline` the bot uses: run a registered task."""

    async def aclose(self) -> None: ...

    async def run(
        self, task: str, images: Sequence[ImageInput], options: Options
    ) -> list[TaskResult]: ...


@dataclass
class Services:
    settings: Settings
    pipeline: PipelineLike
    store: Store
    lanes: Lanes
    albums: AlbumCollector[Intent]
    owns_pipeline: bool = True
    owns_store: bool = True
    # Durable jobs (started with the application); None: jobs run on the in-memory lanes.
    jobs: JobEngine | None = None
    intake: Intake = field(default_factory=lambda: Intake())
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

    async def throttle(self, key: int) -> float:
        """Count a job for `key` (a person, or a group its anonymous admins share): 0 when it
        may run, else seconds to wait. Bot admins are never limited. Counted in the
        database, so every process of a deployment shares the limit."""
        if self.is_admin(key):
            return 0.0
        return await self.store.take_rate("jobs", key, self.settings.user_jobs_per_minute, 60)

    async def hint_allowed(self, key: int) -> bool:
        """A plain-text hint for `key`: at most HINTS_PER_MINUTE, across processes."""
        return not await self.store.take_rate("hints", key, HINTS_PER_MINUTE, 60)

    def categories_for(self, stored: list[str] | None) -> list[str]:
        return list(stored) if stored else list(self.settings.default_categories)

    @cached_property
    def archive(self) -> Archive:
        """The notes archive, in the store's database (first used after the store opened)."""
        return Archive(self.store.engine, retention_days=self.settings.archive_retention_days)


class CustomContext(CallbackContext[ExtBot[Any], dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    """PTB's context with typed services, and the intent the gate parsed for this update
    (PTB builds one context per update and hands it to every handler group)."""

    intent: Intent | None = None
    current_update: object = None  # for error reports

    @property
    def services(self) -> Services:
        return cast(Services, self.bot_data[SERVICES_KEY])


BotApp = Application[
    ExtBot[Any], CustomContext, dict[Any, Any], dict[Any, Any], dict[Any, Any], Any
]


def services_of(app: BotApp) -> Services:
    return cast(Services, app.bot_data[SERVICES_KEY])
