"""A notes result → a note to keep: category chosen zero-shot from the owner's own
categories on the text (one text-only call, as `/classify` chooses), keywords found
locally. A failed classification files the note under `other`: the note is kept anyway."""

from __future__ import annotations

from dataclasses import dataclass

from ..pipeline.context import Context
from ..pipeline.errors import ModelError
from ..pipeline.results import NotesResult
from ..pipeline.tasks.classify import OTHER, classify_text
from ._keywords import keywords
from ._models import ArchivedPage, NewNote, Source
from .service import Archive

LOCAL_ENGINE = "rapidocr"


def models_used(ctx: Context, result: NotesResult) -> str:
    """Which models read and polished the pages, e.g. `qwen-vl-ocr + qwen-plus`."""
    engines = {p.engine for p in result.pages if p.ok}
    names = [ctx.settings.ocr_model if e == "vlm" else LOCAL_ENGINE for e in sorted(engines)]
    if any(p.polished is not None for p in result.pages) and ctx.llm is not None:
        names.append(ctx.llm.model)
    return " + ".join(names)


async def note_from_result(
    ctx: Context,
    result: NotesResult,
    *,
    source: Source,
    categories: list[str],
    language: str,
) -> tuple[NewNote, list[str]]:
    """The note and the warnings met while filing it."""
    warnings: list[str] = []
    pages = [ArchivedPage(p.index, p.ocr_text, p.polished, p.error) for p in result.pages]
    note = NewNote(
        title=result.title,
        markdown=result.markdown,
        pages=pages,
        source=source,
        category=OTHER,
        language=language,
        model=models_used(ctx, result),
        engine=result.engine,
    )
    if note.body.strip() and categories:
        try:
            chosen = await classify_text(ctx, note.body, categories, language=language)
            note.category = chosen.category
            warnings += chosen.warnings
        except ModelError as exc:
            warnings.append(f"filed under {OTHER}: the classification failed ({exc})")
    note.keywords = keywords(note.body, note.title)
    return note, warnings


@dataclass(frozen=True)
class Filed:
    number: int
    category: str
    keywords: list[str]
    warnings: list[str]


async def keep_result(
    archive: Archive,
    ctx: Context,
    owner: str,
    result: NotesResult,
    *,
    source: Source,
    categories: list[str],
    language: str,
) -> Filed:
    """What runs after every notes job (bot, CLI, API): file the result and keep it."""
    note, warnings = await note_from_result(
        ctx, result, source=source, categories=categories, language=language
    )
    number = await archive.add(owner, note)
    return Filed(number, note.category, note.keywords, warnings)
