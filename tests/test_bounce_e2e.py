"""End to end: a send, refusals and later bounces and complaints, then a send that skips them."""

from __future__ import annotations

import smtplib

import pytest
from sqlalchemy import select

from bulletin.bounces.server import make_server
from bulletin.delivery.pipeline import finish_sends, start_due_sends
from bulletin.extensions import db
from bulletin.mail.pseudonyms import hash_address
from bulletin.models import BounceEvent, Subscriber, Suppression
from tests.support.bouncemail import BOUNCE_DOMAIN, arf, dsn
from tests.support.delivery_helpers import configure, drain, make_send
from tests.support.smtp import free_port


@pytest.fixture
def bounce_server(app):
    app.config["BOUNCE_DOMAIN"] = BOUNCE_DOMAIN
    server = make_server(app, "127.0.0.1", free_port())
    server.start()
    yield server
    server.stop()


def hand_over(server, rcpt: str, raw: bytes) -> None:
    """What the bounce domain's MX does: relay the report to `bulletin bounce-server`."""
    with smtplib.SMTP("127.0.0.1", server.port, timeout=10) as client:
        assert client.sendmail("", [rcpt], raw) == {}


def test_bounces_and_complaints_clean_the_list_for_the_next_send(
    app, smtp_server, bounce_server, make_subscriber
):
    settings = configure(app, smtp_server, BOUNCE_DOMAIN=BOUNCE_DOMAIN)
    readers = {
        name: make_subscriber(f"{name}@example.com")
        for name in ("fine", "refused", "later", "complains", "blocked")
    }
    smtp_server.handler.replies["refused@example.com"] = ["550 5.1.1 No such user"]
    make_send()
    start_due_sends(settings)
    drain(app, settings)
    first = {r.rcpt_tos[0]: r for r in smtp_server.received}
    assert set(first) == {
        "fine@example.com",
        "later@example.com",
        "complains@example.com",
        "blocked@example.com",
    }
    envelope = {address: r.mail_from for address, r in first.items()}
    assert len(set(envelope.values())) == 4
    assert all(
        v.startswith("bounces+") and v.endswith("@" + BOUNCE_DOMAIN) for v in envelope.values()
    )

    # Accepted, then bounced: the remote MX sends a DSN to the VERP address.
    later = first["later@example.com"]
    hand_over(
        bounce_server,
        envelope["later@example.com"],
        dsn(
            "later@example.com",
            envelope_to=envelope["later@example.com"],
            message_id=later.message["Message-ID"],
        ),
    )
    # A feedback loop reports a complaint (it echoes the VERP envelope sender).
    complains = first["complains@example.com"]
    hand_over(
        bounce_server,
        f"fbl@{BOUNCE_DOMAIN}",
        arf(
            "complains@example.com",
            envelope_to=f"fbl@{BOUNCE_DOMAIN}",
            original_mail_from=envelope["complains@example.com"],
            message_id=complains.message["Message-ID"],
        ),
    )
    # A reputation block: our fault, not the reader's.
    hand_over(
        bounce_server,
        envelope["blocked@example.com"],
        dsn(
            "blocked@example.com",
            status="5.7.515",
            envelope_to=envelope["blocked@example.com"],
            diagnostic="Access denied, sending domain example.org does not meet the "
            "required authentication level",
        ),
    )
    finish_sends()

    db.session.expire_all()
    status = {name: db.session.get(Subscriber, s.id).status for name, s in readers.items()}
    assert status == {
        "fine": "confirmed",
        "refused": "cleaned",
        "later": "cleaned",
        "complains": "unsubscribed",
        "blocked": "confirmed",
    }
    reasons = {row.address_hash: row.reason for row in db.session.scalars(select(Suppression))}
    assert reasons == {
        hash_address("refused@example.com"): "bounced",
        hash_address("later@example.com"): "bounced",
        hash_address("complains@example.com"): "complaint",
    }
    events = {(e.kind, e.action, e.source) for e in db.session.scalars(select(BounceEvent))}
    # The relay's own 5.1.1 refusal leaves its record too (source smtp-reply).
    assert events == {
        ("hard", "cleaned", "smtp"),
        ("complaint", "unsubscribed", "smtp"),
        ("soft", "alert", "smtp"),
        ("hard", "cleaned", "smtp-reply"),
    }

    smtp_server.handler.received.clear()
    make_send()
    start_due_sends(settings)
    drain(app, settings)
    assert sorted(r.rcpt_tos[0] for r in smtp_server.received) == [
        "blocked@example.com",
        "fine@example.com",
    ]
