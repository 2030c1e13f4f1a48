"""/healthz and /readyz: each readiness check fails on its own, and says which; heartbeats."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from flask_migrate import stamp
from sqlalchemy import select, text

from bulletin.core import heartbeats
from bulletin.extensions import db
from bulletin.mail.settings import DeliverySettings
from bulletin.models import OutboxMessage, WorkerHeartbeat, utcnow
from bulletin.ops import health
from bulletin.worker import HEARTBEAT, Job, Worker, heartbeat, run_job, start_scheduler
from tests.conftest import config_for


def code_head(app) -> str:
    [head] = health.code_heads(app.extensions["migrate"].directory)
    return head


@pytest.fixture
def migrated(app):
    """The test database (made by create_all) stamped at the code's head, as `init` leaves it."""
    stamp(directory=app.extensions["migrate"].directory, revision="heads")
    db.session.commit()
    yield
    db.session.rollback()
    db.session.execute(text("DROP TABLE IF EXISTS alembic_version"))
    db.session.commit()


def _beat(seconds_ago: float = 0, *, stopped: bool = False) -> WorkerHeartbeat:
    identity = heartbeats.Identity.here()
    heartbeats.beat(identity, "run-senders")
    row = db.session.scalar(select(WorkerHeartbeat).filter_by(name=identity.name))
    row.last_beat_at = utcnow() - timedelta(seconds=seconds_ago)
    if stopped:
        row.stopped_at = utcnow()
    db.session.commit()
    return row


def _ready(client) -> tuple[int, dict]:
    response = client.get("/readyz")
    assert response.headers["Cache-Control"] == "no-store"
    return response.status_code, response.get_json()


def test_healthz_answers_without_the_database(make_app):
    app = make_app(DATABASE_URL="postgresql://postgres@127.0.0.1:1/nowhere")
    response = app.test_client().get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_ready_with_database_schema_worker_and_a_moving_outbox(client, migrated, make_subscriber):
    reader = make_subscriber("private.person@example.org")
    _beat(seconds_ago=5)
    db.session.add(
        OutboxMessage(
            kind="confirm",
            subscriber_id=reader.id,
            recipient_hash="h" * 64,
            created_at=utcnow() - timedelta(minutes=2),
        )
    )
    db.session.commit()
    status, body = _ready(client)
    assert status == 200, body
    assert body["status"] == "ready" and body["failed"] == []
    assert set(body["checks"]) == {"database", "migrations", "workers", "outbox"}
    assert body["checks"]["workers"]["live"] == 1
    assert body["checks"]["migrations"]["database"] == [code_head(client.application)]
    assert 100 < body["checks"]["outbox"]["oldest_pending_seconds"] < 600
    raw = client.get("/readyz").text
    assert "private.person" not in raw and "example.org" not in raw


@pytest.mark.parametrize(
    ("seconds_ago", "stopped"),
    [(None, False), (61, False), (5, True)],
    ids=["no-heartbeat", "stale-heartbeat", "stopped-worker"],
)
def test_not_ready_without_a_live_worker(client, migrated, seconds_ago, stopped):
    if seconds_ago is not None:
        _beat(seconds_ago, stopped=stopped)
    status, body = _ready(client)
    assert status == 503
    assert body["status"] == "not ready" and body["failed"] == ["workers"]
    assert body["checks"]["workers"]["live"] == 0


def test_not_ready_when_the_oldest_transactional_mail_waits_over_ten_minutes(
    client, migrated, make_subscriber
):
    _beat()
    reader = make_subscriber()
    db.session.add(
        OutboxMessage(
            kind="confirm",
            subscriber_id=reader.id,
            recipient_hash="h" * 64,
            created_at=utcnow() - timedelta(minutes=11),
        )
    )
    db.session.add(OutboxMessage(kind="confirm", subscriber_id=reader.id, recipient_hash="h" * 64))
    db.session.commit()
    status, body = _ready(client)
    assert status == 503 and body["failed"] == ["outbox"]
    assert body["checks"]["outbox"]["oldest_pending_seconds"] >= 660


def test_sent_mail_does_not_count_as_stuck(client, migrated, make_subscriber):
    _beat()
    reader = make_subscriber()
    db.session.add(
        OutboxMessage(
            kind="confirm",
            subscriber_id=reader.id,
            recipient_hash="h" * 64,
            status="sent",
            created_at=utcnow() - timedelta(hours=3),
        )
    )
    db.session.commit()
    assert _ready(client)[0] == 200


def test_not_ready_when_migrations_are_behind(app, client, migrated):
    _beat()
    stamp(directory=app.extensions["migrate"].directory, revision="5b1e7c2a9d40")
    db.session.commit()
    status, body = _ready(client)
    assert status == 503 and body["failed"] == ["migrations"]
    assert body["checks"]["migrations"] == {
        "ok": False,
        "database": ["5b1e7c2a9d40"],
        "code": [code_head(app)],
    }


