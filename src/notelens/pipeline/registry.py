"""The tasks the product offers, in one table: the CLI and the bot both read it.

Adding a task means a module in `pipeline/tasks/`, its prompts in `prompts/`, and one
`TaskSpec` line in `TASKS` below. A task that reads each photo on its own
(`per_image=True`) is run once per photo; one that reads them together (notes) once.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from .context import Context, ImageInput
from .results import TaskResult
from .tasks.ask import ask
from .tasks.captcha import captcha
from .tasks.classify import classify
from .tasks.notes import Progress, notes
from .tasks.ocr import ocr
from .tasks.receipt import receipt


@dataclass(frozen=True)
class Options:
    """Everything a caller may say about a run; each task reads what it needs."""

    language: str | None  # None: the configured default (notes: the language of the text)
    question: str | None = None
    categories: Sequence[str] | None = None
    progress: Progress | None = None
    length: int | None = None
    alphabet: str | None = None
    names: Sequence[str] | None = None  # the inputs' names, for failure notes (file names)


TaskFn = Callable[[Context, Sequence[ImageInput], Options], Awaitable[TaskResult]]


@dataclass(frozen=True)
class TaskSpec:
    name: str
    run: TaskFn  # one call: over one photo when per_image, else over all of them
    description: str  # one line, for `notelens --help`
    per_image: bool = True
    mode: bool = True  # a default mode (`/mode`) and a button under answers in the bot
    needs_question: bool = False
    offline: bool = False  # can read with the embedded OCR engine (`--engine local`)
    cli: bool = True  # a plain `notelens <name> IMAGE` command (classify and notes have their own)
    cli_options: tuple[str, ...] = ()  # `Options` fields the CLI offers as `--<field>`


def _lang(ctx: Context, o: Options) -> str:
    return o.language or ctx.settings.default_language


async def _ocr(ctx: Context, images: Sequence[ImageInput], o: Options) -> TaskResult:
    return await ocr(ctx, images[0], language=_lang(ctx, o))


async def _captcha(ctx: Context, images: Sequence[ImageInput], o: Options) -> TaskResult:
    return await captcha(
        ctx, images[0], length=o.length, alphabet=o.alphabet, language=_lang(ctx, o)
    )


async def _classify(ctx: Context, images: Sequence[ImageInput], o: Options) -> TaskResult:
    categories = list(o.categories or ctx.settings.default_categories)
    return await classify(ctx, images[0], categories, language=_lang(ctx, o))


async def _ask(ctx: Context, images: Sequence[ImageInput], o: Options) -> TaskResult:
    return await ask(ctx, images[0], o.question or "", language=_lang(ctx, o))


async def _notes(ctx: Context, images: Sequence[ImageInput], o: Options) -> TaskResult:
    return await notes(ctx, images, language=o.language, names=o.names, progress=o.progress)


async def _receipt(ctx: Context, images: Sequence[ImageInput], o: Options) -> TaskResult:
    return await receipt(ctx, images[0], language=_lang(ctx, o))


TASKS: dict[str, TaskSpec] = {
    spec.name: spec
    for spec in (
        TaskSpec(
            "notes", _notes, "photos of notes → Markdown", per_image=False, offline=True, cli=False
        ),
        TaskSpec("ocr", _ocr, "all the text of an image", offline=True),
        TaskSpec("classify", _classify, "classify images into categories", cli=False),
        TaskSpec(
            "captcha",
            _captcha,
            "the characters of a captcha",
            offline=True,
            cli_options=("length", "alphabet"),
        ),
        TaskSpec("ask", _ask, "ask a question about an image", mode=False, needs_question=True),
        TaskSpec("receipt", _receipt, "a receipt as data", mode=False, cli=False),
    )
}


def spec(name: str) -> TaskSpec:
    """The task called `name`; KeyError for an unknown one."""
    return TASKS[name]


def modes() -> tuple[str, ...]:
    """Tasks a user may pick as their default and run from a button."""
    return tuple(name for name, s in TASKS.items() if s.mode)
