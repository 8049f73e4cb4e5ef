"""`notelens`: every task of the product on local files, through the same pipeline.

Exit codes: 0 done, 1 some inputs failed, 2 bad usage or unreadable input,
3 configuration missing (no key, no token), 4 the model endpoint failed.

Messages come from the catalogue (`notelens.i18n`) in the language of `--lang`, else of
the locale (`LC_ALL`, `LC_MESSAGES`, `LANG`); a file is named by its name, never its path.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from .config import Settings, split_list
from .i18n import INPUT_ERROR_KEYS, N_, Lang, lang_from_code, megabytes, plain
from .pipeline.errors import ConfigError, ImageError, ModelError, describe_os_error
from .pipeline.images import IMAGE_SUFFIXES, load_bytes, open_image
from .pipeline.registry import TASKS, Options
from .pipeline.service import Pipeline

EXIT_OK, EXIT_PARTIAL, EXIT_INPUT, EXIT_CONFIG, EXIT_MODEL = 0, 1, 2, 3, 4
# How the CLI offers each `Options` field a task may ask for (TaskSpec.cli_options).
OPTION_FLAGS: dict[str, dict[str, Any]] = {
    "length": {"type": int, "help": "expected number of characters"},
    "alphabet": {"help": "the characters the code may contain"},
}

stderr = Console(stderr=True)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="notelens", description="Read photos: notes, OCR, classification, captchas."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    lang = argparse.ArgumentParser(add_help=False)
    lang.add_argument("--lang", choices=("zh", "en"), help="language of prompts and documents")
    engine = argparse.ArgumentParser(add_help=False)
    engine.add_argument(
        "--engine", choices=("auto", "vlm", "local"), help="OCR engine (overrides OCR_ENGINE)"
    )

    p = sub.add_parser("classify", parents=[lang], help=TASKS["classify"].description)
    p.add_argument("paths", nargs="+", type=Path, help="image files or folders (recursive)")
    p.add_argument("--categories", help='comma-separated, e.g. "cats,dogs,other things"')
    p.add_argument("--json", action="store_true", help="JSON lines on stdout")
    p.add_argument("--sort-into", type=Path, metavar="DIR", help="copy into DIR/<category>/")
    p.add_argument("--move", action="store_true", help="with --sort-into: move instead of copy")

    # One image in, text out: every such task of the registry, with the options it takes.
    for spec in TASKS.values():
        if not spec.cli:
            continue
        parents = [lang, engine] if spec.offline else [lang]
        p = sub.add_parser(spec.name, parents=parents, help=spec.description)
        p.add_argument("image", type=Path)
        if spec.needs_question:
            p.add_argument("question")
        for name in spec.cli_options:
            p.add_argument(f"--{name}", **OPTION_FLAGS[name])

    p = sub.add_parser("notes", parents=[lang, engine], help=TASKS["notes"].description)
    p.add_argument("images", nargs="+", type=Path)
    p.add_argument("-o", "--output", type=Path, help="write the Markdown here")
    p.add_argument("--archive", action="store_true", help="keep the notes in the archive too")

    p = sub.add_parser(
        "search", parents=[lang], help="search the archived notes (Chinese or English words)"
    )
    p.add_argument("words", nargs="+")
    p.add_argument("--limit", type=int, default=10, help="how many notes (default 10)")
    p = sub.add_parser(
        "export", parents=[lang], help="write the archived notes as an Obsidian vault"
    )
    p.add_argument("dir", type=Path, help="a folder (created), or a path ending in .zip")

    p = sub.add_parser("pages", help="find the pages in a photo")
    p.add_argument("image", type=Path)
    p.add_argument("--json", action="store_true", help="print the pages as JSON")
    p.add_argument("--out", type=Path, metavar="DIR", help="write each page as a PNG file")

    sub.add_parser("bot", help="run the Telegram bot (long polling)")
    sub.add_parser("worker", help="run jobs only (a deployment whose `serve` takes the webhook)")
    p = sub.add_parser("serve", help="run the HTTP server (Telegram webhook, health checks)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8080, help="port (default 8080)")

    p = sub.add_parser("db", help="the application's database (DATABASE_URL or DATABASE_PATH)")
    p.add_argument("action", choices=["upgrade"], help="upgrade: bring the schema up to date")
    return parser


def ui_language(args: argparse.Namespace) -> Lang:
    """The language of the messages: `--lang`, else the locale's, as gettext looks it up."""
    if getattr(args, "lang", None):
        return lang_from_code(args.lang)
    env = os.environ
    return lang_from_code(env.get("LC_ALL") or env.get("LC_MESSAGES") or env.get("LANG"))


