"""Web CSV imports run as worker jobs: the request stores the file and queues; the worker
claims (once), imports with progress, and the job page shows the report or the failure."""

from __future__ import annotations

import io
import json
import os
import stat
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select

from bulletin.extensions import db
from bulletin.mail.settings import DeliverySettings
from bulletin.models import AuditLog, ImportJob, Subscriber, utcnow
from bulletin.privacy import imports
from bulletin.privacy.importer import ImportOptions
from bulletin.worker import JOBS, Worker, run_job
from tests.conftest import csrf_token

BODY = b"Email,Consent date\nann@example.org,01/04/2024\nbad,\nbob@example.org,\n"


def run_worker_job(app, name: str = "run-imports") -> None:
    """One run of a worker job, as the scheduler runs it."""
    [job] = [j for j in JOBS if j.name == name]
    run_job(Worker(app=app, settings=DeliverySettings.from_app(app), name="test-worker"), job)


def upload(client, body: bytes = BODY, **fields):
    page = client.get("/editor/subscribers/import")
    data = {"csrf_token": csrf_token(page.text), "file": (io.BytesIO(body), "list.csv"), **fields}
    return client.post("/editor/subscribers/import", data=data, content_type="multipart/form-data")


def subscribers() -> int:
    return db.session.scalar(select(func.count()).select_from(Subscriber))


def fresh_job(job_id: int) -> ImportJob:
    db.session.expire_all()
    return db.session.get(ImportJob, job_id)


def queued_file(app, body: bytes, **options) -> ImportJob:
    """A job queued straight through the store (no header check), as an upload leaves it."""
    name, rows = imports.store_upload(io.BytesIO(body))
    job = imports.queue_import(
        name, rows, ImportOptions(label="t.csv", **options), language="en", editor=None
    )
    db.session.commit()
    return job


def test_upload_queues_a_job_and_the_worker_imports_it_with_a_report(app, editor_client):
    response = upload(editor_client, invite="y")
    assert response.status_code == 303
    job = db.session.scalar(select(ImportJob))
    assert response.headers["Location"].endswith(f"/editor/subscribers/import/{job.id}")
    assert (job.status, job.total_rows, job.rows_done, job.is_dry_run) == ("queued", 3, 0, False)
    assert subscribers() == 0  # nothing imported inside the request
    stored = Path(app.config["IMPORT_DIR"]) / job.file_name
    assert stored.read_bytes() == BODY and stat.S_IMODE(os.stat(stored).st_mode) == 0o600

    waiting = editor_client.get(response.headers["Location"])
    assert waiting.status_code == 200 and "Waiting for the worker" in waiting.text
    assert "send-progress.js" in waiting.text and "<script>" not in waiting.text
    progress = editor_client.get(f"/editor/subscribers/import/{job.id}/progress").get_json()
    assert progress["status"] == "queued" and progress["total"] == 3 and progress["done"] == 0

    run_worker_job(app)
    job = fresh_job(job.id)
    assert job.status == "done" and job.claimed_by == "test-worker" and not stored.exists()
    assert subscribers() == 2
    report = editor_client.get(response.headers["Location"])
    assert "Import finished" in report.text and ">3<" in report.text  # the bad row's line
    assert json.loads(job.report)["confirmed"] == 1
    assert (
        editor_client.get(f"/editor/subscribers/import/{job.id}/progress").get_json()["percent"]
        == 100
    )
    [entry] = db.session.scalars(select(AuditLog)).all()
    assert entry.action == "subscribers.import" and entry.editor_id == editor_client.editor.id
    assert json.loads(entry.detail)["job"] == job.id


def test_dry_run_job_reports_and_writes_nothing(app, editor_client):
    location = upload(editor_client, dry_run="y").headers["Location"]
    run_worker_job(app)
    page = editor_client.get(location)
    assert "nothing was changed" in page.text and subscribers() == 0
    assert db.session.scalar(select(AuditLog)) is None


def test_unusable_header_is_refused_in_the_request_and_no_file_stays(app, editor_client):
    response = upload(editor_client, b"Name\nAnn\n")
    assert response.status_code == 400 and "no email column" in response.text
    assert db.session.scalar(select(ImportJob)) is None
    assert list(Path(app.config["IMPORT_DIR"]).iterdir()) == []


