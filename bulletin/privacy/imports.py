"""CSV imports uploaded through the editor web: the stored file, the job row, the worker's run.

The web request only stores the file (mode 0600, random name, in IMPORT_DIR), checks its
header and queues an ImportJob; a worker claims the job and runs the same importer as
`bulletin import`, writing its progress as it goes. The file is deleted when the job ends,
and anything left behind (a job no worker started, a worker that died) after
IMPORT_RETENTION_HOURS.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import secrets
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import BinaryIO

from flask import current_app
from sqlalchemy import delete, select, update

from bulletin.core.audit import record_audit
from bulletin.extensions import db
from bulletin.models import Editor, ImportJob, ImportJobStatus, utcnow
from bulletin.privacy.csvsource import MappingError, map_columns, open_reader, read_lines
from bulletin.privacy.importer import ImportOptions, ImportReport, import_csv
from bulletin.privacy.messages import _, in_language

log = logging.getLogger(__name__)

#: A running job renews its lease with each progress write; one not renewed for this long
#: belongs to a worker that stopped.
LEASE_SECONDS = 300
#: Progress is written at most this often (a separate short transaction each time).
PROGRESS_SECONDS = 1.0
_CHUNK = 1 << 20


def import_dir() -> Path:
    """The folder of waiting uploads, created private to this user."""
    folder = Path(current_app.config["IMPORT_DIR"])
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    return folder


def store_upload(stream: BinaryIO) -> tuple[str, int]:
    """Copy an upload into IMPORT_DIR (mode 0600): (its random file name, data rows in it)."""
    name = secrets.token_hex(16) + ".csv"
    handle = os.open(import_dir() / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    lines, last = 0, b"\n"
    with os.fdopen(handle, "wb") as out:
        while chunk := stream.read(_CHUNK):
            out.write(chunk)
            lines += chunk.count(b"\n")
            last = chunk[-1:]
    lines += last != b"\n"  # a last line without its newline
    return name, max(lines - 1, 0)  # less the header


def check_header(name: str, options: ImportOptions) -> None:
    """MappingError now, in the request, if the file's columns cannot be used."""
    with open(import_dir() / name, "rb") as stream:
        _reader, header = open_reader(read_lines(stream, options.encoding, lambda *_: None))
        map_columns(header, options.mapping)


def discard_file(name: str) -> None:
    """Delete an upload (already gone is fine)."""
    (import_dir() / name).unlink(missing_ok=True)


def queue_import(
    name: str, rows: int, options: ImportOptions, *, language: str, editor: Editor
) -> ImportJob:
    """A queued job for a stored upload; the caller commits."""
    job = ImportJob(
        file_name=name,
        label=options.label,
        mapping=json.dumps(options.mapping),
        is_invite=options.invite,
        is_dry_run=options.dry_run,
        language=language,
        total_rows=rows,
        created_by=editor,
    )
    db.session.add(job)
    db.session.flush()
    return job


def job_report(job: ImportJob) -> ImportReport | None:
    """The finished job's report, as the synchronous import gave it."""
    if not job.report:
        return None
    data = json.loads(job.report)
    data["problems"] = [tuple(problem) for problem in data["problems"]]
    return ImportReport(**data)


def job_progress(job: ImportJob) -> dict:
    """Status and figures for the job page and its poller."""
    finished = job.status == ImportJobStatus.DONE
    done = job.total_rows if finished else min(job.rows_done, job.total_rows)
    if job.total_rows:
        percent = 100 * done // job.total_rows
    else:
        percent = 100 if finished else 0
    return {"status": job.status, "total": job.total_rows, "done": done, "percent": percent}


def claim_import_job(worker: str, now: datetime | None = None) -> int | None:
    """Take the oldest queued job: its id, or None when there is none to take."""
    now = now or utcnow()
    while True:
        # SKIP LOCKED keeps PostgreSQL workers off a row another is claiming; the
        # conditional UPDATE makes the claim exact on every database (SQLite has no row
        # locks): of two workers that picked the same row, one updates it and one does not.
        candidate = db.session.scalar(
            select(ImportJob.id)
            .where(ImportJob.status == ImportJobStatus.QUEUED)
            .order_by(ImportJob.id)
            .limit(1)
            .with_for_update(skip_locked=True)
        )
        if candidate is None:
            db.session.commit()
            return None
        if take_job(candidate, worker, now):
            return candidate


