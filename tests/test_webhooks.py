"""Outgoing webhooks against a real receiver: signed, retried with backoff, delivered once.

The receiver (tests/support/webhook_receiver.py) checks signatures with its own Standard
Webhooks verifier. The worker runs as `bulletin worker --once` does (run_worker_once);
time moves by setting a row's next_attempt_at (or created_at) into the past.
"""

from __future__ import annotations

import json
import threading
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from bulletin.core import webhooks
from bulletin.core.subscribers import confirm, unsubscribe
from bulletin.core.suppressions import Report, complaint, hard_bounce
from bulletin.extensions import db
from bulletin.mail.settings import DeliverySettings
from bulletin.models import (
    Editor,
    OutboxMessage,
    SubscriberStatus,
    WebhookDelivery,
    WebhookDeliveryStatus,
    WebhookEndpoint,
    utcnow,
)
from tests.support.webhook_receiver import Receiver, verify


@pytest.fixture
def receiver():
    made = Receiver()
    yield made
    made.stop()


def endpoint_for(url: str, events=None) -> WebhookEndpoint:
    endpoint = webhooks.create_endpoint(url, events or list(webhooks.EVENT_TYPES), "test")
    db.session.commit()
    return endpoint


def rows() -> list[WebhookDelivery]:
    db.session.expire_all()
    return list(db.session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)))


def move_clock(**changes) -> None:
    """Make every pending delivery due now (as if its backoff had passed)."""
    values = {"next_attempt_at": utcnow() - timedelta(seconds=1), **changes}
    db.session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.status == WebhookDeliveryStatus.PENDING)
        .values(**values)
    )
    db.session.commit()


def between(value, low, high) -> bool:
    return low <= value <= high


@pytest.mark.slow
def test_an_event_is_delivered_once_after_the_receiver_comes_back(
    app, make_subscriber, receiver, run_worker_once
):
    endpoint = endpoint_for(receiver.url)
    reader = make_subscriber(
        "ada@example.com", status=SubscriberStatus.PENDING, language="cy", topics=["workshops"]
    )
    confirm(reader, ip="192.0.2.1")
    db.session.commit()
    [row] = rows()  # written with the confirmation, before any worker ran
    assert row.event_type == "subscriber.confirmed" and row.status == "pending"

    # Down: the connection is refused. Retried after 30 s less up to a quarter.
    before = utcnow()
    run_worker_once(app)
    [row] = rows()
    assert (row.status, row.attempts, row.last_status_code) == ("pending", 1, None)
    assert "no answer" in row.last_response
    assert between(row.next_attempt_at - before, timedelta(seconds=22), timedelta(seconds=31))
    run_worker_once(app)  # not due yet: nothing happens
    assert rows()[0].attempts == 1

    # Up, but failing: 500, with a long body of which 1 KB is kept. The wait doubles.
    receiver.status = 500
    receiver.start()
    move_clock()
    before = utcnow()
    run_worker_once(app)
    [row] = rows()
    assert (row.status, row.attempts, row.last_status_code) == ("pending", 2, 500)
    assert len(row.last_response) == webhooks.RESPONSE_BYTES
    assert between(row.next_attempt_at - before, timedelta(seconds=44), timedelta(seconds=61))

    # Back: delivered, and never again.
    receiver.status = 204
    move_clock()
    run_worker_once(app)
    move_clock()
    run_worker_once(app)
    [row] = rows()
    assert (row.status, row.attempts, row.last_status_code) == ("delivered", 3, 204)
    assert [r.answered for r in receiver.requests] == [500, 204]
    assert {r.headers["webhook-id"] for r in receiver.requests} == {row.msg_id}
    for request in receiver.requests:
        assert verify(endpoint.secret, request.headers, request.body)
        assert request.headers["content-type"] == "application/json"
    body = json.loads(receiver.requests[-1].body)
    assert body["type"] == "subscriber.confirmed"
    assert body["data"] == {
        "id": reader.id,
        "email": "ada@example.com",
        "language": "cy",
        "region": "south-east-wales",
        "topics": ["workshops"],
    }
    assert body["timestamp"].endswith("Z")