class InputFileError(Exception):
    """An input file that cannot be used; its message names the file (see `input_error`)."""


def input_error(lang: str, name: str, exc: ImageError | OSError) -> str:
    """`scan.jpg: This file is not an image I can read.`: by name, in the reader's language."""
    if isinstance(exc, OSError):
        return describe_os_error(exc) if exc.filename else f"{name}: {describe_os_error(exc)}"
    size, limit = exc.details.get("size"), exc.details.get("limit")
    if exc.code == "file_too_big" and isinstance(size, int) and isinstance(limit, int):
        text = plain(lang, "cli_file_too_big", size=megabytes(size), limit=megabytes(limit))
    else:
        text = plain(lang, exc.code) if exc.code in INPUT_ERROR_KEYS else str(exc)
    return f"{name}: {text.removeprefix(f'{name}: ')}"


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    lang = ui_language(args)
    try:
        overrides: dict[str, Any] = {}
        if getattr(args, "engine", None):
            overrides["ocr_engine"] = args.engine
        if getattr(args, "lang", None):
            overrides["default_language"] = args.lang
        settings = Settings(**overrides)
    except ValidationError as exc:
        first = exc.errors()[0]
        return fail(plain(lang, "cli_bad_setting", name=first["loc"][0], error=first["msg"]), 3)
    if args.command == "bot":
        from .telegram.app import run_bot

        return run_bot(settings)
    if args.command == "worker":
        from .telegram.app import run_bot

        return run_bot(settings, worker=True)
    if args.command == "serve":
        from .http.serve import run_serve

        return run_serve(settings, args.host, args.port)
    if args.command == "db":
        return db_upgrade(settings)
    try:
        return asyncio.run(run(args, settings, lang))
    except ConfigError as exc:
        return fail(str(exc), EXIT_CONFIG)
    except InputFileError as exc:
        return fail(str(exc), EXIT_INPUT)
    except ImageError as exc:
        return fail(str(exc), EXIT_INPUT)
    except OSError as exc:  # writing an output file or folder
        return fail(describe_os_error(exc), EXIT_INPUT)
    except ModelError as exc:
        return fail(str(exc), EXIT_MODEL)
    except KeyboardInterrupt:
        return 130


def db_upgrade(settings: Settings) -> int:
    """Upgrade the schema now (every process also does it on start, under a lock)."""
    from sqlalchemy.exc import SQLAlchemyError

    from .store.engine import database_url
    from .store.migrate import upgrade_database

    try:
        url = database_url(settings)
        revision = asyncio.run(upgrade_database(url))
    except ConfigError as exc:
        return fail(str(exc), EXIT_CONFIG)
    except (SQLAlchemyError, OSError, RuntimeError) as exc:
        return fail(f"database upgrade failed: {type(exc).__name__}: {exc}", EXIT_CONFIG)
    where = url.render_as_string(hide_password=True)
    stderr.print(f"{where}: schema at revision {revision}", highlight=False)
    return EXIT_OK


def fail(message: str, code: int) -> int:
    stderr.print(f"[bold red]notelens:[/] {message}", highlight=False)
    return code


