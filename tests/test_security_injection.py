"""Header injection (MSG-09) through names, subjects and addresses; open redirects (SEC-12)."""

from __future__ import annotations

import email
import email.policy
import io
from urllib.parse import quote, urlsplit

import pytest
from sqlalchemy import select

from bulletin.extensions import db
from bulletin.mail.messages import MessageTemplate, Personal, build_transactional
from bulletin.mail.mime import safe_header
from bulletin.mail.rendering import RenderedEmail
from bulletin.mail.settings import DeliverySettings
from bulletin.models import Subscriber
from bulletin.privacy.importer import ImportOptions, import_csv
from tests.conftest import csrf_token
from tests.factories import EDITOR_PASSWORD

INJECTIONS = [
    "Eve\r\nBcc: spy@evil.example",
    "Eve\nBcc: spy@evil.example",
    "Eve\rBcc: spy@evil.example",
    "Eve\r\n\r\n<html>body</html>",
]


def rendered(subject: str = "Hello") -> RenderedEmail:
    return RenderedEmail(
        subject=subject, text="Text {{unsubscribe}}", html="<p>HTML</p>", language="en"
    )


def parse(raw: bytes):
    return email.message_from_bytes(raw, policy=email.policy.default)


@pytest.mark.parametrize("value", INJECTIONS)
def test_safe_header_refuses_line_breaks(value):
    with pytest.raises(ValueError):
        safe_header(value)


@pytest.mark.parametrize("value", INJECTIONS)
def test_a_transactional_mail_never_gains_a_header(app, value):
    settings = DeliverySettings.from_app(app)
    for subject, to in ((value, "reader@example.org"), ("Hello", f"reader@example.org{value}")):
        with pytest.raises(ValueError):
            build_transactional(rendered(subject), settings, outbox_id=1, to=to)
    message = parse(
        build_transactional(rendered(), settings, outbox_id=1, to="reader@example.org").message
    )
    assert message["Bcc"] is None and len(message.get_all("To")) == 1


@pytest.mark.parametrize("value", INJECTIONS)
def test_a_bulk_mail_to_a_name_with_line_breaks_has_no_extra_header(app, value):
    template = MessageTemplate(rendered(), DeliverySettings.from_app(app), send_id=1)
    built = template.personalise(
        Personal(delivery_id=1, uid="u" * 32, email="reader@example.org", name=value)
    )
    message = parse(built.message)
    assert message["Bcc"] is None
    assert message.get_all("To") == [message["To"]] and "reader@example.org" in message["To"]
    # The body did not start early: still multipart/alternative with its two parts.
    assert [p.get_content_type() for p in message.iter_parts()] == ["text/plain", "text/html"]
    names = {
        line.split(b":", 1)[0].lower()
        for line in built.message.split(b"\r\n\r\n", 1)[0].split(b"\r\n")
        if line[:1] not in b" \t"
    }
    assert names <= {
        b"from",
        b"subject",
        b"list-id",
        b"list-help",
        b"list-unsubscribe",
        b"list-unsubscribe-post",
        b"precedence",
        b"mime-version",
        b"to",
        b"date",
        b"content-language",
        b"content-type",
        b"message-id",
        b"reply-to",
        b"list-archive",
        b"feedback-id",
        b"dkim-signature",
    }


def test_names_with_line_breaks_are_refused_by_the_forms_and_the_import(client, app):
    page = client.get("/subscribe")
    response = client.post(
        "/subscribe",
        data={
            "csrf_token": csrf_token(page.text),
            "email": "eve@example.org",
            "name": INJECTIONS[0],
            "topics": ["news"],
            "region": "mid-wales",
            "language": "en",
            "consent": "y",
        },
    )
    assert response.status_code == 400
    report = import_csv(
        io.BytesIO(('email,name\neve@example.org,"' + INJECTIONS[0] + '"\n').encode()),
        ImportOptions(),
    )
    assert report.problem_count == 1 and report.problems[0][0] == 2
    assert db.session.scalar(select(Subscriber)) is None


OUTSIDE = [
    "https://evil.example/",
    "//evil.example/x",
    "///evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "https:evil.example",
    "javascript:alert(1)",
    "http://localhost.evil.example/",
    " //evil.example",
    "/\t/evil.example",
    "%2F%2Fevil.example",
    "data:text/html,x",
]


@pytest.mark.parametrize("target", OUTSIDE)
def test_login_never_redirects_off_site(app, make_editor, target):
    make_editor("next@example.org")
    client = app.test_client()
    page = client.get(f"/editor/login?next={quote(target, safe='')}")
    response = client.post(
        f"/editor/login?next={quote(target, safe='')}",
        data={
            "csrf_token": csrf_token(page.text),
            "email": "next@example.org",
            "password": EDITOR_PASSWORD,
        },
    )
    assert response.status_code in (302, 303)
    location = urlsplit(response.headers["Location"])
    assert location.netloc in ("", "localhost"), response.headers["Location"]
    assert location.scheme in ("", "http") and not location.path.startswith("//")
    assert "evil.example" not in location.netloc


def test_login_follows_a_next_path_on_this_site(app, make_editor):
    make_editor("local@example.org")
    client = app.test_client()
    page = client.get("/editor/login")
    response = client.post(
        "/editor/login?next=/editor/issues",
        data={
            "csrf_token": csrf_token(page.text),
            "email": "local@example.org",
            "password": EDITOR_PASSWORD,
        },
    )
    assert urlsplit(response.headers["Location"]).path == "/editor/issues"


def test_the_login_page_linked_from_a_guard_keeps_next_on_site(app):
    response = app.test_client().get("/editor/subscribers")
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert location.path == "/editor/login" and "evil" not in location.query