def test_a_forged_or_tampered_body_fails_the_receivers_check(app, receiver, run_worker_once):
    endpoint = endpoint_for(receiver.url)
    webhooks.emit("send.started", {"id": 1})
    db.session.commit()
    receiver.start()
    run_worker_once(app)
    [request] = receiver.requests
    assert verify(endpoint.secret, request.headers, request.body)
    assert not verify(endpoint.secret, request.headers, request.body + b" ")
    assert not verify(webhooks.new_secret(), request.headers, request.body)


def test_a_redirect_is_not_followed(app, receiver, run_worker_once):
    endpoint_for(receiver.url)
    webhooks.emit("send.finished", {"id": 1})
    db.session.commit()
    receiver.status = 302
    receiver.start()
    run_worker_once(app)
    [row] = rows()
    assert (row.status, row.last_status_code) == ("pending", 302)
    assert [r.path for r in receiver.requests] == ["/hook"]


def test_the_outbox_row_commits_with_the_event_or_not_at_all(app, make_subscriber):
    endpoint_for("http://127.0.0.1:9/hook", ["subscriber.unsubscribed"])
    reader = make_subscriber()
    unsubscribe(reader, source="test")
    db.session.rollback()
    assert rows() == []
    reader = db.session.get(type(reader), reader.id)
    unsubscribe(reader, source="test")
    db.session.commit()
    [row] = rows()
    assert json.loads(row.payload)["data"] == {"id": reader.id, "email": reader.email}


def test_each_event_reaches_only_the_endpoints_that_asked(app, make_subscriber):
    wants_all = endpoint_for("http://127.0.0.1:9/all")
    wants_cleaned = endpoint_for("http://127.0.0.1:9/cleaned", ["subscriber.cleaned"])
    switched_off = endpoint_for("http://127.0.0.1:9/off")
    webhooks.disable(switched_off, webhooks.DISABLED_BY_ADMIN)
    bounced, complained = make_subscriber(), make_subscriber()
    hard_bounce(Report(subscriber=bounced, address=bounced.email, source="test", status="5.1.1"))
    complaint(Report(complained, complained.email, "test", feedback_type="abuse"))
    db.session.commit()
    sent = [(r.endpoint_id, r.event_type, json.loads(r.payload)["data"]) for r in rows()]
    assert sent == [
        (wants_all.id, "subscriber.cleaned", {"id": bounced.id, "email": bounced.email}),
        (wants_cleaned.id, "subscriber.cleaned", {"id": bounced.id, "email": bounced.email}),
        (wants_all.id, "subscriber.unsubscribed", {"id": complained.id, "email": complained.email}),
        (
            wants_all.id,
            "complaint.received",
            {
                "subscriber": {"id": complained.id, "email": complained.email},
                "feedback_type": "abuse",
                "source": "test",
            },
        ),
    ]


def test_a_send_reports_its_start_and_finish(
    app, make_subscriber, make_fixed_issue, run_worker_once
):
    from bulletin.core.sends import audience_json, schedule_send

    endpoint_for("http://127.0.0.1:9/hook", ["send.started", "send.finished"])
    make_subscriber()
    issue = make_fixed_issue()
    send = schedule_send(issue, audience_json([], [], []), None, None)
    db.session.commit()
    run_worker_once(app, times=2)
    events = {r.event_type: json.loads(r.payload)["data"] for r in rows()}
    assert events["send.started"] == {
        "id": send.id,
        "issue_id": issue.id,
        "issue_slug": issue.slug,
        "recipients": 1,
    }
    assert events["send.finished"]["sent"] == 1
    assert events["send.finished"]["failed"] == 0


def test_backoff_doubles_with_jitter_up_to_six_hours():
    assert webhooks.backoff_seconds(1, rand=0.0) == 30
    assert webhooks.backoff_seconds(2, rand=0.0) == 60
    assert webhooks.backoff_seconds(3, rand=1.0) == 120 * 0.75
    assert webhooks.backoff_seconds(40, rand=0.0) == 6 * 3600
    # Within three days that is about 20 attempts, the worst case (no jitter) counted here.
    waited, attempts = 0.0, 0
    while waited < webhooks.RETRY_HOURS * 3600:
        attempts += 1
        waited += webhooks.backoff_seconds(attempts, rand=0.0)
    assert 15 <= attempts <= 25


