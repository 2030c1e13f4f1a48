"""Worker heartbeats: each worker process beats a row; readiness and the admin page read them."""

from __future__ import annotations

import os
import secrets
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta
from importlib import metadata

from sqlalchemy import delete, func, select, update

from bulletin.extensions import db
from bulletin.models import WorkerHeartbeat, utcnow

#: How often a worker beats, in seconds.
BEAT_SECONDS = 15
#: A worker whose last beat is older than this is not counted as alive.
LIVE_SECONDS = 60
#: Rows of workers that stopped (or were lost) this long ago are deleted.
KEEP_DAYS = 7


def bulletin_version() -> str:
    """The installed package's version ("unknown" when run from a bare source tree)."""
    try:
        return metadata.version("bulletin")
    except metadata.PackageNotFoundError:
        return "unknown"


@dataclass(frozen=True)
class Identity:
    """Who is beating: made once per worker process."""

    name: str
    host: str
    pid: int
    mode: str

    @classmethod
    def here(cls, mode: str = "worker") -> Identity:
        host, pid = socket.gethostname()[:120], os.getpid()
        return cls(name=f"{host}:{pid}:{secrets.token_hex(4)}", host=host, pid=pid, mode=mode)


def beat(identity: Identity, current_job: str | None = None) -> None:
    """Record that this worker is alive (the first beat adds its row). The caller commits."""
    now = utcnow()
    job = (current_job or "")[:200] or None
    changed = db.session.execute(
        update(WorkerHeartbeat)
        .where(WorkerHeartbeat.name == identity.name)
        .values(last_beat_at=now, current_job=job, stopped_at=None)
    ).rowcount
    if not changed:
        db.session.add(
            WorkerHeartbeat(
                name=identity.name,
                host=identity.host,
                pid=identity.pid,
                version=bulletin_version()[:40],
                mode=identity.mode,
                started_at=now,
                last_beat_at=now,
                current_job=job,
            )
        )
        db.session.flush()


def stop(identity: Identity) -> None:
    """Mark this worker stopped (a clean shutdown). The caller commits."""
    db.session.execute(
        update(WorkerHeartbeat)
        .where(WorkerHeartbeat.name == identity.name)
        .values(stopped_at=utcnow(), current_job=None)
    )


def prune(now: datetime | None = None) -> int:
    """Delete the rows of workers not seen for KEEP_DAYS. The caller commits."""
    cutoff = (now or utcnow()) - timedelta(days=KEEP_DAYS)
    return db.session.execute(
        delete(WorkerHeartbeat).where(WorkerHeartbeat.last_beat_at < cutoff)
    ).rowcount


def _live_since(now: datetime | None = None) -> datetime:
    return (now or utcnow()) - timedelta(seconds=LIVE_SECONDS)


def live_worker_count(now: datetime | None = None) -> int:
    """Workers that beat in the last LIVE_SECONDS and did not stop."""
    return (
        db.session.scalar(
            select(func.count())
            .select_from(WorkerHeartbeat)
            .where(
                WorkerHeartbeat.last_beat_at >= _live_since(now),
                WorkerHeartbeat.stopped_at.is_(None),
            )
        )
        or 0
    )


@dataclass(frozen=True)
class WorkerRow:
    """One worker as the admin page shows it."""

    heartbeat: WorkerHeartbeat
    state: str  #: live / stopped / lost


def workers(now: datetime | None = None) -> list[WorkerRow]:
    """Every worker known, most recently seen first, with its state."""
    since = _live_since(now)
    rows = db.session.scalars(
        select(WorkerHeartbeat).order_by(
            WorkerHeartbeat.last_beat_at.desc(), WorkerHeartbeat.id.desc()
        )
    ).all()

    def state(row: WorkerHeartbeat) -> str:
        if row.stopped_at is not None:
            return "stopped"
        return "live" if row.last_beat_at >= since else "lost"

    return [WorkerRow(row, state(row)) for row in rows]


__all__ = [
    "BEAT_SECONDS",
    "Identity",
    "LIVE_SECONDS",
    "beat",
    "bulletin_version",
    "live_worker_count",
    "prune",
    "stop",
    "workers",
]
