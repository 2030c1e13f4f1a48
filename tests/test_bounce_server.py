"""`bulletin bounce-server`: a real aiosmtpd listener, talked to with smtplib."""

from __future__ import annotations

import smtplib

import pytest
from sqlalchemy import func, select

from bulletin import tokens
from bulletin.bounces import ingest as ingest_module
from bulletin.bounces.server import make_server
from bulletin.extensions import db
from bulletin.models import BounceEvent, InboundMessage

from .bouncemail import BOUNCE_DOMAIN, dsn, plain_mail, sent_verp
from .smtp import free_port


@pytest.fixture
def bounce_server(app):
    app.config["BOUNCE_DOMAIN"] = BOUNCE_DOMAIN
    servers = []

    def start(lmtp: bool = False):
        server = make_server(app, "127.0.0.1", free_port(), lmtp=lmtp)
        server.start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def events() -> list[BounceEvent]:
    db.session.expire_all()
    return db.session.scalars(select(BounceEvent).order_by(BounceEvent.id)).all()


def test_smtp_bounce_is_recorded_before_250(bounce_server, make_subscriber):
    reader = make_subscriber("dead@example.com")
    server = bounce_server()
    rcpt = sent_verp(reader)
    with smtplib.SMTP("127.0.0.1", server.port, timeout=10) as client:
        refused = client.sendmail("", [rcpt], dsn(reader.email, envelope_to=rcpt))
    assert refused == {}
    [event] = events()
    assert (event.source, event.kind, event.subscriber_id) == ("smtp", "hard", reader.id)
    db.session.refresh(reader)
    assert reader.status == "cleaned"


def test_other_domains_are_refused_with_550(bounce_server):
    server = bounce_server()
    with smtplib.SMTP("127.0.0.1", server.port, timeout=10) as client:
        client.ehlo()
        client.mail("")
        code, _ = client.rcpt("postmaster@example.net")
        assert code == 550
        client.rset()
        with pytest.raises(smtplib.SMTPRecipientsRefused):
            client.sendmail("", ["someone@example.org"], dsn("x@example.com"))
    assert events() == []


def test_internal_error_answers_451_and_a_retry_succeeds(bounce_server, make_subscriber,
                                                         monkeypatch):
    reader = make_subscriber("retry@example.com")
    server = bounce_server()
    raw = dsn(reader.email)

    def broken(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(ingest_module, "apply_classification", broken)
    with smtplib.SMTP("127.0.0.1", server.port, timeout=10) as client:
        with pytest.raises(smtplib.SMTPDataError) as refused:
            client.sendmail("", [f"bounces@{BOUNCE_DOMAIN}"], raw)
    assert refused.value.smtp_code == 451
    assert events() == [] and db.session.scalar(select(func.count(InboundMessage.id))) == 0
    monkeypatch.undo()
    with smtplib.SMTP("127.0.0.1", server.port, timeout=10) as client:
        client.sendmail("", [f"bounces@{BOUNCE_DOMAIN}"], raw)
    assert [e.kind for e in events()] == ["hard"]


def test_lmtp_answers_once_per_recipient(bounce_server, make_subscriber):
    reader = make_subscriber("lmtp@example.com")
    server = bounce_server(lmtp=True)
    client = smtplib.LMTP()
    client.connect("127.0.0.1", server.port)
    try:
        client.ehlo_or_helo_if_needed()
        client.mail("")
        for rcpt in ("bounces@" + BOUNCE_DOMAIN, "postmaster@" + BOUNCE_DOMAIN):
            assert client.rcpt(rcpt)[0] == 250
        first = client.data(dsn(reader.email))
        second = client.getreply()
    finally:
        client.quit()
    assert first[0] == 250 and second[0] == 250
    assert [e.kind for e in events()] == ["hard"]  # one message, recorded once


def test_mail_to_the_unsubscribe_address_unsubscribes(bounce_server, make_subscriber):
    reader = make_subscriber("bye@example.com")
    server = bounce_server()
    rcpt = f"unsubscribe+{tokens.make_mailto_token(reader.uid)}@{BOUNCE_DOMAIN}"
    # The To: header may say anything; the envelope recipient carries the token.
    message = plain_mail("list@example.org", subject="Re: Research bulletin", sender=reader.email)
    with smtplib.SMTP("127.0.0.1", server.port, timeout=10) as client:
        client.sendmail(reader.email, [rcpt], message)
    [event] = events()
    assert (event.kind, event.action) == ("unsubscribe", "unsubscribed")
    db.session.refresh(reader)
    assert reader.status == "unsubscribed"
