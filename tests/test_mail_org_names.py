"""The organisation in mail: its Welsh name and address in Welsh mail, a display name on a
bare MAIL_FROM, subjects that read right whatever ORG_NAME is, and the welcome mail's
unsubscribe link."""

from __future__ import annotations

import re
from email.utils import parseaddr

import pytest

from bulletin.extensions import db
from bulletin.mail import outbox
from bulletin.models import Subscriber, SubscriberStatus
from tests.support.delivery_helpers import configure
from tests.support.mailtools import html_part, text_part
from tests.support.worker import run_worker_once

WELSH_NAME = "Bwletin Ymchwil Iechyd a Gofal"
WELSH_ADDRESS = "1 Stryd Enghraifft, Caerdydd, CF10 1AA"


@pytest.fixture
def mail_app(app, smtp_server):
    configure(
        app,
        smtp_server,
        MAIL_FROM="bulletin@example.org",
        ORG_NAME="Health and Care Research Bulletin",
        ORG_NAME_CY=WELSH_NAME,
        ORG_POSTAL_ADDRESS_CY=WELSH_ADDRESS,
    )
    return app


def _welcome(app, smtp_server, make_subscriber, lang: str):
    reader = make_subscriber(
        f"{lang}@example.com", status=SubscriberStatus.CONFIRMED, language=lang
    )
    outbox.enqueue(reader, "welcome")
    db.session.commit()
    run_worker_once(app)
    [received] = smtp_server.wait_for(1)
    return received.message


def test_welsh_mail_names_the_organisation_in_welsh(mail_app, smtp_server, make_subscriber):
    message = _welcome(mail_app, smtp_server, make_subscriber, "cy")
    assert parseaddr(str(message["From"])) == (WELSH_NAME, "bulletin@example.org")
    assert str(message["Subject"]) == f"Croeso i {WELSH_NAME}"
    text = text_part(message)
    assert text.startswith(WELSH_NAME) and f"{WELSH_NAME}, {WELSH_ADDRESS}" in text
    assert "Health and Care Research Bulletin" not in text + html_part(message)


def test_english_mail_keeps_the_english_name_and_reads_right(
    mail_app, smtp_server, make_subscriber
):
    message = _welcome(mail_app, smtp_server, make_subscriber, "en")
    assert str(message["From"]) == "Health and Care Research Bulletin <bulletin@example.org>"
    assert str(message["Subject"]) == "Welcome to Health and Care Research Bulletin"
    assert "1 Example Street, Cardiff" in text_part(message)


def test_a_from_with_a_display_name_is_left_alone(app, smtp_server, make_subscriber):
    configure(app, smtp_server, MAIL_FROM="Newyddion <news@example.org>")
    message = _welcome(app, smtp_server, make_subscriber, "en")
    assert str(message["From"]) == "Newyddion <news@example.org>"


def test_the_confirmation_subject_does_not_say_bulletin_twice(
    mail_app, smtp_server, make_subscriber
):
    reader = make_subscriber("new@example.com", status=SubscriberStatus.PENDING, language="en")
    outbox.enqueue(reader, "confirm")
    db.session.commit()
    run_worker_once(mail_app)
    [received] = smtp_server.wait_for(1)
    subject = str(received.message["Subject"])
    assert subject == "Confirm your subscription to Health and Care Research Bulletin"
    assert "bulletin bulletin" not in text_part(received.message).lower()


@pytest.mark.parametrize("lang", ["cy", "en"])
def test_the_welcome_mail_unsubscribe_link_unsubscribes(
    mail_app, smtp_server, make_subscriber, lang
):
    message = _welcome(mail_app, smtp_server, make_subscriber, lang)
    text = text_part(message)
    [link] = re.findall(r"(http://localhost/unsubscribe/\S+)", text)
    assert "http://localhost/manage/" in text
    assert link in html_part(message)
    client = mail_app.test_client()
    page = client.get(link.removeprefix("http://localhost"))
    assert page.status_code == 200
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.text)
    data = {"csrf_token": token.group(1)} if token else {}
    assert client.post(link.removeprefix("http://localhost"), data=data).status_code < 400
    db.session.expire_all()
    reader = db.session.scalar(db.select(Subscriber).filter_by(email=f"{lang}@example.com"))
    assert reader.status == SubscriberStatus.UNSUBSCRIBED