def take_job(job_id: int, worker: str, now: datetime) -> bool:
    """Mark a queued job running for this worker, committed; False if it was not queued."""
    taken = db.session.execute(
        update(ImportJob)
        .where(ImportJob.id == job_id, ImportJob.status == ImportJobStatus.QUEUED)
        .values(
            status=ImportJobStatus.RUNNING,
            claimed_by=worker,
            started_at=now,
            claimed_until=now + timedelta(seconds=LEASE_SECONDS),
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    return taken == 1


class _Progress:
    """The importer's per-row callback: writes rows done and renews the lease, now and then,
    in its own transaction (a dry run never commits the importer's)."""

    def __init__(self, job_id: int):
        self.job_id, self.rows, self.written_at = job_id, 0, 0.0

    def __call__(self, rows: int) -> None:
        self.rows += rows
        if time.monotonic() - self.written_at >= PROGRESS_SECONDS:
            self.write()

    def write(self) -> None:
        with db.engine.begin() as connection:
            connection.execute(
                update(ImportJob)
                .where(ImportJob.id == self.job_id)
                .values(
                    rows_done=self.rows, claimed_until=utcnow() + timedelta(seconds=LEASE_SECONDS)
                )
            )
        self.written_at = time.monotonic()


def run_import_job(job_id: int) -> ImportJob:
    """Run a claimed job to the end: done with its report, or failed with a reason."""
    job = db.session.get(ImportJob, job_id)
    options = ImportOptions(
        mapping=json.loads(job.mapping),
        invite=job.is_invite,
        dry_run=job.is_dry_run,
        label=job.label,
    )
    name, language, progress = job.file_name, job.language, _Progress(job_id)
    try:
        with in_language(language), open(import_dir() / name, "rb") as stream:
            report = import_csv(stream, options, progress=progress)
    except MappingError as exc:
        return _fail(job_id, str(exc))
    except FileNotFoundError:
        with in_language(language):
            return _fail(job_id, _("The uploaded file is no longer there. Upload it again."))
    except Exception:
        log.exception("import job %s failed", job_id)
        with in_language(language):
            return _fail(
                job_id,
                _(
                    "The import stopped because of an unexpected error. Rows imported before it "
                    "stay; upload the file again to add the rest (rows already on the list are "
                    "skipped)."
                ),
            )
    finally:
        discard_file(name)
    return _finish(job_id, report)


def _finish(job_id: int, report: ImportReport) -> ImportJob:
    job = db.session.get(ImportJob, job_id)
    job.status, job.finished_at, job.claimed_until = ImportJobStatus.DONE, utcnow(), None
    job.rows_done = job.total_rows
    job.report = json.dumps(dataclasses.asdict(report))
    if not report.dry_run:
        record_audit(
            "subscribers.import",
            detail={"via": "web", "job": job.id, **report.as_dict()},
            editor=job.created_by,
        )
    db.session.commit()
    return job


def _fail(job_id: int, reason: str) -> ImportJob:
    db.session.rollback()
    job = db.session.get(ImportJob, job_id)
    job.status, job.finished_at, job.claimed_until = ImportJobStatus.FAILED, utcnow(), None
    job.error = reason
    db.session.commit()
    return job


def expire_import_jobs(retention_hours: int, now: datetime | None = None) -> int:
    """Fail jobs that will never finish, delete old ones and stray files; how many went."""
    now = now or utcnow()
    cutoff = now - timedelta(hours=retention_hours)
    stale = db.session.scalars(
        select(ImportJob)
        .where(
            ((ImportJob.status == ImportJobStatus.RUNNING) & (ImportJob.claimed_until < now))
            | ((ImportJob.status == ImportJobStatus.QUEUED) & (ImportJob.created_at < cutoff))
        )
        .with_for_update(skip_locked=True)
    ).all()
    for job in stale:
        with in_language(job.language):
            job.error = (
                _("No worker started the import in time. Upload the file again.")
                if job.status == ImportJobStatus.QUEUED
                else _(
                    "The worker stopped during the import. Rows imported before it "
                    "stay; upload the file again to add the rest (rows already on "
                    "the list are skipped)."
                )
            )
        job.status, job.finished_at, job.claimed_until = ImportJobStatus.FAILED, now, None
        discard_file(job.file_name)
    gone = db.session.execute(
        delete(ImportJob).where(
            ImportJob.status.in_([ImportJobStatus.DONE, ImportJobStatus.FAILED]),
            ImportJob.finished_at < cutoff,
        )
    ).rowcount
    db.session.commit()
    _remove_stray_files(cutoff)
    return len(stale) + gone


def _remove_stray_files(cutoff: datetime) -> None:
    # Uploads whose request failed before its job was committed.
    wanted = set(
        db.session.scalars(
            select(ImportJob.file_name).where(
                ImportJob.status.in_([ImportJobStatus.QUEUED, ImportJobStatus.RUNNING])
            )
        )
    )
    for path in import_dir().glob("*.csv"):
        if path.name not in wanted and path.stat().st_mtime < cutoff.timestamp():
            path.unlink(missing_ok=True)
