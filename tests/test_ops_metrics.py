"""/metrics: the token rule, and figures scraped and parsed after a real send through SMTP."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from bulletin.extensions import db
from bulletin.mail import outbox
from bulletin.models import (
    BounceEvent,
    Delivery,
    DeliveryStatus,
    Issue,
    Send,
    SendStatus,
    utcnow,
)
from tests.support.worker import run_worker_once

TOKEN = "metrics-token-for-tests"
ROOT = Path(__file__).resolve().parents[1]


def scrape(client) -> dict[tuple[str, frozenset], float]:
    """Every sample on /metrics, by name and labels."""
    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200, response.text
    assert response.mimetype == "text/plain"
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples, name: str, **labels) -> float:
    return samples[(name, frozenset(labels.items()))]


@pytest.fixture
def metrics_client(app):
    app.config["METRICS_TOKEN"] = TOKEN
    return app.test_client()


@pytest.mark.parametrize("header", [None, f"Bearer {TOKEN}x", "Bearer ", f"Basic {TOKEN}", TOKEN])
def test_metrics_refuse_a_missing_or_wrong_token(metrics_client, header):
    headers = {"Authorization": header} if header is not None else {}
    response = metrics_client.get("/metrics", headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert "bulletin_" not in response.text


def test_metrics_are_not_found_while_no_token_is_set(client):
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", headers={"Authorization": "Bearer "}).status_code == 404


def _issue() -> Issue:
    issue = Issue(
        slug="metrics-issue",
        subject_en="Research bulletin",
        subject_cy="Bwletin",
        intro_en="Hello.",
        intro_cy="Helo.",
    )
    db.session.add(issue)
    db.session.commit()
    return issue


def test_metrics_after_a_real_send_through_the_worker(
    app, metrics_client, smtp_server, make_subscriber
):
    app.config.update(
        SMTP_URL=smtp_server.url,
        SEND_RETRY_SECONDS=0.0,
        WORKER_TICK_SECONDS=0.1,
        SMTP_CONNECTIONS=1,
    )
    readers = [make_subscriber(f"reader.{i}@example.org") for i in range(3)]
    outbox.enqueue(readers[0], "welcome")
    issue = _issue()
    db.session.add(Send(issue=issue, status=SendStatus.SCHEDULED, scheduled_at=utcnow()))
    db.session.commit()
    before = scrape(metrics_client)
    assert value(before, "bulletin_outbox_pending") == 1
    assert value(before, "bulletin_messages", channel="bulk", outcome="sent") == 0
    assert value(before, "bulletin_messages", channel="transactional", outcome="sent") == 0

    run_worker_once(app, times=2)  # the welcome; start-sends, run-senders (drains), finish-sends
    assert len(smtp_server.received) == 4

    for _ in range(2):
        assert metrics_client.get("/healthz").status_code == 200
    after = scrape(metrics_client)
    assert value(after, "bulletin_messages", channel="bulk", outcome="sent") == 3
    assert value(after, "bulletin_messages", channel="bulk", outcome="failed") == 0
    assert value(after, "bulletin_messages", channel="transactional", outcome="sent") == 1
    assert value(after, "bulletin_outbox_pending") == 0
    assert value(after, "bulletin_outbox_oldest_age_seconds") == 0
    assert value(after, "bulletin_deliveries_queued") == 0
    assert value(after, "bulletin_delivery_leases_expired") == 0
    assert value(after, "bulletin_workers_live") == 0
    assert value(after, "bulletin_database_up") == 1
    healthz = (
        "bulletin_http_requests_total",
        dict(endpoint="ops.healthz", method="GET", status="200"),
    )
    assert (
        value(after, healthz[0], **healthz[1])
        - before.get((healthz[0], frozenset(healthz[1].items())), 0)
        == 2
    )
    assert (
        value(after, "bulletin_http_request_duration_seconds_count", endpoint="ops.prometheus") >= 1
    )


def test_metrics_of_a_running_send_leases_deferrals_and_bounces(app, metrics_client):
    issue = _issue()
    send = Send(issue=issue, status=SendStatus.SENDING, recipient_count=4, started_at=utcnow())
    db.session.add(send)
    db.session.commit()
    now = utcnow()
    db.session.add_all(
        [
            Delivery(
                send_id=send.id,
                subscriber_id=1,
                language="en",
                status=DeliveryStatus.SENT,
                sent_at=now - timedelta(seconds=5),
            ),
            Delivery(
                send_id=send.id,
                subscriber_id=2,
                language="cy",
                status=DeliveryStatus.SENT,
                sent_at=now - timedelta(minutes=5),
            ),
            Delivery(
                send_id=send.id,
                subscriber_id=3,
                language="en",
                status=DeliveryStatus.QUEUED,
                attempts=1,
            ),
            Delivery(
                send_id=send.id,
                subscriber_id=4,
                language="en",
                status=DeliveryStatus.SENDING,
                claimed_by="gone:1",
                claimed_until=now - timedelta(minutes=1),
            ),
            BounceEvent(kind="hard", source="smtp", action="cleaned"),
            BounceEvent(kind="hard", source="smtp", action="cleaned"),
            BounceEvent(kind="complaint", source="ses", action="unsubscribed"),
        ]
    )
    db.session.commit()
    samples = scrape(metrics_client)
    label = {"send_id": str(send.id)}
    assert value(samples, "bulletin_send_recipients", **label) == 4
    assert value(samples, "bulletin_send_finished", **label) == 2
    assert value(samples, "bulletin_send_progress_ratio", **label) == 0.5
    assert value(samples, "bulletin_send_rate_per_second", **label) == pytest.approx(1 / 60)
    assert value(samples, "bulletin_messages", channel="bulk", outcome="sent") == 2
    assert value(samples, "bulletin_messages_deferred", channel="bulk") == 1
    assert value(samples, "bulletin_deliveries_queued") == 1
    assert value(samples, "bulletin_deliveries_leased") == 1
    assert value(samples, "bulletin_delivery_leases_expired") == 1
    assert value(samples, "bulletin_bounce_events", kind="hard", source="smtp") == 2
    assert value(samples, "bulletin_bounce_events", kind="complaint", source="ses") == 1


SERVE = """
import json, sys
from bulletin import create_app
from bulletin.extensions import db
from tests.conftest import config_for
app = create_app(config_for(DATABASE_URL=sys.argv[1], METRICS_TOKEN="t",
                            PROMETHEUS_MULTIPROC_DIR=sys.argv[2]))
