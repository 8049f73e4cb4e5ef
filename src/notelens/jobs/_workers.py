"""Two small tables beside DBOS's own: a heartbeat per WORKER_ID, and who collects an album.

DBOS recovers a process's unfinished work only when that process restarts with the same
executor id; nobody takes over a worker that stays dead (that is the commercial Conductor's
job). The heartbeats let live workers see a silent one and take over its work.
Blocking calls (SQLAlchemy Core on DBOS's own database): run them in a thread.
"""

from __future__ import annotations

import os
import socket
import time

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from ._config import SCHEMA

ALBUM_TTL_S = 24 * 3600


class Workers:
    def __init__(self, url: str, worker_id: str, version: str, silence_s: float) -> None:
        postgres = url.startswith("postgres")
        if postgres:
            url = sa.make_url(url).set(drivername="postgresql+psycopg").render_as_string(False)
        self.engine = sa.create_engine(url, pool_size=2 if postgres else 5)
        if not postgres:
            sa.event.listen(self.engine, "connect", _sqlite_busy_timeout)
        self.worker_id, self.version, self.silence_s = worker_id, version, silence_s
        meta = sa.MetaData(schema=SCHEMA if postgres else None)
        self.workers = sa.Table(
            "notelens_workers",
            meta,
            sa.Column("worker_id", sa.String, primary_key=True),
            sa.Column("app_version", sa.String, nullable=False),
            sa.Column("beat_at", sa.Float, nullable=False),
            sa.Column("host", sa.String, nullable=False),
        )
        self.albums = sa.Table(
            "notelens_albums",
            meta,
            sa.Column("album_key", sa.String, primary_key=True),
            sa.Column("workflow_id", sa.String, nullable=False),
            sa.Column("created_at", sa.Float, nullable=False),
        )
        try:
            meta.create_all(self.engine)
        except sa.exc.DBAPIError:  # another worker created them at the same moment
            meta.create_all(self.engine)

    def dispose(self) -> None:
        self.engine.dispose()

    def beat(self) -> None:
        """This worker is alive, on this version."""
        row = {
            "app_version": self.version,
            "beat_at": time.time(),
            "host": f"{socket.gethostname()}:{os.getpid()}",
        }
        with self.engine.begin() as c:
            done = c.execute(
                self.workers.update().where(self.workers.c.worker_id == self.worker_id), row
            )
            if done.rowcount == 0:
                c.execute(self.workers.insert(), {"worker_id": self.worker_id, **row})

    def claim_silent(self) -> list[tuple[str, str]]:
        """Workers silent for WORKER_SILENCE_S, as (id, version); each is claimed by exactly
        one live worker (the one whose delete removed its row). A restarted worker beats again."""
        cutoff = time.time() - self.silence_s
        t = self.workers
        with self.engine.begin() as c:
            silent = c.execute(
                sa.select(t.c.worker_id, t.c.app_version, t.c.beat_at).where(
                    t.c.beat_at < cutoff, t.c.worker_id != self.worker_id
                )
            ).all()
        claimed = []
        for worker_id, version, beat_at in silent:
            with self.engine.begin() as c:
                gone = c.execute(
                    t.delete().where(t.c.worker_id == worker_id, t.c.beat_at == beat_at)
                )
            if gone.rowcount == 1:
                claimed.append((str(worker_id), str(version)))
        return claimed

    def live_versions(self) -> set[str]:
        """Versions some worker runs now (silent ones are claimed before this is asked)."""
        with self.engine.begin() as c:
            return {str(v) for v in c.execute(sa.select(self.workers.c.app_version)).scalars()}

    def claim_album(self, album_key: str, workflow_id: str) -> str:
        """The job collecting this album: the first claimant's, whoever asks."""
        a = self.albums
        with self.engine.begin() as c:
            c.execute(a.delete().where(a.c.created_at < time.time() - ALBUM_TTL_S))
        try:
            with self.engine.begin() as c:
                c.execute(
                    a.insert(),
                    {"album_key": album_key, "workflow_id": workflow_id, "created_at": time.time()},
                )
            return workflow_id
        except IntegrityError:
            with self.engine.begin() as c:
                owner = c.execute(
                    sa.select(a.c.workflow_id).where(a.c.album_key == album_key)
                ).scalar_one()
            return str(owner)

    def take_album(self, album_key: str, closed: str, workflow_id: str) -> str:
        """Make `workflow_id` the album's collector in place of `closed` (which stopped
        taking items); the collector after the attempt, whoever won."""
        a = self.albums
        with self.engine.begin() as c:
            c.execute(
                a.update()
                .where(a.c.album_key == album_key, a.c.workflow_id == closed)
                .values(workflow_id=workflow_id, created_at=time.time())
            )
            owner = c.execute(sa.select(a.c.workflow_id).where(a.c.album_key == album_key))
            return str(owner.scalar_one())


def _sqlite_busy_timeout(dbapi_conn: object, _record: object) -> None:
    dbapi_conn.execute("PRAGMA busy_timeout=30000")  # type: ignore[attr-defined]
