"""One builder, one signer: every kind of mail carries a DKIM signature that verifies after a
real SMTP server, and a test send is the reader's message for a token that acts on nobody."""

from __future__ import annotations

import re

import dkim
import pytest
from sqlalchemy import func, select

from bulletin.bounces.ingest import apply_mailto
from bulletin.delivery.pipeline import start_due_sends
from bulletin.editorial.testsend import BadAddresses, parse_addresses, queue_test_send
from bulletin.extensions import db
from bulletin.mail import outbox, tokens
from bulletin.mail.settings import DeliverySettings
from bulletin.models import (
    BounceAction,
    ConsentEvent,
    Subscriber,
    SubscriberStatus,
    Suppression,
)
from tests.support.delivery_helpers import configure, drain, make_send
from tests.support.mailtools import links
from tests.support.worker import run_worker_once
from tests.test_delivery_bulk import DOMAIN, SELECTOR, dkim_key  # noqa: F401 (a fixture)

BOUNCES = "bounces.example.org"


def as_sent(received) -> bytes:
    """The bytes as the server got them, with CRLF line ends (aiosmtpd may hand back LF)."""
    return received.raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def header_names(received) -> set[str]:
    return {name.lower() for name in received.message.keys()}


def test_every_kind_of_mail_is_signed_and_verifies_after_a_real_smtp_server(
    app, smtp_server, make_subscriber, make_fixed_issue, dkim_key
):  # noqa: F811
    path, dnsfunc = dkim_key
    settings = configure(
        app,
        smtp_server,
        DKIM_SELECTOR=SELECTOR,
        DKIM_DOMAIN=DOMAIN,
        DKIM_PRIVATE_KEY_PATH=str(path),
        BOUNCE_DOMAIN=BOUNCES,
    )
    pending = make_subscriber("pending@example.com", status=SubscriberStatus.PENDING, language="cy")
    reader = make_subscriber("reader@example.com", language="en")
    outbox.enqueue(pending, "confirm")
    for kind in ("welcome", "already-subscribed", "manage-link"):
        outbox.enqueue(reader, kind)
    issue = make_fixed_issue()
    queue_test_send(issue, ["editor@example.org"], ["cy"])
    db.session.commit()
    run_worker_once(app)
    make_send(issue)
    start_due_sends(settings)
    drain(app, settings)
    received = smtp_server.wait_for(6)
    assert len(received) == 6
    subjects = []
    for message in received:
        assert message.message["DKIM-Signature"], message.message["Subject"]
        assert dkim.verify(as_sent(message), dnsfunc=dnsfunc), message.message["Subject"]
        assert message.mail_from.startswith("bounces+") and message.mail_from.endswith(BOUNCES)
        subjects.append(message.message["Subject"])
    assert sum(s.startswith("[TEST] ") for s in subjects) == 1
    assert "Research bulletin: May" in subjects


def test_a_test_send_is_the_readers_message_for_a_test_token(
    app, client, smtp_server, make_subscriber, make_fixed_issue, dkim_key
):  # noqa: F811
    path, dnsfunc = dkim_key
    settings = configure(
        app,
        smtp_server,
        DKIM_SELECTOR=SELECTOR,
        DKIM_DOMAIN=DOMAIN,
        DKIM_PRIVATE_KEY_PATH=str(path),
        BOUNCE_DOMAIN=BOUNCES,
    )
    readers = [
        make_subscriber("reader@example.com", language="en"),
        make_subscriber("darllenydd@example.com", language="cy"),
    ]
    issue = make_fixed_issue()
    queue_test_send(issue, ["editor@example.org"], ["en"])
    db.session.commit()
    run_worker_once(app)
    [test] = smtp_server.wait_for(1)
    make_send(issue)
    start_due_sends(settings)
    drain(app, settings)
    real = next(r for r in smtp_server.wait_for(3) if r.rcpt_tos == ["reader@example.com"])

    message = test.message
    assert test.rcpt_tos == ["editor@example.org"]
    assert message["Subject"] == "[TEST] " + real.message["Subject"]
    assert header_names(test) == header_names(real)  # List-*, Precedence, DKIM: all of them
    for name in (
        "List-Unsubscribe",
        "List-Unsubscribe-Post",
        "List-Id",
        "List-Help",
        "List-Archive",
        "DKIM-Signature",
    ):
        assert message[name], name
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["List-Id"] == real.message["List-Id"]
    assert re.match(rf"^bounces\+o\d+-[0-9a-f]+@{re.escape(BOUNCES)}$", test.mail_from)
    assert dkim.verify(as_sent(test), dnsfunc=dnsfunc)

    unsubscribe = re.search(
        r"<https?://[^/]+(/unsubscribe/[^>]+)>", message["List-Unsubscribe"]
    ).group(1)
    assert tokens.read_unsubscribe_token(unsubscribe.rsplit("/", 1)[1]) == tokens.TEST_UID
    assert links(message, "/unsubscribe/") == [unsubscribe]
    [manage] = links(message, "/manage/")
    before = _state()
    for response in (
        client.get(unsubscribe),
        client.get(manage),
        client.post(unsubscribe, data={"List-Unsubscribe": "One-Click"}),
        client.post(unsubscribe),
    ):
        assert response.status_code == 200
        assert "This link was in a test email" in response.text
        assert "Nothing has been changed" in response.text
    mailto = re.search(r"<mailto:unsubscribe\+([^@]+)@", message["List-Unsubscribe"]).group(1)
    assert apply_mailto(mailto, source="test").action == BounceAction.UNMATCHED
    assert _state() == before
    assert [s for _, s in before[0]] == [SubscriberStatus.CONFIRMED] * len(readers)


def _state() -> tuple:
    """Every subscriber's status, and how many consent events and suppressions there are."""
    db.session.expire_all()
    statuses = db.session.execute(
        select(Subscriber.email, Subscriber.status).order_by(Subscriber.id)
    ).all()
    return (
        [tuple(row) for row in statuses],
        db.session.scalar(select(func.count(ConsentEvent.id))),
        db.session.scalar(select(func.count(Suppression.id))),
    )


def test_test_token_pages_answer_in_welsh(client):
    token = tokens.make_unsubscribe_token(tokens.TEST_UID)
    response = client.get(f"/unsubscribe/{token}", headers={"Accept-Language": "cy"})
    assert response.status_code == 200
    assert "Roedd y ddolen hon mewn e-bost prawf" in response.text
    assert "This link was in a test email" not in response.text


def test_test_addresses_that_need_smtputf8_are_refused():
    # The builder does not use SMTPUTF8: refuse the address with a message, not a 500.
    with pytest.raises(BadAddresses):
        parse_addresses("rené@example.org", "editor@example.org")


def test_the_signer_is_loaded_once_per_key_file_and_again_when_it_changes(app, dkim_key):  # noqa: F811
    import os

    from bulletin.mail.dkim import make_signer

    path, _ = dkim_key
    app.config.update(DKIM_SELECTOR=SELECTOR, DKIM_DOMAIN=DOMAIN, DKIM_PRIVATE_KEY_PATH=str(path))
    first = make_signer(DeliverySettings.from_app(app))
    assert make_signer(DeliverySettings.from_app(app)) is first
    stat = os.stat(path)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert make_signer(DeliverySettings.from_app(app)) is not first
