"""Retention: old pending sign-ups, delivery rows and sent mail go; counts and trails stay."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import time_machine
from sqlalchemy import func, select

from bulletin.core import subscribers as operations
from bulletin.extensions import db
from bulletin.mail import outbox
from bulletin.mail.settings import DeliverySettings
from bulletin.models import (
    ConsentEvent,
    Delivery,
    DeliveryStatus,
    OutboxMessage,
    OutboxStatus,
    Send,
    SendStatus,
    Subscriber,
    SubscriberStatus,
)
from bulletin.privacy.commands import purge_command
from bulletin.privacy.retention import Policy, purge
from bulletin.worker import JOBS, Worker, run_job
from tests.conftest import csrf_token

START = datetime(2025, 1, 10, 9, 0, tzinfo=UTC)


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def sign_up_via_form(client, email: str) -> None:
    page = client.get("/subscribe")
    response = client.post(
        "/subscribe",
        data={
            "csrf_token": csrf_token(page.text),
            "email": email,
            "topics": ["news"],
            "region": "mid-wales",
            "language": "en",
            "consent": "y",
        },
    )
    assert response.status_code == 303


def test_unconfirmed_sign_up_is_erased_after_the_pending_retention(app, client):
    with time_machine.travel(START, tick=False):
        sign_up_via_form(client, "late@example.org")
        sign_up_via_form(client, "prompt@example.org")
    prompt = operations.find_by_email("prompt@example.org")
    with time_machine.travel(START + timedelta(days=2), tick=False):
        operations.confirm(prompt, ip=None)
        db.session.commit()
    late_uid = operations.find_by_email("late@example.org").uid

    with time_machine.travel(START + timedelta(days=29), tick=False):
        assert purge(Policy(30, 365)).pending_subscribers == 0
        db.session.commit()
    with time_machine.travel(START + timedelta(days=31), tick=False):
        report = purge(Policy(30, 365))
        db.session.commit()

    assert report.pending_subscribers == 1
    assert operations.find_by_email("late@example.org") is None
    assert operations.find_by_email("prompt@example.org").status == SubscriberStatus.CONFIRMED
    trail = db.session.scalars(
        select(ConsentEvent).filter_by(subject_uid=late_uid).order_by(ConsentEvent.id)
    ).all()
    assert [e.kind for e in trail] == ["signup", "erasure"]
    assert all(e.subscriber_id is None for e in trail)
    assert trail[-1].source == "retention:unconfirmed"
    # Their confirmation mail went with them; the confirmed reader's mails stayed.
    assert db.session.scalar(select(func.count(OutboxMessage.id))) == 2
    assert {m.kind for m in db.session.scalars(select(OutboxMessage))} == {"confirm", "welcome"}


def test_a_pending_reader_who_signed_up_again_recently_is_kept(app, client):
    with time_machine.travel(START, tick=False):
        sign_up_via_form(client, "again@example.org")
    with time_machine.travel(START + timedelta(days=25), tick=False):
        sign_up_via_form(client, "again@example.org")
    with time_machine.travel(START + timedelta(days=40), tick=False):
        assert purge(Policy(30, 365)).pending_subscribers == 0
    with time_machine.travel(START + timedelta(days=56), tick=False):
        assert purge(Policy(30, 365)).pending_subscribers == 1


def test_dry_run_reports_and_changes_nothing(app, client):
    with time_machine.travel(START, tick=False):
        sign_up_via_form(client, "dry@example.org")
    with time_machine.travel(START + timedelta(days=45), tick=False):
        report = purge(Policy(30, 365), dry_run=True)
        db.session.rollback()
    assert report.pending_subscribers == 1 and report.dry_run
    assert operations.find_by_email("dry@example.org") is not None


def _finished_send(issue, subscribers, finished_at, statuses) -> Send:
    send = Send(
        issue=issue, status=SendStatus.DONE, started_at=finished_at, finished_at=finished_at
    )
    db.session.add(send)
    db.session.flush()
    for subscriber, status in zip(subscribers, statuses, strict=True):
        db.session.add(
            Delivery(
                send_id=send.id,
                subscriber_id=subscriber.id,
                status=status,
                language="en",
                sent_at=finished_at,
            )
        )
    db.session.commit()
    return send


def test_old_deliveries_are_reduced_to_the_sends_counts(app, make_subscriber, make_issue):
    readers = [make_subscriber() for _ in range(3)]
    statuses = [DeliveryStatus.SENT, DeliveryStatus.SENT, DeliveryStatus.FAILED]
    old = _finished_send(make_issue(), readers, START, statuses)
    recent = _finished_send(make_issue(), readers, START + timedelta(days=300), statuses)
    old_id, recent_id = old.id, recent.id

    with time_machine.travel(START + timedelta(days=366), tick=False):
        report = purge(Policy(30, 365))
        db.session.commit()

    assert (report.sends_reduced, report.deliveries) == (1, 3)
    assert db.session.scalar(select(func.count(Delivery.id)).filter_by(send_id=old_id)) == 0
    assert db.session.scalar(select(func.count(Delivery.id)).filter_by(send_id=recent_id)) == 3
    kept = db.session.get(Send, old_id)
    assert (kept.recipient_count, kept.sent_count, kept.failed_count) == (3, 2, 1)


def test_old_finished_outbox_rows_go_and_pending_ones_stay(app, make_subscriber):
    reader = make_subscriber()
    with time_machine.travel(START, tick=False):
        sent = outbox.enqueue(reader, "welcome")
        sent.status = OutboxStatus.SENT
        failed = outbox.enqueue(reader, "manage-link")
        failed.status = OutboxStatus.FAILED
        outbox.enqueue(reader, "manage-link")  # still pending: the worker owns it
        db.session.commit()
    with time_machine.travel(START + timedelta(days=200), tick=False):
        outbox.enqueue(reader, "welcome").status = OutboxStatus.SENT
        db.session.commit()
    with time_machine.travel(START + timedelta(days=400), tick=False):
        report = purge(Policy(30, 365))
        db.session.commit()
    assert report.outbox_messages == 2
    left = db.session.scalars(select(OutboxMessage.status).order_by(OutboxMessage.id)).all()
    assert left == [OutboxStatus.PENDING, OutboxStatus.SENT]


def test_the_worker_runs_the_purge_once_a_day(app, client):
    [job] = [j for j in JOBS if j.name == "purge-expired"]
    assert job.seconds == 86400
    with time_machine.travel(START, tick=False):
        sign_up_via_form(client, "worker@example.org")
    worker = Worker(app=app, settings=DeliverySettings.from_app(app))
    with time_machine.travel(START + timedelta(days=31), tick=False):
        run_job(worker, job)
    worker.close()
    assert db.session.scalar(select(Subscriber).filter_by(email="worker@example.org")) is None


def test_purge_command_dry_run_then_apply(app, client, runner):
    with time_machine.travel(START, tick=False):
        sign_up_via_form(client, "cli@example.org")
    with time_machine.travel(START + timedelta(days=31), tick=False):
        dry = runner.invoke(purge_command, ["--dry-run"])
        assert "Would remove: 1 unconfirmed" in dry.output
        assert operations.find_by_email("cli@example.org") is not None
        applied = runner.invoke(purge_command, ["--apply"])
    assert applied.exit_code == 0 and "Removed: 1 unconfirmed" in applied.output
    db.session.expire_all()
    assert operations.find_by_email("cli@example.org") is None


def test_reports_without_proof_go_after_their_retention_and_proven_ones_stay(app, make_subscriber):
    from bulletin.bounces.ingest import ingest_raw
    from bulletin.models import BounceAction, BounceEvent, InboundMessage
    from tests.support.bouncemail import BOUNCE_DOMAIN, dsn

    reader = make_subscriber("victim@example.org")
    with time_machine.travel(START, tick=False):
        forged = ingest_raw(
            dsn(reader.email, envelope_to=f"postmaster@{BOUNCE_DOMAIN}"), source="mbox"
        )
        db.session.commit()
    with time_machine.travel(START + timedelta(days=20), tick=False):
        recent = ingest_raw(dsn(reader.email, diagnostic="550 no such user here"), source="mbox")
        db.session.commit()
    assert forged.action == recent.action == BounceAction.UNPROVEN
    kept = BounceEvent(
        kind="hard",
        source="mbox",
        action=BounceAction.CLEANED,
        created_at=START - timedelta(days=100),
    )
    db.session.add(kept)
    db.session.commit()
    forged_id, recent_id, kept_id = forged.id, recent.id, kept.id

    with time_machine.travel(START + timedelta(days=31), tick=False):
        assert purge(Policy(30, 365), dry_run=True).unproven_reports == 1
        db.session.rollback()
        assert purge(Policy(30, 365)).unproven_reports == 1
        db.session.commit()
    remaining = set(db.session.scalars(select(BounceEvent.id)))
    assert forged_id not in remaining and {recent_id, kept_id} <= remaining
    ledger = set(db.session.scalars(select(InboundMessage.bounce_event_id)))
    assert forged_id not in ledger and recent_id in ledger
    assert db.session.get(Subscriber, reader.id).status == SubscriberStatus.CONFIRMED