@pytest.mark.slow
def test_three_days_of_failures_switch_the_endpoint_off_and_tell_the_admins(
    app, make_editor, editor_client, receiver, smtp_server, run_worker_once
):
    make_editor("other-admin@example.org", role="admin")
    make_editor("plain@example.org", role="editor")
    endpoint = endpoint_for(receiver.url)
    webhooks.emit("send.started", {"id": 1})
    webhooks.emit("send.finished", {"id": 1})
    db.session.commit()
    receiver.status = 503
    receiver.start()
    settings = replace(DeliverySettings.from_app(app), smtp_url=smtp_server.url)
    # Not yet three days: retried.
    move_clock(created_at=utcnow() - timedelta(hours=71))
    run_worker_once(app, settings)
    assert [r.status for r in rows()] == ["pending", "pending"]
    assert db.session.get(WebhookEndpoint, endpoint.id).active
    # Three days: the endpoint is off, every waiting row has failed, the admins are told.
    move_clock(created_at=utcnow() - timedelta(hours=72, minutes=1))
    run_worker_once(app, settings, times=2)  # the second pass sends the mail
    assert [r.status for r in rows()] == ["failed", "failed"]
    endpoint = db.session.get(WebhookEndpoint, endpoint.id)
    assert (endpoint.active, endpoint.disabled_reason) == (False, "failing")
    kinds = db.session.scalars(select(OutboxMessage.kind)).all()
    assert kinds == ["webhook-disabled", "webhook-disabled"]
    mails = smtp_server.wait_for(2)
    admins = set(db.session.scalars(select(Editor.email).where(Editor.role == "admin")))
    assert {m.rcpt_tos[0] for m in mails} == admins
    message = mails[0].message
    assert "switched off" in message["Subject"] and " / " in message["Subject"]
    text = message.get_body(("plain",)).get_content()
    assert receiver.url in text and f"/editor/webhooks/{endpoint.id}" in text
    # No more events are queued for it, and the admin page flags it.
    webhooks.emit("send.started", {"id": 2})
    db.session.commit()
    assert len(rows()) == 2
    page = editor_client.get(f"/editor/webhooks/{endpoint.id}?lang=en").get_data(as_text=True)
    assert "Switched off after failing" in page
    listing = editor_client.get("/editor/webhooks?lang=cy").get_data(as_text=True)
    assert "tag-warn" in listing


def test_after_rotation_both_secrets_sign_for_a_day(app, receiver, run_worker_once):
    endpoint = endpoint_for(receiver.url)
    old = endpoint.secret
    new = webhooks.rotate_secret(endpoint)
    db.session.commit()
    assert new != old
    webhooks.emit("send.started", {"id": 1})
    db.session.commit()
    receiver.start()
    run_worker_once(app)
    [request] = receiver.requests
    signatures = request.headers["webhook-signature"].split(" ")
    assert len(signatures) == 2
    assert verify(old, request.headers, request.body) == [signatures[1]]
    assert verify(new, request.headers, request.body) == [signatures[0]]
    # After 24 h (or when an admin drops it) only the new one signs.
    later = utcnow() + timedelta(hours=24, seconds=1)
    assert webhooks.signing_secrets(endpoint, later) == [new]
    assert webhooks.drop_previous_secret(endpoint)
    webhooks.emit("send.finished", {"id": 1})
    db.session.commit()
    run_worker_once(app)
    last = receiver.requests[-1]
    assert " " not in last.headers["webhook-signature"]
    assert verify(new, last.headers, last.body) and not verify(old, last.headers, last.body)


@pytest.fixture
def production(app):
    app.config["ENV"] = "production"
    yield app
    app.config["ENV"] = "testing"


