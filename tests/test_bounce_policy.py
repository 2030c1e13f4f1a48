"""The bounce policy: who a report is about, and what it does to them."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import func, select

from bulletin.bounces.classify import Classification
from bulletin.bounces.ingest import apply_classification, ingest_raw
from bulletin.core.subject_access import export_subscriber
from bulletin.core.subscribers import erase
from bulletin.core.suppressions import is_suppressed
from bulletin.extensions import db
from bulletin.mail import tokens
from bulletin.models import (
    BounceEvent,
    ConsentEvent,
    Delivery,
    InboundMessage,
    Send,
    Subscriber,
    Suppression,
)
from tests.support.bouncemail import BOUNCE_DOMAIN, arf, dsn, plain_mail

START = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)


@pytest.fixture
def bounce_app(app):
    app.config.update(BOUNCE_DOMAIN=BOUNCE_DOMAIN, BOUNCE_SOFT_LIMIT=3, BOUNCE_SOFT_WINDOW_DAYS=30)
    return app


@pytest.fixture
def deliver(bounce_app, make_issue):
    """deliver(subscriber, sent_at=None) -> Delivery: a sent delivery of a new send."""

    def make(subscriber: Subscriber, sent_at: datetime | None = None) -> Delivery:
        send = Send(issue_id=make_issue().id, status="done")
        db.session.add(send)
        db.session.flush()
        delivery = Delivery(
            send_id=send.id,
            subscriber_id=subscriber.id,
            language="en",
            status="sent",
            sent_at=sent_at or datetime.now(UTC),
        )
        db.session.add(delivery)
        db.session.commit()
        return delivery

    return make


def verp(delivery: Delivery) -> str:
    return f"bounces+{tokens.make_bounce_token(f'd{delivery.id}')}@{BOUNCE_DOMAIN}"


def our_message_id(delivery: Delivery) -> str:
    """The Message-ID the bulk sender gave this delivery's message."""
    return tokens.message_id_maker(delivery.send_id, "example.org")(delivery.id)


def flip(text: str, at: int = -1) -> str:
    """The text with one hex digit changed."""
    at %= len(text)
    return text[:at] + ("0" if text[at] != "0" else "1") + text[at + 1 :]


def ingest(raw: bytes, source: str = "mbox", **kwargs) -> BounceEvent | None:
    event = ingest_raw(raw, source=source, **kwargs)
    db.session.commit()
    return event


def test_hard_bounce_cleans_and_suppresses_once(make_subscriber, deliver):
    reader = make_subscriber("gone@example.com")
    other = make_subscriber("stays@example.com")
    delivery = deliver(reader)
    raw = dsn("gone@example.com", envelope_to=verp(delivery))
    event = ingest(raw)
    assert (event.kind, event.action, event.delivery_id) == ("hard", "cleaned", delivery.id)
    assert event.subscriber_id == reader.id and event.status == "5.1.1"
    assert reader.status == "cleaned" and other.status == "confirmed"
    entry = db.session.scalar(select(Suppression))
    assert entry.reason == "bounced" and entry.source == "mbox"
    assert ingest(raw) is None  # the same message again changes nothing
    assert db.session.scalar(select(func.count(BounceEvent.id))) == 1
    assert db.session.scalar(select(func.count(InboundMessage.id))) == 1


def test_token_wins_over_the_address_in_the_report(make_subscriber, deliver):
    forwarder = make_subscriber("reader@example.com")
    make_subscriber("forwarded-to@example.net")
    event = ingest(dsn("forwarded-to@example.net", envelope_to=verp(deliver(forwarder))))
    assert event.subscriber_id == forwarder.id and forwarder.status == "cleaned"


