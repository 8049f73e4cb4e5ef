"""`Pipeline`: the one object the CLI and the bot hold to run tasks.

It owns the model clients (and so their connection pools and concurrency
limits); callers pass bytes or decoded images and get typed results back.
`run(name, images, options)` runs any task of the registry; the typed methods
below are conveniences for library callers over the same `run`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from ..config import Settings
from .context import Context, ImageInput
from .registry import Options, spec
from .results import ClassifyResult, NotesResult, TaskResult
from .tasks.notes import Progress
from .tasks.receipt import ReceiptResult


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

    async def run(
        self, task: str, images: Sequence[ImageInput], options: Options
    ) -> list[TaskResult]:
        """Run a registered task: once per image (in parallel), or once over all of them."""
        s = spec(task)
        if not s.per_image:
            return [await s.run(self.ctx, images, options)]
        return list(await asyncio.gather(*(s.run(self.ctx, [img], options) for img in images)))

    async def _one(self, task: str, images: Sequence[ImageInput], options: Options) -> TaskResult:
        [result] = await self.run(task, images, options)
        return result

    async def classify(
        self, image: ImageInput, categories: list[str] | None = None, *, language: str | None = None
    ) -> ClassifyResult:
        options = Options(self._lang(language), categories=categories)
        result = await self._one("classify", [image], options)
        assert isinstance(result, ClassifyResult)
        return result

    async def captcha(
        self,
        image: ImageInput,
        *,
        length: int | None = None,
        alphabet: str | None = None,
        language: str | None = None,
    ) -> TaskResult:
        options = Options(self._lang(language), length=length, alphabet=alphabet)
        return await self._one("captcha", [image], options)

    async def ocr(self, image: ImageInput, *, language: str | None = None) -> TaskResult:
        return await self._one("ocr", [image], Options(self._lang(language)))

    async def ask(
        self, image: ImageInput, question: str, *, language: str | None = None
    ) -> TaskResult:
        return await self._one("ask", [image], Options(self._lang(language), question=question))

    async def notes(
        self,
        images: Sequence[ImageInput],
        *,
        language: str | None = None,
        names: Sequence[str] | None = None,
        progress: Progress | None = None,
    ) -> NotesResult:
        """Without a `language`, the document is in the language of the text it reads."""
        options = Options(language, names=names, progress=progress)
        result = await self._one("notes", images, options)
        assert isinstance(result, NotesResult)
        return result

    async def receipt(self, image: ImageInput, *, language: str | None = None) -> ReceiptResult:
        result = await self._one("receipt", [image], Options(self._lang(language)))
        assert isinstance(result, ReceiptResult)
        return result
