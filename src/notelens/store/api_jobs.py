"""The HTTP API's jobs in the application store: who owns each, the files sent with it, its
outcome once delivered, and the per-key submission counts of the rate limit.

Every process that runs jobs reads uploads from here (several processes may share one
PostgreSQL database), so nothing is cached in the process.
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from .api_schema import api_jobs, api_rate, api_uploads
from .engine import writing

API_JOB_RETENTION = timedelta(days=30)


def new_public_id() -> str:
    """What clients see: 128 random bits, so one job id says nothing about another."""
    return secrets.token_urlsafe(16)


@dataclass
class NewUpload:
    kind: str  # "image" | "pdf"
    name: str | None
    data: bytes


@dataclass
class ApiJobRow:
    seq: int
    public_id: str
    owner: str
    task: str
    language: str | None
    inputs: int
    notices: list[str]
    created_at: float
    finished_at: float | None
    outcome: dict[str, Any] | None  # as `JobOutcome`, in JSON; None until delivered


def _row(row: Any) -> ApiJobRow:
    return ApiJobRow(
        seq=row.seq,
        public_id=row.public_id,
        owner=row.owner,
        task=row.task,
        language=row.language,
        inputs=row.inputs,
        notices=json.loads(row.notices) if row.notices else [],
        created_at=row.created_at,
        finished_at=row.finished_at,
        outcome=json.loads(row.outcome) if row.outcome else None,
    )


class ApiJobStore:
    """Over the store's engine (`Store.engine`): it must be open."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def create(
        self,
        owner: str,
        task: str,
        language: str | None,
        uploads: list[NewUpload],
        inputs: int,
        notices: list[str],
    ) -> tuple[ApiJobRow, list[int]]:
        """The job and its files in one transaction; returns the row and the upload ids."""
        now = time.time()
        public_id = new_public_id()
        async with writing(self.engine) as conn:
            seq = (
                await conn.execute(
                    api_jobs.insert()
                    .values(
                        public_id=public_id,
                        owner=owner,
                        task=task,
                        language=language,
                        inputs=inputs,
                        notices=json.dumps(notices, ensure_ascii=False) if notices else None,
                        created_at=now,
                    )
                    .returning(api_jobs.c.seq)
                )
            ).scalar_one()
            ids = []
            for position, upload in enumerate(uploads):
                ids.append(
                    (
                        await conn.execute(
                            api_uploads.insert()
                            .values(
                                job_seq=seq,
                                position=position,
                                kind=upload.kind,
                                name=upload.name,
                                data=upload.data,
                            )
                            .returning(api_uploads.c.upload_id)
                        )
                    ).scalar_one()
                )
        row = ApiJobRow(seq, public_id, owner, task, language, inputs, notices, now, None, None)
        return row, ids

    async def get(self, owner: str, public_id: str) -> ApiJobRow | None:
        """The job, only for its owner (anyone else: None, as for a job that never was)."""
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(
                    sa.select(api_jobs).where(
                        api_jobs.c.public_id == public_id, api_jobs.c.owner == owner
                    )
                )
            ).first()
        return _row(row) if row is not None else None

    async def recent(self, owner: str, limit: int = 50) -> list[ApiJobRow]:
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                sa.select(api_jobs)
                .where(api_jobs.c.owner == owner)
                .order_by(api_jobs.c.seq.desc())
                .limit(limit)
            )
            return [_row(r) for r in rows]

    async def upload(self, upload_id: int) -> tuple[str, bytes] | None:
        """An uploaded file's kind and bytes (None once its job was deleted)."""
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(
                    sa.select(api_uploads.c.kind, api_uploads.c.data).where(
                        api_uploads.c.upload_id == upload_id
                    )
                )
            ).first()
        return (row.kind, bytes(row.data)) if row is not None else None

    async def first_upload(self, seq: int) -> tuple[str, str | None, bytes] | None:
        """The job's first file: kind, name and bytes."""
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(
                    sa.select(api_uploads.c.kind, api_uploads.c.name, api_uploads.c.data)
                    .where(api_uploads.c.job_seq == seq)
                    .order_by(api_uploads.c.position)
                    .limit(1)
                )
            ).first()
        return (row.kind, row.name, bytes(row.data)) if row is not None else None

    async def finish(self, seq: int, outcome: dict[str, Any]) -> None:
        """Keep the outcome; the first delivery wins (delivery is at least once)."""
        async with writing(self.engine) as conn:
            await conn.execute(
                api_jobs.update()
                .where(api_jobs.c.seq == seq, api_jobs.c.outcome.is_(None))
                .values(outcome=json.dumps(outcome, ensure_ascii=False), finished_at=time.time())
            )

    async def delete(self, owner: str, public_id: str) -> ApiJobRow | None:
        """Forget the job and its files; returns what was deleted (None: not theirs)."""
        async with writing(self.engine) as conn:
            row = (
                await conn.execute(
                    sa.select(api_jobs).where(
                        api_jobs.c.public_id == public_id, api_jobs.c.owner == owner
                    )
                )
            ).first()
            if row is None:
                return None
            await conn.execute(api_uploads.delete().where(api_uploads.c.job_seq == row.seq))
            await conn.execute(api_jobs.delete().where(api_jobs.c.seq == row.seq))
        return _row(row)

    async def prune(self, older_than: timedelta = API_JOB_RETENTION) -> int:
        """Forget jobs (and their files) older than `older_than`; returns how many went."""
        cutoff = time.time() - older_than.total_seconds()
        old = sa.select(api_jobs.c.seq).where(api_jobs.c.created_at < cutoff)
        async with writing(self.engine) as conn:
            await conn.execute(api_uploads.delete().where(api_uploads.c.job_seq.in_(old)))
            gone = await conn.execute(api_jobs.delete().where(api_jobs.c.created_at < cutoff))
            await conn.execute(api_rate.delete().where(api_rate.c.minute < int(time.time() // 60)))
        return gone.rowcount

    async def hit(self, owner: str, per_minute: int, now: float | None = None) -> float | None:
        """Count one submission for `owner` in this minute. None when within `per_minute`,
        else the seconds until the next minute starts (for Retry-After)."""
        now = time.time() if now is None else now
        minute = int(now // 60)
        async with writing(self.engine) as conn:
            dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
            stmt = dialect.insert(api_rate).values(owner=owner, minute=minute, hits=1)
            stmt = stmt.on_conflict_do_update(
                index_elements=["owner", "minute"], set_={"hits": api_rate.c.hits + 1}
            )
            hits = (await conn.execute(stmt.returning(api_rate.c.hits))).scalar_one()
            if hits == 1:  # a new minute for this key: last minute's count is done with
                await conn.execute(
                    api_rate.delete().where(api_rate.c.owner == owner, api_rate.c.minute < minute)
                )
        if hits <= per_minute:
            return None
        return (minute + 1) * 60 - now