FORGERIES = {
    # A DSN naming the victim, mailed to any local part of the bounce domain.
    "dsn to postmaster@": lambda victim, own: dsn(
        victim.email, envelope_to=f"postmaster@{BOUNCE_DOMAIN}"
    ),
    # An ARF quoting the Message-ID the old code made: sequential ids, the send's creation
    # time as the nonce, all three learnt from the attacker's own copy.
    "arf with a guessed old-form Message-ID": lambda victim, own: arf(
        victim.email,
        envelope_to=f"abuse@{BOUNCE_DOMAIN}",
        message_id=(
            f"<{own.send_id}.{own.id + 1}.{int(own.send.created_at.timestamp())}@example.org>"
        ),
    ),
    "arf with our Message-ID form and a made-up MAC": lambda victim, own: arf(
        victim.email,
        message_id=flip(our_message_id(own)[: -len("@example.org>")]) + "@example.org>",
    ),
    "dsn to a made-up VERP token": lambda victim, own: dsn(
        victim.email, envelope_to=f"bounces+d1-0123456789abcdef@{BOUNCE_DOMAIN}"
    ),
    "dsn to another reader's VERP token, one character flipped": lambda victim, own: dsn(
        victim.email, envelope_to=flip(verp(own).partition("@")[0]) + f"@{BOUNCE_DOMAIN}"
    ),
    "mail to a made-up mailto token": lambda victim, own: plain_mail(
        f"unsubscribe+{victim.uid}-0123456789abcdef@{BOUNCE_DOMAIN}", sender=victim.email
    ),
}


@pytest.mark.parametrize("forge", FORGERIES.values(), ids=FORGERIES.keys())
def test_a_report_without_proof_changes_nobody(make_subscriber, deliver, forge):
    victim, attacker = make_subscriber("victim@example.com"), make_subscriber("me@example.com")
    deliver(victim)
    own = deliver(attacker)
    db.session.refresh(own)
    event = ingest(forge(victim, own))
    assert event.action == "unproven" and event.subscriber_id is None
    assert event.delivery_id is None
    db.session.expire_all()
    assert (victim.status, attacker.status) == ("confirmed", "confirmed")
    assert db.session.scalar(select(func.count(Suppression.id))) == 0
    assert (
        db.session.scalar(
            select(func.count(ConsentEvent.id)).where(
                ConsentEvent.kind.in_(("unsubscribe", "complaint"))
            )
        )
        == 0
    )


def test_a_forged_delivered_report_does_not_reset_the_soft_count(make_subscriber, deliver):
    reader = make_subscriber("counted@example.com")
    for day in (0, 1):
        _soft(
            deliver(reader, START + timedelta(days=day, hours=-1)),
            reader.email,
            START + timedelta(days=day),
        )
    with time_machine.travel(START + timedelta(days=2), tick=False):
        event = ingest(dsn(reader.email, status="2.0.0", action="delivered"))
    assert event.action == "unproven"
    _soft(
        deliver(reader, START + timedelta(days=3, hours=-1)),
        reader.email,
        START + timedelta(days=3),
    )
    assert reader.status == "cleaned"


def test_our_message_id_names_the_delivery(bounce_app, make_subscriber, deliver):
    reader = make_subscriber("mid@example.com")
    delivery = deliver(reader)
    event = ingest(dsn("someone-else@example.net", message_id=our_message_id(delivery)))
    assert event.delivery_id == delivery.id and reader.status == "cleaned"


def test_a_proof_whose_delivery_is_gone_is_unmatched(bounce_app, make_subscriber, deliver):
    reader = make_subscriber("purged@example.com")
    delivery = deliver(reader)
    message_id = our_message_id(delivery)
    db.session.delete(delivery)
    db.session.commit()
    event = ingest(dsn(reader.email, message_id=message_id))
    assert event.action == "unmatched" and reader.status == "confirmed"


def test_another_lists_bounce_about_a_known_address_changes_nothing(make_subscriber):
    reader = make_subscriber("shared@example.com")
    report = Classification(
        "hard", status="5.1.1", recipient=reader.email, original_list_id="other.example.net"
    )
    event = apply_classification(report, source="ses", vouched=True)
    assert event.action == "unmatched" and reader.status == "confirmed"
    assert not is_suppressed("shared@example.com")


