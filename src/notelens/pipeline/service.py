"""`Pipeline`: the one object the CLI and the bot hold to run tasks.

It owns the model clients (and so their connection pools and concurrency
limits); callers pass bytes or decoded images and get typed results back.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..config import Settings
from .context import Context, ImageInput
from .results import ClassifyResult, NotesResult, TaskResult
from .tasks.ask import ask
from .tasks.captcha import captcha
from .tasks.classify import classify
from .tasks.notes import Progress, notes
from .tasks.ocr import ocr
from .tasks.receipt import ReceiptResult, receipt


class Pipeline:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.ctx = Context.from_settings(settings)

    async def aclose(self) -> None:
        await self.ctx.aclose()

    async def __aenter__(self) -> Pipeline:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def _lang(self, language: str | None) -> str:
        return language or self.settings.default_language

    async def classify(
        self, image: ImageInput, categories: list[str] | None = None, *, language: str | None = None
    ) -> ClassifyResult:
        cats = categories or self.settings.default_categories
        return await classify(self.ctx, image, cats, language=self._lang(language))

    async def captcha(
        self,
        image: ImageInput,
        *,
        length: int | None = None,
        alphabet: str | None = None,
        language: str | None = None,
    ) -> TaskResult:
        return await captcha(
            self.ctx, image, length=length, alphabet=alphabet, language=self._lang(language)
        )

    async def ocr(self, image: ImageInput, *, language: str | None = None) -> TaskResult:
        return await ocr(self.ctx, image, language=self._lang(language))

    async def ask(
        self, image: ImageInput, question: str, *, language: str | None = None
    ) -> TaskResult:
        return await ask(self.ctx, image, question, language=self._lang(language))

    async def notes(
        self,
        images: Sequence[ImageInput],
        *,
        language: str | None = None,
        names: Sequence[str] | None = None,
        progress: Progress | None = None,
    ) -> NotesResult:
        """Without a `language`, the document is in the language of the text it reads."""
        return await notes(self.ctx, images, language=language, names=names, progress=progress)

    async def receipt(self, image: ImageInput, *, language: str | None = None) -> ReceiptResult:
        return await receipt(self.ctx, image, language=self._lang(language))