with app.app_context():
    db.create_all()
client = app.test_client()
if sys.argv[3] == "hit":
    for _ in range(3):
        client.get("/healthz")
else:
    print(client.get("/metrics", headers={"Authorization": "Bearer t"}).text)
"""


@pytest.mark.slow
def test_several_processes_add_up_in_multiprocess_mode(tmp_path):
    folder = tmp_path / "prometheus"
    folder.mkdir()
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(folder)}
    env.pop("DATABASE_URL", None)
    url = f"sqlite:///{tmp_path / 'multi.sqlite3'}"

    def run(mode: str) -> str:
        done = subprocess.run(
            [sys.executable, "-c", SERVE, url, str(folder), mode],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    run("hit")
    run("hit")  # another process, like a second gunicorn worker
    text = run("scrape")
    samples = {
        (s.name, json.dumps(s.labels, sort_keys=True)): s.value
        for f in text_string_to_metric_families(text)
        for s in f.samples
    }
    key = json.dumps({"endpoint": "ops.healthz", "method": "GET", "status": "200"}, sort_keys=True)
    assert samples[("bulletin_http_requests_total", key)] == 6
    assert ("bulletin_outbox_pending", "{}") in samples  # the database's gauges come too


def test_metrics_still_answer_with_the_database_down(make_app):
    app = make_app(DATABASE_URL="postgresql://postgres@127.0.0.1:1/nowhere", METRICS_TOKEN=TOKEN)
    client = app.test_client()
    client.get("/healthz")
    samples = scrape(client)
    assert value(samples, "bulletin_database_up") == 0
    assert not any(name == "bulletin_outbox_pending" for name, _ in samples)
    assert any(name == "bulletin_http_requests_total" for name, _ in samples)
