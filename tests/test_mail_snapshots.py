"""Snapshots of every mail we send, in Welsh and English, text and HTML: a change to a template
or to the builder shows up as a diff to review (pytest --snapshot-update to accept it)."""

from __future__ import annotations

import re

import pytest

from bulletin.delivery.pipeline import start_due_sends
from bulletin.editorial.testsend import queue_test_send
from bulletin.extensions import db
from bulletin.mail import outbox
from bulletin.mail.settings import DeliverySettings
from bulletin.models import SubscriberStatus
from tests.support.delivery_helpers import configure, drain, make_send
from tests.support.mailtools import html_part, text_part
from tests.support.worker import run_worker_once

LANGUAGES = ["cy", "en"]
#: What a reader may choose: both languages is one mail, the Welsh first (issue 15).
READER_CHOICES = [*LANGUAGES, "cy+en"]
TRANSACTIONAL = ["confirm", "welcome", "already-subscribed", "manage-link"]

#: What changes from run to run, and what it becomes in a snapshot.
VOLATILE = [
    (re.compile(r"/(confirm|manage|unsubscribe|r)/[A-Za-z0-9_.\-]+"), r"/\1/<TOKEN>"),
    # VERP keeps its kind (o: an outbox mail, d: a bulk delivery); the rest of a token is random.
    (re.compile(r"\bbounces\+([od])[^@\s>]*@"), r"bounces+\1<TOKEN>@"),
    (re.compile(r"\bunsubscribe\+[^@\s>]+@"), r"unsubscribe+<TOKEN>@"),
    (re.compile(r'boundary="[^"]+"'), 'boundary="<BOUNDARY>"'),
]
REPLACED_HEADERS = {"date": "<DATE>", "message-id": "<MESSAGE-ID>", "dkim-signature": "<DKIM>"}


def normalise(text: str) -> str:
    for pattern, replacement in VOLATILE:
        text = pattern.sub(replacement, text)
    return text


def check(snapshot, name: str, received) -> None:
    """<name>.txt: envelope, headers and the text part; <name>.html: the HTML part."""
    message = received.message
    lines = [f"Envelope-From: {received.mail_from}", f"Envelope-To: {', '.join(received.rcpt_tos)}"]
    for header, value in message.items():
        shown = REPLACED_HEADERS.get(header.lower(), " ".join(str(value).split()))
        lines.append(f"{header}: {shown}")
    parts = [f"{p.get_content_type()} ({p['Content-Language']})" for p in message.iter_parts()]
    head = "\n".join(lines) + "\n\nParts: " + ", ".join(parts) + "\n\n"
    snapshot(f"email/{name}.txt", normalise(head + text_part(message).replace("\r\n", "\n")))
    snapshot(f"email/{name}.html", normalise(html_part(message).replace("\r\n", "\n")))


@pytest.fixture
def mail_app(app, smtp_server):
    configure(app, smtp_server, BOUNCE_DOMAIN="bounces.example.org")
    return app


@pytest.mark.parametrize("lang", READER_CHOICES)
@pytest.mark.parametrize("kind", TRANSACTIONAL)
def test_transactional_mail_matches_its_snapshot(
    mail_app, smtp_server, make_subscriber, snapshot, kind, lang
):
    status = SubscriberStatus.PENDING if kind == "confirm" else SubscriberStatus.CONFIRMED
    reader = make_subscriber("reader@example.com", status=status, language=lang)
    outbox.enqueue(reader, kind)
    db.session.commit()
    run_worker_once(mail_app)
    [received] = smtp_server.wait_for(1)
    check(snapshot, f"{kind}.{lang}", received)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_test_send_matches_its_snapshot(mail_app, smtp_server, make_fixed_issue, snapshot, lang):
    queue_test_send(make_fixed_issue(), ["editor@example.org"], [lang])
    db.session.commit()
    run_worker_once(mail_app)
    [received] = smtp_server.wait_for(1)
    check(snapshot, f"test-send.{lang}", received)


@pytest.mark.parametrize("lang", READER_CHOICES)
def test_issue_matches_its_snapshot(
    mail_app, smtp_server, make_subscriber, make_fixed_issue, snapshot, lang
):
    make_subscriber("reader@example.com", language=lang)
    make_send(make_fixed_issue())
    settings = DeliverySettings.from_app(mail_app)
    start_due_sends(settings)
    drain(mail_app, settings)
    [received] = smtp_server.wait_for(1)
    check(snapshot, f"issue.{lang}", received)
