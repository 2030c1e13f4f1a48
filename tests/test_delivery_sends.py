"""The send pipeline against a real database and a real aiosmtpd."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta

from sqlalchemy import delete, func, select

from bulletin.core import subscribers as operations
from bulletin.core.sends import audience_json, count_audience
from bulletin.core.suppressions import is_suppressed, suppress
from bulletin.delivery.pipeline import finish_sends, materialise, start_due_sends
from bulletin.extensions import db
from bulletin.models import Delivery, Issue, Send, SendStatus, Subscriber, SubscriberStatus, utcnow
from tests.support.delivery_helpers import (
    configure,
    drain,
    make_issue_row,
    make_send,
    seed_subscribers,
    status_counts,
)


def test_materialise_picks_the_audience_once(app, make_subscriber):
    settings = configure(app)
    wanted = make_subscriber(language="cy", region="north-wales", topics=["workshops"])
    make_subscriber(language="cy", region="north-wales", topics=["news"])  # wrong topic
    make_subscriber(language="en", region="mid-wales", topics=["workshops"])  # wrong region
    make_subscriber(status=SubscriberStatus.PENDING, region="north-wales")
    audience = audience_json(["workshops"], ["north-wales"], [])
    assert count_audience({"topics": ["workshops"], "regions": ["north-wales"]}) == 1
    send = make_send(audience=audience)
    assert start_due_sends(settings) == [send.id]
    db.session.expire_all()
    assert db.session.get(Send, send.id).status == SendStatus.SENDING
    rows = db.session.scalars(select(Delivery).filter_by(send_id=send.id)).all()
    assert [(d.subscriber_id, d.language) for d in rows] == [(wanted.id, "cy")]
    assert materialise(db.session.get(Send, send.id)) == 1  # re-running adds nothing
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(Delivery)) == 1


def test_missing_language_falls_back_to_the_other(app, make_subscriber):
    configure(app)
    reader = make_subscriber(language="cy")
    send = make_send(make_issue_row(subject_cy=None))
    materialise(send)
    db.session.commit()
    assert db.session.scalar(select(Delivery.language).filter_by(subscriber_id=reader.id)) == "en"


def test_old_sends_are_missed_and_future_ones_wait(app):
    settings = configure(app, SEND_GRACE_HOURS=2)
    old = make_send(minutes_ago=3 * 60)
    future = make_send(minutes_ago=-30)
    assert start_due_sends(settings) == [old.id]
    db.session.expire_all()
    assert db.session.get(Send, old.id).status == SendStatus.MISSED
    assert db.session.get(Send, future.id).status == SendStatus.SCHEDULED


def test_send_reaches_everyone_once_and_publishes_the_issue(app, smtp_server):
    settings = configure(app, smtp_server)
    seed_subscribers(120)
    seed_subscribers(30, language="cy")
    send = make_send()
    start_due_sends(settings)
    engine = drain(app, settings)
    assert status_counts(send.id) == {"sent": 150}
    got = Counter(r for m in smtp_server.received for r in m.rcpt_tos)
    assert len(got) == 150 and set(got.values()) == {1}
    assert finish_sends() == [send.id]
    send = db.session.get(Send, send.id)
    assert send.status == SendStatus.DONE and send.sent_count == 150
    assert db.session.get(Issue, send.issue_id).published_at is not None
    welsh = [m for m in smtp_server.received if m.message["Content-Language"] == "cy"]
    assert len(welsh) == 30
    print(f"max sent-but-unrecorded: {engine.counters.max_unrecorded}")


def test_4xx_retries_5xx_fails_and_511_suppresses(app, smtp_server, make_subscriber):
    settings = configure(app, smtp_server, SEND_MAX_ATTEMPTS=3)
    retried = make_subscriber("retry@example.com")
    failed = make_subscriber("policy@example.com")
    gone = make_subscriber("gone@example.com")
    hopeless = make_subscriber("hopeless@example.com")
    replies = smtp_server.handler.replies
    replies["retry@example.com"] = ["451 4.3.0 Try later"]
    replies["policy@example.com"] = ["550 5.7.1 Rejected by policy"]
    replies["gone@example.com"] = ["550 5.1.1 No such user"]
    replies["hopeless@example.com"] = ["421 4.7.0 Busy"] * 5
    send = make_send()
    start_due_sends(settings)
    drain(app, settings)
    db.session.expire_all()
    by_sub = {d.subscriber_id: d for d in db.session.scalars(select(Delivery))}
    assert (by_sub[retried.id].status, by_sub[retried.id].attempts) == ("sent", 2)
    assert by_sub[failed.id].status == "failed" and "5.7.1" in by_sub[failed.id].last_reply
    assert by_sub[gone.id].status == "failed"
    assert (by_sub[hopeless.id].status, by_sub[hopeless.id].attempts) == ("failed", 3)
    assert db.session.get(Subscriber, gone.id).status == SubscriberStatus.CLEANED
    assert is_suppressed("gone@example.com")
    assert db.session.get(Subscriber, failed.id).status == SubscriberStatus.CONFIRMED
    assert not is_suppressed("policy@example.com")
    assert [m.rcpt_tos for m in smtp_server.received] == [["retry@example.com"]]
    assert finish_sends() == [send.id]


def test_leavers_after_the_start_are_skipped(app, smtp_server, make_subscriber):
    settings = configure(app, smtp_server)
    leaver, suppressed, stays = make_subscriber(), make_subscriber(), make_subscriber()
    send = make_send()
    start_due_sends(settings)
    operations.unsubscribe(leaver, source="test")
    suppress(suppressed.email.upper(), "complaint", source="test")  # another path, by hash
    db.session.commit()
    drain(app, settings)
    assert status_counts(send.id) == {"sent": 1, "skipped": 2}
    assert [m.rcpt_tos for m in smtp_server.received] == [[stays.email]]


def test_delivery_of_a_subscriber_erased_as_the_send_started_is_skipped(
    app, smtp_server, make_subscriber
):
    # Deliveries have no foreign key: an erasure racing materialise() can leave a delivery
    # whose subscriber is gone. It must be skipped, not leased forever (the send would hang).
    settings = configure(app, smtp_server)
    gone, stays = make_subscriber(), make_subscriber()
    send = make_send()
    start_due_sends(settings)
    db.session.execute(delete(Subscriber).where(Subscriber.id == gone.id))
    db.session.commit()
    drain(app, settings)
    assert status_counts(send.id) == {"sent": 1, "skipped": 1}
    assert [m.rcpt_tos for m in smtp_server.received] == [[stays.email]]
    assert finish_sends() == [send.id]


def test_smtp_down_mid_send_pauses_and_resumes(app, smtp_server):
    settings = configure(app, smtp_server, SMTP_DOWN_PAUSE_SECONDS=0.3)
    seed_subscribers(300)
    send = make_send()
    start_due_sends(settings)
    restarted = threading.Event()

    def outage():
        smtp_server.wait_for(60)
        smtp_server.stop()
        # Down until the senders have noticed (a condition: their failed connects).
        engine_seen.wait(30)
        smtp_server.start()
        restarted.set()

    engine_seen = threading.Event()
    from bulletin.delivery.engine.pool import SenderPool

    original = SenderPool.server_down

    def noting(self, reply):
        original(self, reply)
        engine_seen.set()

    SenderPool.server_down = noting
    try:
        thread = threading.Thread(target=outage)
        thread.start()
        drain(app, settings)
        thread.join(30)
    finally:
        SenderPool.server_down = original
    assert restarted.is_set()
    assert status_counts(send.id) == {"sent": 300}
    got = Counter(r for m in smtp_server.received for r in m.rcpt_tos)
    assert len(got) == 300 and set(got.values()) == {1}


def test_send_scheduled_while_no_worker_ran_goes_once_at_start(app, smtp_server, run_worker_once):
    configure(app, smtp_server, SEND_GRACE_HOURS=12)
    seed_subscribers(40)
    send = make_send(minutes_ago=90)  # its time came while no worker was running
    # Two passes: start-sends, run-senders (drains in the main thread), finish-sends.
    run_worker_once(app, configure(app, smtp_server), times=2)
    db.session.expire_all()
    assert db.session.get(Send, send.id).status == SendStatus.DONE
    got = Counter(r for m in smtp_server.received for r in m.rcpt_tos)
    assert len(got) == 40 and set(got.values()) == {1}


def test_paused_send_claims_nothing_until_resumed(app, smtp_server):
    settings = configure(app, smtp_server)
    seed_subscribers(20)
    send = make_send()
    start_due_sends(settings)
    db.session.get(Send, send.id).status = SendStatus.PAUSED
    db.session.commit()
    drain(app, settings)
    assert smtp_server.received == [] and status_counts(send.id) == {"queued": 20}
    db.session.get(Send, send.id).status = SendStatus.SENDING
    db.session.commit()
    drain(app, settings)
    assert status_counts(send.id) == {"sent": 20}
    assert utcnow() - timedelta(minutes=5) < db.session.get(Send, send.id).started_at
