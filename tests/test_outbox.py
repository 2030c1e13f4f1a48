"""Transactional mail: written with the change, delivered by the worker, never lost."""

from __future__ import annotations

import email.policy
from datetime import timedelta
from email.parser import BytesParser

import pytest
import time_machine
from sqlalchemy import select

from bulletin.extensions import db
from bulletin.models import (
    BounceEvent,
    OutboxMessage,
    OutboxStatus,
    Subscriber,
    SubscriberStatus,
    utcnow,
)
from tests.conftest import _empty_tables, csrf_token
from tests.support.smtp import SMTPServer, free_port


def sign_up(client, address="dead.smtp@example.org"):
    page = client.get("/subscribe")
    return client.post(
        "/subscribe",
        data={
            "csrf_token": csrf_token(page.text),
            "email": address,
            "topics": ["news"],
            "region": "north-wales",
            "language": "en",
            "consent": "y",
        },
    )


@pytest.mark.slow
def test_dead_smtp_server_delays_mail_but_loses_nothing(make_app, run_worker_once):
    from bulletin.core.defaults import ensure_defaults

    port = free_port()
    app = make_app(SMTP_URL=f"smtp://127.0.0.1:{port}", SMTP_TIMEOUT=2)
    with app.app_context():
        _empty_tables()
        ensure_defaults()
        client = app.test_client()
        assert sign_up(client).status_code == 303  # the web request never waits on SMTP
        run_worker_once(app)
        row = db.session.scalar(select(OutboxMessage))
        assert row.status == OutboxStatus.PENDING and row.attempts == 1 and row.last_error
        assert db.session.scalar(select(Subscriber.status)) == SubscriberStatus.PENDING
        server = SMTPServer(port).start()
        try:
            run_worker_once(app)  # backoff not yet over: nothing is retried early
            assert server.received == []
            with time_machine.travel(utcnow() + timedelta(minutes=5)):
                run_worker_once(app)
            [received] = server.wait_for(1)
        finally:
            server.stop()
        assert received.rcpt_tos == ["dead.smtp@example.org"]
        db.session.expire_all()
        assert db.session.scalar(select(OutboxMessage.status)) == OutboxStatus.SENT


def test_outbox_folder_backend_writes_parseable_eml_files(app, client, tmp_path, run_worker_once):
    sign_up(client, "folder@example.org")
    run_worker_once(app)
    files = list((tmp_path / "outbox").glob("*.eml"))
    assert len(files) == 1
    message = BytesParser(policy=email.policy.default).parsebytes(files[0].read_bytes())
    assert message["To"] == "folder@example.org"
    assert message["From"].addresses[0].display_name == "Research bulletin"
    raw = files[0].read_bytes()
    assert b"\r\n" in raw and b"\r" not in raw.replace(b"\r\n", b"")
    assert max(len(line) for line in raw.split(b"\r\n")) <= 78


def test_permanent_rejection_fails_the_mail_without_retrying(
    make_app, smtp_server, run_worker_once
):
    from bulletin.core.defaults import ensure_defaults

    app = make_app(SMTP_URL=smtp_server.url)
    smtp_server.handler.replies["gone@example.org"] = ["550 5.1.1 No such user"]
    with app.app_context():
        _empty_tables()
        ensure_defaults()
        sign_up(app.test_client(), "gone@example.org")
        run_worker_once(app)
        row = db.session.scalar(select(OutboxMessage))
        assert row.status == OutboxStatus.FAILED and "5.1.1" in row.last_error
        # The one hard-bounce policy: the pending reader is cleaned, with a record of why.
        db.session.expire_all()
        assert db.session.scalar(select(Subscriber.status)) == SubscriberStatus.CLEANED
        event = db.session.scalar(select(BounceEvent))
        assert (event.kind, event.action, event.status, event.source) == (
            "hard",
            "cleaned",
            "5.1.1",
            "smtp-reply",
        )


def test_welcome_mail_is_not_sent_to_an_address_suppressed_before_delivery(
    app, make_subscriber, run_worker_once
):
    from bulletin.core.suppressions import suppress
    from bulletin.mail import outbox

    subscriber = make_subscriber("suppressed@example.org")
    outbox.enqueue(subscriber, "welcome")
    suppress(subscriber.email, "complaint", source="test")
    db.session.commit()
    run_worker_once(app)
    assert db.session.scalar(select(OutboxMessage.status)) == OutboxStatus.SKIPPED