def test_not_ready_when_never_migrated(client):
    _beat()
    status, body = _ready(client)
    assert status == 503 and body["failed"] == ["migrations"]
    assert body["checks"]["migrations"]["database"] == []


def test_not_ready_when_the_database_is_unreachable(make_app):
    app = make_app(DATABASE_URL="postgresql://postgres@127.0.0.1:1/nowhere")
    status, body = _ready(app.test_client())
    assert status == 503
    assert body["failed"] == ["database", "migrations", "workers", "outbox"]
    assert body["checks"]["database"]["error"] == "OperationalError"


def test_health_pages_need_no_sign_in_set_no_cookie_and_are_not_limited(client):
    answers = [client.get("/healthz") for _ in range(30)]
    assert {r.status_code for r in answers} == {200}
    assert not any(r.headers.get("Set-Cookie") for r in answers)


def test_the_embedded_worker_beats_at_start_and_is_marked_stopped_on_close(app, client, migrated):
    scheduler, worker = start_scheduler(app, mode="embedded")
    try:
        status, body = _ready(client)
        assert status == 200, body
        [row] = db.session.scalars(select(WorkerHeartbeat)).all()
        assert row.mode == "embedded" and row.stopped_at is None
        assert worker.name.startswith(row.host)
    finally:
        scheduler.shutdown(wait=True)
        worker.close()
    db.session.expire_all()
    [row] = db.session.scalars(select(WorkerHeartbeat)).all()
    assert row.stopped_at is not None
    assert _ready(client)[1]["failed"] == ["workers"]


def test_the_heartbeat_records_the_jobs_running_and_prunes_old_workers(app, migrated):
    old = _beat(seconds_ago=8 * 24 * 3600)
    old_name = old.name
    worker = Worker(app=app, settings=DeliverySettings.from_app(app))
    identity = heartbeats.Identity.here()
    started, release = threading.Event(), threading.Event()

    def slow_job(_worker):
        started.set()
        release.wait(30)

    thread = threading.Thread(target=run_job, args=(worker, Job("run-imports", slow_job)))
    thread.start()
    try:
        assert started.wait(30)
        run_job(worker, Job(HEARTBEAT, lambda w: heartbeat(w, identity)))
    finally:
        release.set()
        thread.join(30)
    db.session.expire_all()
    names = {r.name: r for r in db.session.scalars(select(WorkerHeartbeat))}
    assert old_name not in names  # seen over KEEP_DAYS ago: pruned
    assert names[identity.name].current_job == "run-imports"
    assert worker.current_jobs() == ""


def test_admins_see_live_stopped_and_lost_workers(editor_client, make_editor):
    live = _beat(seconds_ago=3)
    _beat(seconds_ago=600, stopped=True)
    _beat(seconds_ago=600)
    page = editor_client.get("/editor/admin/workers")
    assert page.status_code == 200
    html = page.text
    assert "1 worker is running." in html
    assert live.host in html and str(live.pid) in html and "run-senders" in html
    assert "Stopped" in html and "Lost: not seen for over a minute" in html
    assert "/editor/admin/workers" in editor_client.get("/editor/admin").text
    welsh = editor_client.get("/editor/admin/workers?lang=cy").text
    assert "Gweithwyr" in welsh and "Ar goll" in welsh


def test_only_admins_see_the_workers_page(app, make_editor):
    from tests.factories import sign_in

    client = app.test_client()
    sign_in(client, make_editor(role="editor"))
    assert client.get("/editor/admin/workers").status_code == 403


def test_heartbeat_config_isolated_from_other_apps():
    # config_for gives TestConfig: no METRICS_TOKEN, text logs.
    values = config_for()
    assert values["METRICS_TOKEN"] is None and values["LOG_FORMAT"] == "text"


def test_bulletin_worker_beats_while_it_runs_and_is_marked_stopped_when_told_to_stop(
    app, client, migrated
):
    from bulletin.worker import run_forever

    stop_event = threading.Event()
    thread = threading.Thread(target=run_forever, args=(app, stop_event))
    thread.start()
    try:
        deadline = time.monotonic() + 60
        while _ready(client)[0] != 200:  # the first beat comes before the clock starts
            assert time.monotonic() < deadline, "the worker never beat"
            db.session.commit()
            stop_event.wait(0.05)
        [row] = db.session.scalars(select(WorkerHeartbeat)).all()
        assert row.mode == "worker" and row.version
    finally:
        stop_event.set()
        thread.join(60)
    assert not thread.is_alive()
    db.session.expire_all()
    [row] = db.session.scalars(select(WorkerHeartbeat)).all()
    assert row.stopped_at is not None and row.current_job is None
    assert _ready(client)[1]["failed"] == ["workers"]
