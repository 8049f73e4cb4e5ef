"""`notelens`: every task of the product on local files, through the same pipeline.

Exit codes: 0 done, 1 some inputs failed, 2 bad usage or unreadable input,
3 configuration missing (no key, no token), 4 the model endpoint failed.
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
from .pipeline.errors import ConfigError, ImageError, ModelError
from .pipeline.images import IMAGE_SUFFIXES, load_bytes, open_image
from .pipeline.service import Pipeline

EXIT_OK, EXIT_PARTIAL, EXIT_INPUT, EXIT_CONFIG, EXIT_MODEL = 0, 1, 2, 3, 4

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

    p = sub.add_parser("classify", parents=[lang], help="classify images into categories")
    p.add_argument("paths", nargs="+", type=Path, help="image files or folders (recursive)")
    p.add_argument("--categories", help='comma-separated, e.g. "cats,dogs,other things"')
    p.add_argument("--json", action="store_true", help="JSON lines on stdout")
    p.add_argument("--sort-into", type=Path, metavar="DIR", help="copy into DIR/<category>/")
    p.add_argument("--move", action="store_true", help="with --sort-into: move instead of copy")

    p = sub.add_parser("ocr", parents=[lang, engine], help="all the text of an image")
    p.add_argument("image", type=Path)

    p = sub.add_parser("captcha", parents=[lang, engine], help="the characters of a captcha")
    p.add_argument("image", type=Path)
    p.add_argument("--length", type=int, help="expected number of characters")
    p.add_argument("--alphabet", help="the characters the code may contain")

    p = sub.add_parser("ask", parents=[lang], help="ask a question about an image")
    p.add_argument("image", type=Path)
    p.add_argument("question")

    p = sub.add_parser("notes", parents=[lang, engine], help="photos of notes → Markdown")
    p.add_argument("images", nargs="+", type=Path)
    p.add_argument("-o", "--output", type=Path, help="write the Markdown here")

    p = sub.add_parser("pages", help="find the pages in a photo")
    p.add_argument("image", type=Path)
    p.add_argument("--json", action="store_true", help="print the pages as JSON")
    p.add_argument("--out", type=Path, metavar="DIR", help="write each page as a PNG file")

    sub.add_parser("bot", help="run the Telegram bot (long polling)")
    p = sub.add_parser("serve", help="run the HTTP server (Telegram webhook, health checks)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8080, help="port (default 8080)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        overrides: dict[str, Any] = {}
        if getattr(args, "engine", None):
            overrides["ocr_engine"] = args.engine
        if getattr(args, "lang", None):
            overrides["default_language"] = args.lang
        settings = Settings(**overrides)
    except ValidationError as exc:
        return fail(f"invalid settings: {exc.errors()[0]['loc'][0]}: {exc.errors()[0]['msg']}", 3)
    if args.command == "bot":
        from .telegram.app import run_bot

        return run_bot(settings)
    if args.command == "serve":
        from .http.serve import run_serve

        return run_serve(settings, args.host, args.port)
    try:
        return asyncio.run(run(args, settings))
    except ConfigError as exc:
        return fail(str(exc), EXIT_CONFIG)
    except ImageError as exc:
        return fail(str(exc), EXIT_INPUT)
    except ModelError as exc:
        return fail(str(exc), EXIT_MODEL)
    except KeyboardInterrupt:
        return 130


def fail(message: str, code: int) -> int:
    stderr.print(f"[bold red]notelens:[/] {message}", highlight=False)
    return code


async def run(args: argparse.Namespace, settings: Settings) -> int:
    if args.command == "pages":
        return await cmd_pages(args, settings)
    async with Pipeline(settings) as pipeline:
        if args.command == "classify":
            return await cmd_classify(args, pipeline)
        if args.command == "notes":
            return await cmd_notes(args, pipeline)
        data = await read(args.image, settings)
        if args.command == "ocr":
            result = await pipeline.ocr(data)
        elif args.command == "captcha":
            result = await pipeline.captcha(data, length=args.length, alphabet=args.alphabet)
        else:
            result = await pipeline.ask(data, args.question)
        for warning in result.warnings:
            stderr.print(f"[yellow]warning:[/] {warning}", highlight=False)
        print(result.text)
        return EXIT_OK


async def read(path: Path, settings: Settings) -> bytes:
    return await asyncio.to_thread(load_bytes, path, settings.max_file_bytes)


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


async def cmd_classify(args: argparse.Namespace, pipeline: Pipeline) -> int:
    settings = pipeline.settings
    categories = split_list(args.categories) if args.categories else settings.default_categories
    if not categories:
        return fail("--categories is empty", EXIT_INPUT)
    files = collect(args.paths)
    if not files:
        return fail("no images found", EXIT_INPUT)
    pipeline.ctx.require_vlm("Classification")

    # Files are read and decoded just ahead of the model calls, not all at once.
    in_flight = asyncio.Semaphore(2 * settings.vlm_max_concurrency)

    async def one(path: Path) -> dict[str, Any]:
        try:
            async with in_flight:
                data = await read(path, settings)
                result = await pipeline.classify(data, categories)  # type: ignore[arg-type]
        except (ImageError, ModelError) as exc:
            return {"file": str(path), "category": None, "error": str(exc)}
        row: dict[str, Any] = {"file": str(path), "category": result.category, "raw": result.raw}
        if args.sort_into:
            try:
                row["sorted_to"] = str(
                    await asyncio.to_thread(
                        sort_file, path, args.sort_into, result.category, args.move
                    )
                )
            except OSError as exc:
                row["error"] = f"could not {'move' if args.move else 'copy'} the file: {exc}"
        return row

    rows: list[dict[str, Any]] = []
    with progress_bar() as bar:
        task = bar.add_task("classifying", total=len(files))
        for next_done in asyncio.as_completed([one(f) for f in files]):
            row = await next_done
            rows.append(row)
            bar.advance(task)
            if args.json:
                print(json.dumps(row, ensure_ascii=False), flush=True)
    if not args.json:
        order = {str(f): i for i, f in enumerate(files)}
        table = Table()
        for column in ("file", "category", "answer"):
            table.add_column(column, overflow="fold")
        for row in sorted(rows, key=lambda r: order[r["file"]]):
            table.add_row(
                row["file"], row["category"] or "[red]error[/]", row.get("error") or row["raw"]
            )
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
        raise OSError(f"no free name for {src.name} in {folder}")
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


async def cmd_notes(args: argparse.Namespace, pipeline: Pipeline) -> int:
    images = [await read(p, pipeline.settings) for p in args.images]
    with progress_bar() as bar:
        task = bar.add_task("reading pages", total=None)

        async def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        result = await pipeline.notes(images, progress=progress)
    for warning in result.warnings:
        stderr.print(f"[yellow]warning:[/] {warning}", highlight=False)
    if args.output:
        await asyncio.to_thread(args.output.write_text, result.markdown, encoding="utf-8")
        stderr.print(f"wrote {args.output} ({len(result.pages)} pages)", highlight=False)
    else:
        print(result.markdown, end="")
    return EXIT_PARTIAL if result.failed_pages else EXIT_OK


async def cmd_pages(args: argparse.Namespace, settings: Settings) -> int:
    from .pipeline.pages import split_pages, split_to_json

    data = await read(args.image, settings)
    img = await asyncio.to_thread(open_image, data, max_pixels=settings.max_image_pixels)
    split = await asyncio.to_thread(split_pages, img)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        for i, page in enumerate(split.pages, 1):
            await asyncio.to_thread(page.image.save, args.out / f"page-{i:02d}.png")
    for warning in split.warnings:
        stderr.print(f"[yellow]warning:[/] {warning}", highlight=False)
    if args.json:
        print(json.dumps(split_to_json(split)))
    else:
        print(f"{len(split.pages)} page(s), {split.kind}")
        for i, page in enumerate(split.pages, 1):
            corners = " ".join(f"({x:.0f},{y:.0f})" for x, y in page.quad)
            print(f"  {i}: {page.image.width}×{page.image.height}  {corners}")
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
