"""The files of an API job as the page needs them: which photos it has (names, order), and
one photo's bytes. The API keeps uploads in the application store (`store.api_schema`);
the page reads them only after the job was found for its owner.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from ...store.api_schema import api_uploads


@dataclass(frozen=True)
class JobFile:
    upload_id: int
    position: int
    kind: str  # "image" | "pdf"
    name: str | None

    def label(self) -> str:
        return self.name or f"photo-{self.position + 1}.jpg"


async def files_of(engine: AsyncEngine, job_seq: int) -> list[JobFile]:
    query = (
        sa.select(
            api_uploads.c.upload_id, api_uploads.c.position, api_uploads.c.kind, api_uploads.c.name
        )
        .where(api_uploads.c.job_seq == job_seq)
        .order_by(api_uploads.c.position)
    )
    async with engine.connect() as conn:
        rows = (await conn.execute(query)).all()
    return [JobFile(r.upload_id, r.position, r.kind, r.name) for r in rows]


async def file_bytes(engine: AsyncEngine, upload_id: int) -> bytes:
    """The file's bytes; FileNotFoundError once its job was deleted."""
    async with engine.connect() as conn:
        data = await conn.scalar(
            sa.select(api_uploads.c.data).where(api_uploads.c.upload_id == upload_id)
        )
    if data is None:
        raise FileNotFoundError(upload_id)
    return bytes(data)
