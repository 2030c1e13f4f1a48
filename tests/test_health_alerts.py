"""Delivery health: per-send rates, and alerts that email the admins once and show a banner."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, insert, select

from bulletin.core import alerts, health
from bulletin.core.defaults import ensure_defaults
from bulletin.core.send_report import failure_counts
from bulletin.delivery.pipeline import finish_sends
from bulletin.extensions import db
from bulletin.models import (
    BounceEvent,
    Delivery,
    HealthAlert,
    OutboxMessage,
    Send,
    SendStatus,
    utcnow,
)
from tests.conftest import _empty_tables
from tests.factories import sign_in


def seed_send(
    make_issue, *, sent: int, failed: int = 0, hard: int = 0, complaints: int = 0, finish=True
):
    """A send whose `sent` + `failed` deliveries are all final, with `hard` hard bounces
    (refusals first, then DSNs about sent ones) and `complaints` about sent ones; closed
    as the worker closes it (`finish`), or left for the worker's finish-sends job."""
    now = utcnow()
    send = Send(issue=make_issue(), status=SendStatus.SENDING, started_at=now - timedelta(hours=1))
    db.session.add(send)
    db.session.flush()
    rows = [
        {
            "send_id": send.id,
            "subscriber_id": 100_000 + i,
            "status": "sent" if i < sent else "failed",
            "language": "en",
            "sent_at": now - timedelta(minutes=5) if i < sent else None,
            "next_attempt_at": now,
        }
        for i in range(sent + failed)
    ]
    db.session.execute(insert(Delivery), rows)
    ids = list(db.session.scalars(select(Delivery.id).where(Delivery.send_id == send.id)))
    sent_ids, failed_ids = ids[:sent], ids[sent:]
    bounced = (failed_ids + sent_ids)[:hard]
    events = [_event("hard", d) for d in bounced]
    events += [_event("complaint", d) for d in sent_ids[-complaints:]] if complaints else []
    db.session.add_all(events)
    db.session.commit()
    if finish:
        assert finish_sends() == [send.id]
    return send


def _event(kind: str, delivery_id: int) -> BounceEvent:
    return BounceEvent(delivery_id=delivery_id, kind=kind, source="test", action="none")


def test_send_health_counts_rates_and_failures(app, make_issue):
    send = seed_send(make_issue, sent=990, failed=10, hard=30, complaints=2)
    h = health.send_health(send)
    assert (h.delivered, h.attempted, h.hard_bounces, h.complaints) == (990, 1000, 30, 2)
    assert h.hard_bounce_rate == pytest.approx(0.03)
    assert h.complaint_rate == pytest.approx(2 / 990)
    assert h.hard_bounces_high and h.complaints_high
    # Why they failed is the send report's one rule (core/send_report.py), charted here too.
    assert sum(failure_counts(send.id).values()) == 10


@pytest.fixture
def mail_app(make_app, smtp_server):
    application = make_app(SMTP_URL=smtp_server.url)
    with application.app_context():
        _empty_tables()
        ensure_defaults()
        yield application
        db.session.rollback()


def _admin_mails(smtp_server) -> list:
    return [m for m in smtp_server.received if "admin@example.org" in m.rcpt_tos]


@pytest.mark.slow
@pytest.mark.parametrize(
    "figures, metric",
    [
        ({"sent": 1000, "complaints": 2}, "complaints"),  # 0.2 % of delivered
        ({"sent": 970, "failed": 30, "hard": 30}, "hard-bounces"),  # 3 % of attempted
    ],
)
def test_alert_emails_admins_once_and_shows_a_banner(
    mail_app, make_editor, make_issue, smtp_server, run_worker_once, figures, metric
):
    admin = make_editor("admin@example.org", role="admin")
    make_editor("plain@example.org")  # not an admin: no mail
    seed_send(make_issue, **figures, finish=False)
    run_worker_once(mail_app)  # finish-sends closes the send and checks; the outbox next pass
    run_worker_once(mail_app)
    [mail] = _admin_mails(smtp_server)
    assert len(smtp_server.received) == 1
    subject = mail.message["Subject"]
    assert (
        "Delivery health needs attention" in subject
        and "Mae angen sylw ar iechyd y cyflenwi" in subject
    )
    body = mail.message.get_body(("plain",)).get_content()
    assert "SPF, DKIM and DMARC" in body and "Clean the list" in body
    assert "last send" in body and "/editor/insights" in body
    assert mail.message["Auto-Submitted"] == "auto-generated"
    opened = db.session.scalars(select(HealthAlert).where(HealthAlert.cleared_at.is_(None))).all()
    assert {a.metric for a in opened} == {metric}
    assert {a.scope for a in opened} == {"send", "recent"}
    # The next day's check, and the one after the next send, email nobody again.
    run_worker_once(mail_app, times=2)
    assert len(_admin_mails(smtp_server)) == 1
    # Every editor page carries the banner, for every editor.
    client = mail_app.test_client()
    sign_in(client, admin)
    page = client.get("/editor/workshops?lang=en").text
    assert "Delivery health needs attention" in page
    assert 'href="/editor/insights#health"' in page
    welsh = client.get("/editor/?lang=cy").text
    assert "Mae angen sylw ar iechyd y cyflenwi" in welsh


@pytest.mark.slow
def test_no_alert_at_the_limits(mail_app, make_editor, make_issue, smtp_server, run_worker_once):
    make_editor("admin@example.org", role="admin")
    # 0.1 % complaints and 2 % hard bounces are at the limits, not above them.
    seed_send(make_issue, sent=1000, hard=20, complaints=1)
    run_worker_once(mail_app, times=2)
    assert smtp_server.received == []
    assert db.session.scalar(select(func.count()).select_from(HealthAlert)) == 0
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 0
    client = mail_app.test_client()
    sign_in(client, db.session.scalar(select(alerts.Editor)))
    assert "Delivery health needs attention" not in client.get("/editor/").text


def test_alert_of_a_send_closes_when_a_healthy_send_follows(app, make_editor, make_issue):
    make_editor("admin@example.org", role="admin")
    seed_send(make_issue, sent=100, complaints=1)
    assert {(a.scope, a.metric) for a in alerts.check_health()} == {
        ("send", "complaints"),
        ("recent", "complaints"),
    }
    db.session.commit()
    seed_send(make_issue, sent=500)  # recent weeks: 1 in 600, still high
    assert alerts.check_health() == []  # no new alert: nothing more is mailed
    db.session.commit()
    assert [(a.scope, a.metric) for a in alerts.open_alerts()] == [("recent", "complaints")]
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 1


def test_finishing_a_send_checks_its_health_at_once(app, make_editor, make_issue):
    from bulletin.delivery.jobs import finish_done_sends
    from bulletin.mail.settings import DeliverySettings
    from bulletin.worker import Worker

    make_editor("admin@example.org", role="admin")
    seed_send(make_issue, sent=100, hard=3, finish=False)  # 3 % hard bounces
    assert alerts.open_alerts() == []
    finish_done_sends(Worker(app=app, settings=DeliverySettings.from_app(app)))
    assert [(a.scope, a.metric) for a in alerts.open_alerts()] == [
        ("send", "hard-bounces"),
        ("recent", "hard-bounces"),
    ]
    [mail] = db.session.scalars(select(OutboxMessage)).all()
    assert (mail.kind, mail.to_address) == ("health-alert", "admin@example.org")