async def run(args: argparse.Namespace, settings: Settings, lang: str) -> int:
    if args.command == "pages":
        return await cmd_pages(args, settings, lang)
    if args.command in ("search", "export"):
        from .archive import cli as archive_cli  # the database layer only when it is used

        if args.command == "search":
            return await archive_cli.cmd_search(args, settings, lang, Console())
        return await archive_cli.cmd_export(args, settings, lang, stderr)
    async with Pipeline(settings) as pipeline:
        if args.command == "classify":
            return await cmd_classify(args, pipeline, lang)
        if args.command == "notes":
            return await cmd_notes(args, pipeline, lang)
        spec = TASKS[args.command]
        data = await read(args.image, settings, lang)
        chosen = {name: getattr(args, name) for name in spec.cli_options}
        question = getattr(args, "question", None)
        options = Options(language=settings.default_language, question=question, **chosen)
        try:
            [result] = await pipeline.run(spec.name, [data], options)
        except ImageError as exc:
            raise InputFileError(input_error(lang, args.image.name, exc)) from exc
        warn(lang, result.warnings)
        print(result.text)
        return EXIT_OK


def warn(lang: str, warnings: Sequence[str]) -> None:
    for warning in warnings:
        text = plain(lang, "cli_warning", warning=warning)
        stderr.print(f"[yellow]{text}[/]", highlight=False)


async def read(path: Path, settings: Settings, lang: str) -> bytes:
    """The bytes of an input file; a file that cannot be read is named in the error."""
    try:
        return await asyncio.to_thread(load_bytes, path, settings.max_file_bytes)
    except ImageError as exc:
        raise InputFileError(input_error(lang, path.name, exc)) from exc


def collect(paths: Sequence[Path]) -> list[Path]:
    """Files as given, plus images found in folders (recursively), each once, sorted."""
    found: dict[Path, None] = {}
    for path in paths:
        if path.is_dir():
            for f in sorted(path.rglob("*")):
                if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES:
                    found[f] = None
        else:
            found[path] = None
    return list(found)


def progress_bar() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=stderr,
        transient=True,
    )


async def cmd_classify(args: argparse.Namespace, pipeline: Pipeline, lang: str) -> int:
    settings = pipeline.settings
    categories = split_list(args.categories) if args.categories else settings.default_categories
    if not categories:
        return fail(plain(lang, "cli_no_categories"), EXIT_INPUT)
    files = collect(args.paths)
    if not files:
        return fail(plain(lang, "cli_no_images"), EXIT_INPUT)
    pipeline.ctx.require_vlm("Classification")

    # Files are read and decoded just ahead of the model calls, not all at once.
    in_flight = asyncio.Semaphore(2 * settings.vlm_max_concurrency)

    async def one(path: Path) -> dict[str, Any]:
        try:
            async with in_flight:
                data = await read(path, settings, lang)
                result = await pipeline.classify(data, categories)  # type: ignore[arg-type]
        except (InputFileError, ModelError) as exc:
            return {"file": str(path), "category": None, "error": str(exc)}
        except ImageError as exc:
            return {"file": str(path), "category": None, "error": input_error(lang, path.name, exc)}
        row: dict[str, Any] = {"file": str(path), "category": result.category, "raw": result.raw}
        if args.sort_into:
            try:
                row["sorted_to"] = str(
                    await asyncio.to_thread(
                        sort_file, path, args.sort_into, result.category, args.move
                    )
                )
            except OSError as exc:
                error = input_error(lang, path.name, exc)
                row["error"] = (
                    plain(lang, "cli_move_failed", error=error)
                    if args.move
                    else plain(lang, "cli_copy_failed", error=error)
                )
        return row

    rows: list[dict[str, Any]] = []
    with progress_bar() as bar:
        task = bar.add_task(plain(lang, "cli_classifying"), total=len(files))
        for next_done in asyncio.as_completed([one(f) for f in files]):
            row = await next_done
            rows.append(row)
            bar.advance(task)
            if args.json:
                print(json.dumps(row, ensure_ascii=False), flush=True)
    if not args.json:
        order = {str(f): i for i, f in enumerate(files)}
        table = Table()
        for column in (N_("cli_col_file"), N_("cli_col_category"), N_("cli_col_answer")):
            table.add_column(plain(lang, column), overflow="fold")
        failed = "[red]" + plain(lang, "cli_failed") + "[/]"
        for row in sorted(rows, key=lambda r: order[r["file"]]):
            table.add_row(row["file"], row["category"] or failed, row.get("error") or row["raw"])
        Console().print(table)
    return EXIT_PARTIAL if any(r.get("error") for r in rows) else EXIT_OK


