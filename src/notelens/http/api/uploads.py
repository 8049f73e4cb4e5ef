"""What a client sent, checked by content (not by its name or declared type): images or one
PDF, within the number of files a job may take."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field

from starlette.datastructures import UploadFile

from ...config import Settings
from ...i18n import N_, Lang, plain
from ...pipeline.errors import ImageError
from ...pipeline.images import source_format
from ...pipeline.pdf import pdf_page_count
from ...store.api_jobs import NewUpload
from .errors import ApiError


def sniff(data: bytes) -> str | None:
    """ "pdf", "image" (any format Pillow opens, HEIF included), or None."""
    if b"%PDF-" in data[:1024]:
        return "pdf"
    return "image" if data and source_format(data) is not None else None


@dataclass
class Inputs:
    uploads: list[NewUpload]
    pdf_pages: int = 0  # pages of the PDF to read (0: images only)
    notices: list[str] = field(default_factory=list)

    @property
    def count(self) -> int:
        return self.pdf_pages or len(self.uploads)


async def check_upload(data: bytes, name: str | None, settings: Settings) -> NewUpload:
    if len(data) > settings.api_max_upload_bytes:
        limit = f"{settings.api_max_upload_mb:g}"
        raise ApiError(413, "too_large", N_("api_too_large"), limit=limit)
    kind = await asyncio.to_thread(sniff, data)
    if kind is None:
        raise ApiError(415, "not_image", N_("api_not_image"), name=name or "file")
    return NewUpload(kind, name, data)


async def read_inputs(files: Sequence[UploadFile], settings: Settings, lang: Lang) -> Inputs:
    if not files:
        raise ApiError(422, "no_files", N_("api_no_files"))
    if len(files) > settings.api_max_files:
        n = settings.api_max_files
        raise ApiError(422, "too_many_files", N_("api_too_many_files"), n=n)
    uploads = [await check_upload(await f.read(), f.filename, settings) for f in files]
    pdfs = [u for u in uploads if u.kind == "pdf"]
    if not pdfs:
        return Inputs(uploads)
    if len(uploads) > 1:
        raise ApiError(422, "one_pdf", N_("api_one_pdf"))
    try:
        total = await asyncio.to_thread(pdf_page_count, pdfs[0].data)
    except ImageError as exc:  # pdf_invalid, pdf_empty: catalogue keys of their own
        raise ApiError(415, exc.code, exc.code) from None
    pages = min(total, settings.pdf_max_pages)
    notices = [plain(lang, "pdf_truncated", total=total, n=pages)] if total > pages else []
    return Inputs(uploads, pages, notices)
