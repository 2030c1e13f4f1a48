"""A CSV import uploaded through the editor web, run by the worker in the background."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bulletin.extensions import db
from bulletin.i18n import Language
from bulletin.models.editor import Editor
from bulletin.models.types import UTCDateTime, utcnow


class ImportJobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"  #: claimed by a worker (see claimed_by / claimed_until)
    DONE = "done"
    FAILED = "failed"


class ImportJob(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[str] = mapped_column(String(20), default=ImportJobStatus.QUEUED, index=True)
    #: The uploaded file's random name inside IMPORT_DIR; deleted when the job ends.
    file_name: Mapped[str] = mapped_column(String(64))
    label: Mapped[str] = mapped_column(String(60))  #: the upload's name, for consent events
    mapping: Mapped[str] = mapped_column(Text, default="{}")  #: JSON {field: header}
    is_invite: Mapped[bool] = mapped_column(default=False)
    is_dry_run: Mapped[bool] = mapped_column(default=False)
    language: Mapped[str] = mapped_column(String(5), default=Language.EN)  #: of the row problems
    total_rows: Mapped[int] = mapped_column(default=0)  #: lines after the header
    rows_done: Mapped[int] = mapped_column(default=0)
    report: Mapped[str | None] = mapped_column(Text)  #: JSON ImportReport, when done
    error: Mapped[str | None] = mapped_column(Text)  #: why it failed
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("editor.id", ondelete="SET NULL"))
    claimed_by: Mapped[str | None] = mapped_column(String(120))
    #: A running job whose worker stopped renewing this is failed by the expiry job.
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    created_by: Mapped[Editor | None] = relationship()

    @property
    def is_open(self) -> bool:
        return self.status in (ImportJobStatus.QUEUED, ImportJobStatus.RUNNING)
