"""`bulletin bounce-server`: a real aiosmtpd listener, talked to with smtplib."""

from __future__ import annotations

import multiprocessing
import smtplib
import socket
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from bulletin.bounces import ingest as ingest_module
from bulletin.bounces.server import make_server
from bulletin.extensions import db
from bulletin.mail import tokens
from bulletin.models import BounceEvent, InboundMessage
from tests.support.bouncemail import BOUNCE_DOMAIN, dsn, plain_mail, sent_verp
from tests.support.slow_classifier import install_slow_pool, slow_message
from tests.support.smtp import free_port


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


def test_internal_error_answers_451_and_a_retry_succeeds(
    bounce_server, make_subscriber, monkeypatch
):
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


def send(port: int, raw: bytes) -> int:
    """One whole SMTP transaction to the bounce address; the reply code to DATA."""
    with smtplib.SMTP("127.0.0.1", port, timeout=60) as client:
        try:
            client.sendmail("", [f"bounces@{BOUNCE_DOMAIN}"], raw)
        except smtplib.SMTPDataError as refused:
            return refused.smtp_code
    return 250


def classifier_processes() -> list[multiprocessing.Process]:
    return [p for p in multiprocessing.active_children() if p.name == "bounce-classifier"]


def test_a_slow_classification_does_not_hold_up_another_client(app, bounce_server, make_subscriber):
    reader = make_subscriber("quick@example.com")
    pool = install_slow_pool(app, workers=2, timeout=600)
    server = bounce_server()
    with socket.create_server(("127.0.0.1", 0)) as signal, ThreadPoolExecutor(1) as first:
        signal.settimeout(60)
        slow = first.submit(send, server.port, slow_message(signal_port=signal.getsockname()[1]))
        signal.accept()[0].close()  # a worker is now deep in the backtracking, for good
        with smtplib.SMTP("127.0.0.1", server.port, timeout=60) as client:
            assert client.ehlo()[0] == 250
            client.sendmail("", [f"bounces@{BOUNCE_DOMAIN}"], dsn(reader.email))
        assert [e.kind for e in events()] == ["hard"]
        assert not slow.done()  # the second client came and went while the first waits
        pool.close()  # kills the stuck worker: the first client is asked to retry
        assert slow.result(timeout=60) == 451
    assert db.session.scalar(select(func.count(InboundMessage.id))) == 1


def test_a_classification_that_times_out_is_recorded_unclassified(
    app, bounce_server, make_subscriber
):
    reader = make_subscriber("later@example.com")
    install_slow_pool(app, workers=1, timeout=2)
    server = bounce_server()
    assert send(server.port, slow_message()) == 250
    [event] = events()
    assert (event.kind, event.action, event.source, event.subscriber_id) == (
        "unclassified",
        "none",
        "smtp",
        None,
    )
    assert event.diagnostic == "classification did not finish within 2 s"
    assert classifier_processes() == []  # the stuck worker was killed, not left spinning
    # The only worker slot serves the next message with a fresh process.
    assert send(server.port, dsn(reader.email)) == 250
    assert [e.kind for e in events()] == ["unclassified", "hard"]
    assert len(classifier_processes()) == 1


def test_a_message_over_the_size_limit_gets_552_and_nothing_is_recorded(
    app, bounce_server, make_subscriber
):
    reader = make_subscriber("big@example.com")
    app.config["BOUNCE_MAX_MESSAGE_BYTES"] = 20_000
    server = bounce_server()
    big = dsn(reader.email) + b"\r\n".join([b"x" * 70] * 400) + b"\r\n"
    with smtplib.SMTP("127.0.0.1", server.port, timeout=60) as client:
        client.ehlo()
        assert client.esmtp_features["size"] == "20000"  # advertised, so MTAs need not try
        client.mail("")
        client.rcpt(f"bounces@{BOUNCE_DOMAIN}")
        code, text = client.data(big)  # an MTA that ignored SIZE
        assert (code, text) == (552, b"5.3.4 Message too big for this server (limit 20000 bytes)")
        client.rset()
        code, text = client.mail("", [f"SIZE={len(big)}"])  # one that announced it
        assert (code, text) == (552, b"5.3.4 Message too big for this server (limit 20000 bytes)")
    assert events() == [] and db.session.scalar(select(func.count(InboundMessage.id))) == 0
    assert send(server.port, dsn(reader.email)) == 250  # under the limit: recorded
    assert [e.kind for e in events()] == ["hard"]
