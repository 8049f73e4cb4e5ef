"""The archive's part of the `notelens` command line: `notes --archive`, `search`, `export`.

The command line is one owner, `cli:local`, in the configured database (DATABASE_PATH),
so notes kept from the terminal are searched and exported from the terminal.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import zipfile
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from ..config import Settings
from ..i18n import plain
from ..pipeline.context import Context
from ..pipeline.results import NotesResult
from ._models import Source
from .filing import Filed, keep_result
from .service import open_archive

CLI_OWNER = "cli:local"


async def archive_result(
    ctx: Context, result: NotesResult, files: list[Path], language: str
) -> Filed:
    """Keep a notes result from `notelens notes --archive`."""
    archive = await open_archive(ctx.settings)
    try:
        return await keep_result(
            archive,
            ctx,
            CLI_OWNER,
            result,
            source=Source("files", files=tuple(f.name for f in files)),
            categories=ctx.settings.default_categories,
            language=language,
        )
    finally:
        await archive.aclose()


async def cmd_search(args: argparse.Namespace, settings: Settings, lang: str, out: Console) -> int:
    archive = await open_archive(settings)
    try:
        hits = await archive.search(CLI_OWNER, " ".join(args.words), limit=args.limit)
    finally:
        await archive.aclose()
    if not hits:
        out.print(plain(lang, "cli_no_notes"), highlight=False)
        return 0
    for hit in hits:
        day = hit.created_at.astimezone().date().isoformat()
        out.print(
            f"[bold]{hit.number}[/]  {day}  [cyan]{escape(hit.category)}[/]  {escape(hit.title)}",
            highlight=False,
        )
        marked, last = [], 0
        for start, end in hit.highlights:
            if start >= last:
                marked += [
                    escape(hit.snippet[last:start]),
                    f"[yellow]{escape(hit.snippet[start:end])}[/]",
                ]
                last = end
        marked.append(escape(hit.snippet[last:]))
        out.print("    " + "".join(marked), highlight=False)
    return 0


async def cmd_export(args: argparse.Namespace, settings: Settings, lang: str, err: Console) -> int:
    archive = await open_archive(settings)
    try:
        data = await archive.export(CLI_OWNER)
    finally:
        await archive.aclose()
    target: Path = args.dir
    count = await asyncio.to_thread(write_export, data, target)
    err.print(plain(lang, "cli_exported", n=count, path=target), highlight=False)
    return 0


def write_export(data: bytes, target: Path) -> int:
    """The zip as it is, or unpacked into a folder that opens as an Obsidian vault."""
    if target.suffix.lower() == ".zip":
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        return len(zipfile.ZipFile(io.BytesIO(data)).namelist())
    target.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(io.BytesIO(data)) as vault:
        vault.extractall(target)  # our own names: one folder level, no "..", no absolute paths
        return len(vault.namelist())
