"""Worker heartbeats: which worker processes are alive, where, and what they are doing."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from bulletin.extensions import db
from bulletin.models.types import UTCDateTime, utcnow


class WorkerHeartbeat(db.Model):
    """One worker process (`bulletin worker`, or the threads of `bulletin run`)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    #: host:pid:random, unique per process start (a reused pid gets a new row).
    name: Mapped[str] = mapped_column(String(200), unique=True)
    host: Mapped[str] = mapped_column(String(120))
    pid: Mapped[int] = mapped_column()
    version: Mapped[str] = mapped_column(String(40))
    #: "worker" for `bulletin worker`, "embedded" for the threads of `bulletin run`/`demo`.
    mode: Mapped[str] = mapped_column(String(20), default="worker")
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_beat_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    #: The jobs running at the last beat, comma-separated (empty: idle).
    current_job: Mapped[str | None] = mapped_column(String(200))
    #: Set on a clean shutdown; a row with none and an old beat is a worker that was lost.
    stopped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
