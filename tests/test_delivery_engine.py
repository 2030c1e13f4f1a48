"""The send engine's guarantees: a database that refuses writes loses and repeats nothing,
a worker that stalls past its lease cannot overwrite the next claim, and a 5.1.1 refusal
applies the same hard-bounce policy as an ingested DSN. Real aiosmtpd, real database."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import pytest
from sqlalchemy import event, func, select, update
from sqlalchemy.exc import OperationalError

from bulletin.bounces.ingest import ingest_raw
from bulletin.core.suppressions import is_suppressed
from bulletin.delivery.engine import SendEngine, dispatcher, recorder
from bulletin.delivery.pipeline import (
    Lease,
    Outcome,
    claim_batch,
    record_results,
    release,
    start_due_sends,
)
from bulletin.extensions import db
from bulletin.mail.pseudonyms import hash_address
from bulletin.models import BounceEvent, Delivery, Subscriber, SubscriberStatus, Suppression, utcnow
from tests.support.bouncemail import BOUNCE_DOMAIN, dsn, sent_verp
from tests.support.delivery_helpers import configure, make_send, seed_subscribers, status_counts
from tests.support.smtp import Handler, SMTPServer


class RefuseDeliveryWrites:
    """A database that refuses UPDATEs of delivery rows (claims aside) while `refusing`."""

    def __init__(self, engine: SendEngine, times: int | None = None):
        self.engine, self.times = engine, times
        self.refused = 0
        self.refusing = threading.Event()
        self.refusing.set()
        self.first_refusal = threading.Event()
        self.claims_while_failing = 0
        self.claims = 0

    def __call__(self, conn, cursor, statement, params, context, executemany):
        sql = " ".join(statement.split()).upper()
        if not sql.startswith("UPDATE DELIVERY"):
            return
        if "RETURNING" in sql:  # claim_batch: let it through, but count it
            self.claims += 1
            if not self.engine.recorder.healthy.is_set():
                self.claims_while_failing += 1
            return
        if not self.refusing.is_set():
            return
        self.refused += 1
        if self.times is not None and self.refused >= self.times:
            self.refusing.clear()
        self.first_refusal.set()
        raise OperationalError(statement, params, Exception("the database refuses writes"))

    def __enter__(self):
        event.listen(db.engine, "before_cursor_execute", self)
        return self

    def __exit__(self, *exc):
        event.remove(db.engine, "before_cursor_execute", self)


@pytest.mark.slow
def test_a_database_refusing_writes_pauses_claiming_and_loses_nothing(
    app, smtp_server, monkeypatch, caplog
):
    monkeypatch.setattr(recorder, "RETRY_FIRST_SECONDS", 0.05)
    settings = configure(app, smtp_server, SEND_BATCH_SIZE=10, SMTP_CONNECTIONS=2)
    seed_subscribers(200)
    send = make_send()
    start_due_sends(settings)
    engine = SendEngine(app, settings, "flaky-db")
    with RefuseDeliveryWrites(engine, times=5) as database:
        at_first_failure = {}
        original_failed = recorder.Recorder._failed

        def failed(self, waiting):
            if not at_first_failure:  # (in the recorder thread)
                at_first_failure["queued"] = db.session.scalar(
                    select(func.count()).where(Delivery.status == "queued")
                )
                db.session.remove()
            original_failed(self, waiting)

        monkeypatch.setattr(recorder.Recorder, "_failed", failed)
        with caplog.at_level(logging.ERROR, logger=recorder.__name__):
            engine.drain(timeout=120)
    assert database.refused == 5 and engine.counters.failed_writes == 5
    # Claiming paused while recording failed (work was left to claim), and resumed after.
    assert at_first_failure["queued"] > 0
    assert database.claims_while_failing == 0
    assert any("claiming is paused" in r.getMessage() for r in caplog.records)
    # Every outcome was recorded once writes worked again; nobody got a message twice.
    assert status_counts(send.id) == {"sent": 200}
    assert set(db.session.scalars(select(Delivery.attempts))) == {1}
    got = Counter(r for m in smtp_server.received for r in m.rcpt_tos)
    assert len(got) == 200 and set(got.values()) == {1}


def test_stopping_while_writes_fail_logs_the_unrecorded_ids_and_keeps_the_rows(
    app, smtp_server, monkeypatch, caplog
):
    monkeypatch.setattr(recorder, "RETRY_FIRST_SECONDS", 0.05)
    monkeypatch.setattr(recorder, "STOP_GRACE_SECONDS", 0.3)
    settings = configure(app, smtp_server, SEND_BATCH_SIZE=10)
    seed_subscribers(10)
    send = make_send()
    start_due_sends(settings)
    engine = SendEngine(app, settings, "flaky-db")
    with RefuseDeliveryWrites(engine) as database, caplog.at_level(logging.ERROR):
        engine.start()
        assert database.first_refusal.wait(30)
        engine.stop()
    messages = [r.getMessage() for r in caplog.records if "NOT recorded" in r.getMessage()]
    assert len(messages) == 1 and "@" not in messages[0]
    sent_ids = sorted(db.session.scalars(select(Delivery.id)))
    assert all(str(i) in messages[0] for i in sent_ids)
    # Not dropped as if written: the rows stay claimed until their lease runs out.
    assert status_counts(send.id) == {"sending": 10}
    assert len(smtp_server.received) == 10


@dataclass
class HangingHandler(Handler):
    """Accepts the message, then answers DATA only once `answer` is set."""

    data_started: threading.Event = field(default_factory=threading.Event)
    answer: threading.Event = field(default_factory=threading.Event)
    reply: str = "550 5.1.1 No such user"
    data_count: int = 0

    async def handle_DATA(self, server, session, envelope):
        self.data_count += 1
        self.data_started.set()
        while not self.answer.is_set():
            await asyncio.sleep(0.02)
        return self.reply


@pytest.fixture
def hanging_server():
    server = SMTPServer()
    server.handler = HangingHandler()
    server.start()
    yield server
    server.handler.answer.set()
    server.stop()


def delivery_row(delivery_id: int) -> tuple:
    db.session.expire_all()
    row = db.session.get(Delivery, delivery_id)
    snapshot = (
        row.status,
        row.attempts,
        row.sent_at,
        row.last_reply,
        row.claimed_by,
        row.claimed_until,
    )
    db.session.commit()
    return snapshot


@pytest.mark.slow
def test_a_worker_that_stalled_past_its_lease_cannot_overwrite_the_next_claim(
    app, smtp_server, hanging_server, make_subscriber, caplog
):
    reader = make_subscriber("slow@example.com")
    stalled = configure(
        app, hanging_server, SEND_LEASE_SECONDS=2, SMTP_CONNECTIONS=1, SMTP_TIMEOUT=60
    )
    make_send()
    start_due_sends(stalled)
    worker_a = SendEngine(app, stalled, "worker-a").start()
    try:
        assert hanging_server.handler.data_started.wait(30)
        worker_a.stop_claiming()
        delivery_id = db.session.scalar(select(Delivery.id))
        lease_end = db.session.scalar(select(Delivery.claimed_until))
        db.session.commit()
        time.sleep(max(0.0, (lease_end - utcnow()).total_seconds()) + 0.05)  # the lease runs out
        SendEngine(app, configure(app, smtp_server), "worker-b").drain(timeout=60)
        after_b = delivery_row(delivery_id)
        assert after_b[:2] == ("sent", 1) and after_b[4] is None
        hanging_server.handler.answer.set()  # A's server answers at last: 550 5.1.1
    finally:
        worker_a.stop()
    assert worker_a.recorder.unflushed() == 0  # A's outcome was handled, not left behind
    assert delivery_row(delivery_id) == after_b
    assert db.session.get(Subscriber, reader.id).status == SubscriberStatus.CONFIRMED
    assert not is_suppressed(reader.email)
    assert db.session.scalar(select(BounceEvent.id)) is None
    assert any("lease passed to another worker" in r.getMessage() for r in caplog.records)
    assert hanging_server.handler.data_count == 1
    assert [m.rcpt_tos for m in smtp_server.received] == [[reader.email]]


def test_a_hand_back_or_result_after_the_lease_passed_on_changes_nothing(app, make_subscriber):
    settings = configure(app)
    reader = make_subscriber()
    make_send()
    start_due_sends(settings)
    expired = configure(app, SEND_LEASE_SECONDS=0)  # claimed_until = now: over at once
    [first] = claim_batch("worker-a", expired, 10)
    [second] = claim_batch("worker-b", settings, 10)
    assert first.delivery_id == second.delivery_id
    assert release([first.delivery_id], Lease("worker-a", first.claimed_until)) == 0
    stale = record_results(
        [
            Outcome(
                first.delivery_id,
                reader.email,
                ok=False,
                code=550,
                reply="5.1.1 No such user",
                enhanced_status="5.1.1",
                claimed_until=first.claimed_until,
            )
        ],
        settings,
        "worker-a",
    )
    assert stale == 0
    db.session.expire_all()
    row = db.session.get(Delivery, first.delivery_id)
    assert (row.status, row.claimed_by, row.attempts) == ("sending", "worker-b", 0)
    assert db.session.get(Subscriber, reader.id).status == SubscriberStatus.CONFIRMED
    # The worker that holds the claim still writes, and only once.
    assert release([second.delivery_id], Lease("worker-b", second.claimed_until)) == 1
    assert release([second.delivery_id], Lease("worker-b", second.claimed_until)) == 0


def test_a_511_refusal_in_a_bulk_send_is_the_same_hard_bounce_as_an_ingested_dsn(
    app, smtp_server, make_subscriber, monkeypatch
):
    settings = configure(app, smtp_server, BOUNCE_DOMAIN=BOUNCE_DOMAIN)
    refused = make_subscriber("refused@example.com")
    smtp_server.handler.replies[refused.email] = ["550 5.1.1 <refused@example.com> No such user"]
    real_claim = dispatcher.claim_batch

    def claim_then_pending(*args):
        # The reader is pending again by the time the refusal comes back (the claim saw
        # them confirmed): the policy cleans pending readers as well as confirmed ones.
        claimed = real_claim(*args)
        if claimed:
            db.session.execute(
                update(Subscriber)
                .where(Subscriber.id == refused.id)
                .values(status=SubscriberStatus.PENDING)
            )
            db.session.commit()
        return claimed

    monkeypatch.setattr(dispatcher, "claim_batch", claim_then_pending)
    make_send()
    start_due_sends(settings)
    SendEngine(app, settings, "worker").drain(timeout=60)

    bounced = make_subscriber("bounced@example.com", status=SubscriberStatus.PENDING)
    ingest_raw(dsn(bounced.email, envelope_to=sent_verp(bounced)), source="mbox")
    db.session.commit()

    db.session.expire_all()
    events = {e.subscriber_id: e for e in db.session.scalars(select(BounceEvent))}
    by_send, by_dsn = events[refused.id], events[bounced.id]
    assert (by_send.kind, by_send.action, by_send.status, by_send.source) == (
        "hard",
        "cleaned",
        "5.1.1",
        "smtp-reply",
    )
    assert (by_dsn.kind, by_dsn.action, by_dsn.status) == ("hard", "cleaned", "5.1.1")
    assert by_send.delivery_id == db.session.scalar(
        select(Delivery.id).filter_by(subscriber_id=refused.id)
    )
    assert by_send.recipient_hash == hash_address(refused.email)
    assert "@" not in by_send.diagnostic and "5.1.1" in by_send.diagnostic
    for reader in (refused, bounced):
        assert db.session.get(Subscriber, reader.id).status == SubscriberStatus.CLEANED
    reasons = {s.address_hash: s.reason for s in db.session.scalars(select(Suppression))}
    assert reasons == {
        hash_address(refused.email): "bounced",
        hash_address(bounced.email): "bounced",
    }
    assert smtp_server.received == []