def test_a_provider_vouches_for_the_address_it_reports(make_subscriber):
    reader = make_subscriber("provider@example.com")
    report = Classification("hard", status="5.1.1", recipient=reader.email)
    assert apply_classification(report, source="mbox").action == "unproven"
    assert reader.status == "confirmed"
    event = apply_classification(report, source="ses", vouched=True)
    assert event.action == "cleaned" and reader.status == "cleaned"
    nobody = apply_classification(
        Classification("hard", recipient="nobody@example.com"), source="ses", vouched=True
    )
    assert nobody.action == "unmatched"
    assert db.session.scalar(select(func.count(Suppression.id))) == 1


def test_our_token_wins_over_the_address_a_provider_reports(make_subscriber, deliver):
    reader, other = make_subscriber("sent-to@example.com"), make_subscriber("named@example.com")
    delivery = deliver(reader)
    report = Classification(
        "hard", status="5.1.1", recipient=other.email, original_message_id=our_message_id(delivery)
    )
    event = apply_classification(report, source="ses", vouched=True)
    assert (event.subscriber_id, event.delivery_id) == (reader.id, delivery.id)
    assert (reader.status, other.status) == ("cleaned", "confirmed")


def test_diagnostic_is_kept_without_the_address(make_subscriber, deliver):
    reader = make_subscriber("private.person@example.com")
    event = ingest(
        dsn(
            reader.email,
            envelope_to=verp(deliver(reader)),
            diagnostic="<private.person@example.com>: mailbox unknown",
        )
    )
    assert "private.person" not in (event.diagnostic or "")
    assert "mailbox unknown" in event.diagnostic


def _soft(delivery: Delivery, email: str, when: datetime) -> BounceEvent:
    with time_machine.travel(when, tick=False):
        return ingest(dsn(email, status="4.2.2", action="delayed", envelope_to=verp(delivery)))


def test_soft_bounces_suppress_at_the_limit(make_subscriber, deliver):
    reader = make_subscriber("full@example.com")
    actions = []
    for day in (0, 5, 10):
        delivery = deliver(reader, START + timedelta(days=day) - timedelta(hours=1))
        actions.append(_soft(delivery, reader.email, START + timedelta(days=day)).action)
        assert (reader.status == "cleaned") == (day == 10)
    assert actions == ["counted", "counted", "cleaned"]
    assert db.session.scalar(select(Suppression.reason)) == "bounced"


def test_soft_bounces_outside_the_window_do_not_count(make_subscriber, deliver):
    reader = make_subscriber("slow@example.com")
    for day in (0, 20, 40):
        delivery = deliver(reader, START + timedelta(days=day) - timedelta(hours=1))
        _soft(delivery, reader.email, START + timedelta(days=day))
    assert reader.status == "confirmed" and not is_suppressed(reader.email)


def test_repeated_delay_notices_for_one_message_count_once(make_subscriber, deliver):
    reader = make_subscriber("delayed@example.com")
    delivery = deliver(reader, START - timedelta(hours=1))
    for hours in (4, 24, 48):
        _soft(delivery, reader.email, START + timedelta(hours=hours))
    assert reader.status == "confirmed"


def test_a_delivered_report_resets_the_count(make_subscriber, deliver):
    reader = make_subscriber("flaky@example.com")
    for day in (0, 1):
        _soft(
            deliver(reader, START + timedelta(days=day, hours=-1)),
            reader.email,
            START + timedelta(days=day),
        )
    with time_machine.travel(START + timedelta(days=2), tick=False):
        proof = verp(deliver(reader, START + timedelta(days=2, hours=-1)))
        event = ingest(dsn(reader.email, status="2.0.0", action="delivered", envelope_to=proof))
    assert event.action == "reset"
    _soft(
        deliver(reader, START + timedelta(days=3, hours=-1)),
        reader.email,
        START + timedelta(days=3),
    )
    assert reader.status == "confirmed" and not is_suppressed(reader.email)