def test_a_failing_file_gives_a_failed_job_with_a_clear_message(app, editor_client):
    job = queued_file(app, b"Name\nAnn\n")
    gone = queued_file(app, BODY)
    (Path(app.config["IMPORT_DIR"]) / gone.file_name).unlink()
    run_worker_job(app)
    failed = fresh_job(job.id)
    assert failed.status == "failed" and "no email column" in failed.error
    assert not (Path(app.config["IMPORT_DIR"]) / failed.file_name).exists()
    page = editor_client.get(f"/editor/subscribers/import/{job.id}")
    assert "The import failed" in page.text and "no email column" in page.text
    assert "send-progress.js" not in page.text  # nothing left to watch
    assert "no longer there" in fresh_job(gone.id).error


def test_an_unexpected_error_fails_the_job_and_says_what_to_do(app, monkeypatch):
    job = queued_file(app, BODY)

    def broken(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(imports, "import_csv", broken)
    run_worker_job(app)
    failed = fresh_job(job.id)
    assert failed.status == "failed" and "upload the file again" in failed.error
    assert "database went away" not in failed.error


def test_two_claims_never_take_the_same_job(app):
    job = queued_file(app, BODY)
    assert imports.claim_import_job("worker-1") == job.id
    assert imports.claim_import_job("worker-2") is None
    # Two workers that both read the row as queued: only the first update takes it.
    other = queued_file(app, BODY)
    assert imports.take_job(other.id, "worker-1", utcnow()) is True
    assert imports.take_job(other.id, "worker-2", utcnow()) is False
    assert fresh_job(other.id).claimed_by == "worker-1"


def test_progress_is_written_in_its_own_transaction(app):
    job = queued_file(app, BODY, dry_run=True)
    progress = imports._Progress(job.id)
    progress(2)  # the first call writes
    db.session.rollback()  # the importer's own transaction is not what carries it
    assert fresh_job(job.id).rows_done == 2
    assert imports.job_progress(fresh_job(job.id))["percent"] == 66


def test_stale_jobs_fail_and_old_ones_go(app):
    dead = queued_file(app, BODY)
    dead_id, dead_file = dead.id, dead.file_name
    imports.take_job(dead.id, "gone-worker", utcnow() - timedelta(hours=1))
    never = queued_file(app, BODY)
    never.created_at = utcnow() - timedelta(hours=100)
    old = queued_file(app, BODY)
    old.status, old.finished_at = "done", utcnow() - timedelta(hours=100)
    db.session.commit()
    never_id, old_id = never.id, old.id
    stray = Path(app.config["IMPORT_DIR"]) / "stray.csv"
    stray.write_bytes(b"x")
    os.utime(stray, (0, 0))
    run_worker_job(app, "expire-imports")
    assert "worker stopped" in fresh_job(dead_id).error
    assert "No worker started" in fresh_job(never_id).error
    assert fresh_job(old_id) is None and not stray.exists()
    assert not (Path(app.config["IMPORT_DIR"]) / dead_file).exists()


def test_job_pages_and_row_problems_are_in_the_uploaders_language(app, editor_client):
    editor_client.get("/editor/?lang=cy")  # the editor chose Welsh
    location = upload(editor_client).headers["Location"]
    assert "Yn aros i'r gweithiwr" in editor_client.get(location).text
    run_worker_job(app)  # no request: the worker writes the problems in the job's language
    job = db.session.scalar(select(ImportJob))
    assert job.language == "cy"
    [(line, message)] = json.loads(job.report)["problems"]
    assert line == 3 and message.startswith("Nid cyfeiriad e-bost yw hwn: gwiriwch")
    assert "Nid cyfeiriad e-bost yw hwn" in editor_client.get(location).text
    failed = queued_file(app, b"Name\nAnn\n")
    failed.language = "cy"
    db.session.commit()
    run_worker_job(app)
    failed = fresh_job(failed.id)
    assert failed.status == "failed" and "no email column" not in failed.error
    assert (
        "Methodd y mewnforio" in editor_client.get(f"/editor/subscribers/import/{failed.id}").text
    )