@pytest.mark.parametrize(
    "url",
    [
        "http://hooks.example.org/hook",
        "ftp://hooks.example.org/hook",
        "https://user:pw@93.184.215.14/hook",
        "https://127.0.0.1/hook",
        "https://localhost:8443/hook",
        "https://10.1.2.3/hook",
        "https://192.168.0.10/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/hook",
        "https://[fd00::1]/hook",
        "https://[::ffff:10.0.0.1]/hook",
        "https://0.0.0.0/hook",
        "https://100.64.0.1/hook",
        "https://[fe80::1]/hook",
        "https://no-such-host.invalid/hook",
        "not a url",
    ],
)
def test_production_refuses_http_and_private_addresses(production, url):
    with pytest.raises(webhooks.UnsafeURL):
        webhooks.check_url(url)


def test_production_refuses_the_service_itself_and_takes_a_public_address(production):
    production.config["BASE_URL"] = "https://bulletin.example.org"
    with pytest.raises(webhooks.UnsafeURL, match="this service"):
        webhooks.check_url("https://bulletin.example.org/api/v1/x")
    assert webhooks.check_url("https://93.184.215.14/hook") == "https://93.184.215.14/hook"


def test_the_worker_checks_the_address_again_at_each_attempt(
    app, receiver, run_worker_once, production
):
    endpoint = WebhookEndpoint(
        url=receiver.url, event_types="send.started", secret=webhooks.new_secret()
    )
    db.session.add(endpoint)
    db.session.commit()
    webhooks.emit("send.started", {"id": 1})
    db.session.commit()
    receiver.start()
    run_worker_once(app)
    [row] = rows()
    assert row.status == "pending" and row.last_response.startswith("refused:")
    assert receiver.requests == []


def test_a_leased_row_is_not_claimed_by_another_worker_until_the_lease_runs_out(app):
    endpoint_for("http://127.0.0.1:9/hook")
    webhooks.emit("send.started", {"id": 1})
    db.session.commit()
    first = webhooks.claim("worker-a", lease_seconds=60)
    assert len(first) == 1
    assert webhooks.claim("worker-b", lease_seconds=60) == []
    later = utcnow() + timedelta(seconds=61)
    assert webhooks.claim("worker-b", lease_seconds=60, now=later) == first
    # worker-a's late hand-back does not free worker-b's lease.
    webhooks.release(first, "worker-a")
    db.session.commit()
    assert rows()[0].claimed_by == "worker-b"


def test_erasure_deletes_every_delivery_naming_the_reader(app, make_subscriber):
    from bulletin.core.subscribers import erase

    endpoint_for("http://127.0.0.1:9/hook")
    reader, other = make_subscriber(), make_subscriber()
    unsubscribe(reader, source="test")
    unsubscribe(other, source="test")
    webhooks.emit("send.started", {"id": 1})
    db.session.commit()
    erase(reader, source="test")
    db.session.commit()
    left = rows()
    assert [r.subscriber_id for r in left] == [other.id, None]
    assert all(reader.email not in r.payload for r in left)


def test_finished_deliveries_leave_the_log_after_thirty_days(app):
    from bulletin.privacy.retention import Policy, purge

    endpoint_for("http://127.0.0.1:9/hook")
    for _ in range(3):
        webhooks.emit("send.started", {"id": 1})
    db.session.commit()
    old = utcnow() - timedelta(days=webhooks.LOG_DAYS, minutes=1)
    first, second, third = rows()
    first.status, first.created_at = "delivered", old
    second.status, second.created_at = "failed", old
    third.created_at = old  # still pending (its endpoint is retried): kept
    db.session.commit()
    assert purge(Policy(30, 365), dry_run=True).webhook_deliveries == 2
    db.session.rollback()
    assert purge(Policy(30, 365)).webhook_deliveries == 2
    db.session.commit()
    assert [r.id for r in rows()] == [third.id]


def test_a_receiver_slower_than_the_timeout_is_retried(app, receiver):
    from bulletin.delivery.webhooks import deliver_webhooks

    endpoint_for(receiver.url)
    webhooks.emit("send.started", {"id": 1})
    db.session.commit()
    receiver.hold = threading.Event()
    receiver.start()
    try:
        assert deliver_webhooks("w", timeout=0.3) == 0
    finally:
        receiver.hold.set()  # let the handler thread finish
    [row] = rows()
    assert (row.status, row.attempts, row.last_status_code) == ("pending", 1, None)
    assert "timed out" in row.last_response