def test_a_later_delivery_that_did_not_bounce_resets_the_count(make_subscriber, deliver):
    reader = make_subscriber("recovers@example.com")
    for day in (0, 1):
        _soft(
            deliver(reader, START + timedelta(days=day, hours=-1)),
            reader.email,
            START + timedelta(days=day),
        )
    deliver(reader, START + timedelta(days=2))  # went out, and no bounce came back
    _soft(
        deliver(reader, START + timedelta(days=3, hours=-1)),
        reader.email,
        START + timedelta(days=3),
    )
    assert reader.status == "confirmed"
    _soft(
        deliver(reader, START + timedelta(days=4, hours=-1)),
        reader.email,
        START + timedelta(days=4),
    )
    _soft(
        deliver(reader, START + timedelta(days=5, hours=-1)),
        reader.email,
        START + timedelta(days=5),
    )
    assert reader.status == "cleaned"


def test_complaint_unsubscribes_and_suppresses(bounce_app, make_subscriber, deliver):
    reader = make_subscriber("angry@example.com")
    delivery = deliver(reader)
    event = ingest(arf("angry@example.com", message_id=our_message_id(delivery)))
    assert (event.kind, event.action, event.feedback_type) == ("complaint", "unsubscribed", "abuse")
    assert reader.status == "unsubscribed"
    assert db.session.scalar(select(Suppression.reason)) == "complaint"
    kinds = db.session.scalars(
        select(ConsentEvent.kind).filter_by(subscriber_id=reader.id).order_by(ConsentEvent.id)
    ).all()
    assert kinds == ["unsubscribe", "complaint"]


def test_not_spam_feedback_changes_nothing(make_subscriber):
    reader = make_subscriber("happy@example.com")
    event = ingest(arf("happy@example.com", feedback_type="not-spam"))
    assert event.action == "none" and reader.status == "confirmed"


def test_sender_fault_alerts_and_leaves_the_reader_alone(make_subscriber, deliver, caplog):
    reader = make_subscriber("outlook-user@example.com")
    raw = dsn(
        reader.email,
        status="5.7.515",
        envelope_to=verp(deliver(reader)),
        diagnostic="Access denied, sending domain example.org does not meet the "
        "required authentication level",
    )
    with caplog.at_level(logging.WARNING, logger="bulletin.bounces.ingest"):
        event = ingest(raw)
    assert event.is_sender_fault and event.action == "alert"
    assert reader.status == "confirmed" and not is_suppressed(reader.email)
    assert "sender-side rejection" in caplog.text


def test_mail_to_the_unsubscribe_address_unsubscribes(bounce_app, make_subscriber):
    reader = make_subscriber("leaving@example.com")
    address = f"unsubscribe+{tokens.make_mailto_token(reader.uid)}@{BOUNCE_DOMAIN}"
    event = ingest(plain_mail(address, subject="Undeliverable: anything at all"), "imap")
    assert (event.kind, event.action) == ("unsubscribe", "unsubscribed")
    assert reader.status == "unsubscribed"
    consent = db.session.scalar(select(ConsentEvent).filter_by(kind="unsubscribe"))
    assert consent.source == "mailto"


def test_mailto_with_a_bad_token_changes_nothing(bounce_app, make_subscriber):
    reader = make_subscriber("staying@example.com")
    event = ingest(plain_mail(f"unsubscribe+forged@{BOUNCE_DOMAIN}", sender=reader.email))
    assert event.action == "unproven" and reader.status == "confirmed"


def test_erasure_keeps_the_event_without_the_person(make_subscriber, deliver):
    reader = make_subscriber("erase-me@example.com")
    event = ingest(dsn(reader.email, envelope_to=verp(deliver(reader))))
    reader_id = reader.id
    erase(reader, source="test")
    db.session.commit()
    db.session.expire_all()
    kept = db.session.get(BounceEvent, event.id)
    assert kept.subscriber_id is None and db.session.get(Subscriber, reader_id) is None
    assert "erase-me" not in json.dumps([kept.diagnostic, kept.recipient_hash])


def test_subject_access_export_lists_bounces(bounce_app, make_subscriber, deliver):
    reader = make_subscriber("sar@example.com")
    _soft(deliver(reader, START - timedelta(hours=1)), reader.email, START)
    data = export_subscriber(reader)
    assert [(b["kind"], b["status"], b["action"]) for b in data["bounces"]] == [
        ("soft", "4.2.2", "counted")
    ]