def safe_dirname(name: str) -> str:
    """A category typed by a user becomes one harmless folder name."""
    cleaned = "".join("_" if ch in '/\\:*?"<>|\0' else ch for ch in name).strip(" .")
    return cleaned or "other"


def sort_file(src: Path, root: Path, category: str, move: bool) -> Path:
    """Copy (or move) into root/category/, never overwriting; the source goes last."""
    folder = root / safe_dirname(category)
    folder.mkdir(parents=True, exist_ok=True)
    stem, suffix = src.stem, src.suffix
    for n in range(10_000):
        dest = folder / (f"{stem}{suffix}" if n == 0 else f"{stem}-{n}{suffix}")
        try:
            fd = os.open(dest, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            continue
        os.close(fd)
        break
    else:
        raise OSError(f"no free name for {src.name} in {folder.name}")
    try:
        shutil.copyfile(src, dest)
        shutil.copystat(src, dest)
        if dest.stat().st_size != src.stat().st_size:
            raise OSError("the copy is incomplete")
    except OSError:
        dest.unlink(missing_ok=True)
        raise
    if move:
        src.unlink()
    return dest


async def cmd_notes(args: argparse.Namespace, pipeline: Pipeline, lang: str) -> int:
    """The document is in `--lang`, else in the language of its text; so are the messages."""
    images = [await read(p, pipeline.settings, lang) for p in args.images]
    names = [p.name for p in args.images]
    with progress_bar() as bar:
        task = bar.add_task(plain(lang, "cli_reading_pages"), total=None)

        async def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        try:
            result = await pipeline.notes(
                images, language=args.lang, names=names, progress=progress
            )
        except ImageError as exc:  # every input failed: the first one is named
            raise InputFileError(input_error(lang, names[0], exc)) from exc
    lang = args.lang or result.language
    warn(lang, result.warnings)
    if args.output:
        await asyncio.to_thread(args.output.write_text, result.markdown, encoding="utf-8")
        wrote = plain(lang, "cli_wrote", path=args.output, n=len(result.pages))
        stderr.print(wrote, highlight=False)
    else:
        print(result.markdown, end="")
    if args.archive:
        from .archive import cli as archive_cli

        filed = await archive_cli.archive_result(pipeline.ctx, result, args.images, result.language)
        warn(lang, filed.warnings)
        done = plain(lang, "cli_archived", number=filed.number, category=filed.category)
        stderr.print(done, highlight=False)
    return EXIT_PARTIAL if result.failed_pages else EXIT_OK


async def cmd_pages(args: argparse.Namespace, settings: Settings, lang: str) -> int:
    from .pipeline.pages import split_pages, split_to_json

    data = await read(args.image, settings, lang)
    try:
        img = await asyncio.to_thread(open_image, data, max_pixels=settings.max_image_pixels)
    except ImageError as exc:
        raise InputFileError(input_error(lang, args.image.name, exc)) from exc
    split = await asyncio.to_thread(split_pages, img)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        for i, page in enumerate(split.pages, 1):
            await asyncio.to_thread(page.image.save, args.out / f"page-{i:02d}.png")
    warn(lang, split.warnings)
    if args.json:
        print(json.dumps(split_to_json(split)))
    else:
        print(plain(lang, "cli_pages_found", n=len(split.pages), kind=split.kind))
        for i, page in enumerate(split.pages, 1):
            corners = " ".join(f"({x:.0f},{y:.0f})" for x, y in page.quad)
            print(f"  {i}: {page.image.width}×{page.image.height}  {corners}")
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
