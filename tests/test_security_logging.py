"""No token and no address in the logs: a real server's access log is captured end to end."""

from __future__ import annotations

import http.cookiejar
import logging
import smtplib
import threading
import urllib.parse
import urllib.request

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server

from bulletin.bounces.server import make_server as make_bounce_server
from bulletin.core.redaction import RedactingFilter, redact
from bulletin.extensions import db
from bulletin.mail import tokens
from bulletin.models import Subscriber
from tests.conftest import csrf_token
from tests.support.bouncemail import BOUNCE_DOMAIN, dsn
from tests.support.smtp import free_port

ADDRESS = "logged.person@example.org"


@pytest.fixture
def live_server(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)


class Browser:
    """urllib with a cookie jar (the CSRF token lives in the session cookie)."""

    def __init__(self, base: str):
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )

    def get(self, path: str) -> str:
        with self.opener.open(self.base + path, timeout=30) as response:
            return response.read().decode()

    def post(self, path: str, fields: dict) -> int:
        body = urllib.parse.urlencode(fields, doseq=True).encode()
        with self.opener.open(self.base + path, data=body, timeout=30) as response:
            return response.status


def test_sign_up_confirm_and_unsubscribe_log_no_token_or_address(
    app, live_server, caplog, run_worker_once
):
    caplog.set_level(logging.DEBUG)
    browser = Browser(live_server)
    page = browser.get("/subscribe")
    browser.post(
        "/subscribe",
        {
            "csrf_token": csrf_token(page),
            "email": ADDRESS,
            "topics": ["news"],
            "region": "mid-wales",
            "language": "en",
            "consent": "y",
        },
    )
    uid = db.session.scalar(select(Subscriber.uid).filter_by(email=ADDRESS))
    run_worker_once(app)
    confirm, manage = tokens.make_confirm_token(uid), tokens.make_manage_token(uid)
    unsubscribe = tokens.make_unsubscribe_token(uid)
    page = browser.get(f"/confirm/{confirm}")
    browser.post(f"/confirm/{confirm}", {"csrf_token": csrf_token(page)})
    browser.get(f"/manage/{manage}")
    browser.get(f"/unsubscribe/{unsubscribe}")
    browser.post(f"/unsubscribe/{unsubscribe}", {"List-Unsubscribe": "One-Click"})
    browser.get(f"/subscribe?email={urllib.parse.quote(ADDRESS)}")

    ours = [r for r in caplog.records if not r.name.startswith("mail.log")]
    access = [r.getMessage() for r in ours if r.name == "werkzeug"]
    assert len(access) >= 9, access  # the server's request lines were captured
    assert any("/unsubscribe/[token]" in line for line in access)
    assert any("/confirm/[token]" in line for line in access)
    for record in ours:
        message = record.getMessage()
        for secret in (confirm, manage, unsubscribe, ADDRESS, urllib.parse.quote(ADDRESS)):
            assert secret not in message, f"{record.name}: {message}"


def test_a_bounce_server_session_logs_no_token_or_address(app, make_subscriber, caplog):
    caplog.set_level(logging.DEBUG)
    app.config["BOUNCE_DOMAIN"] = BOUNCE_DOMAIN
    reader = make_subscriber(ADDRESS)
    token = tokens.make_bounce_token("d999")
    mailto = tokens.make_mailto_token(reader.uid)
    server = make_bounce_server(app, "127.0.0.1", free_port())
    server.start()
    try:
        with smtplib.SMTP("127.0.0.1", server.port, timeout=60) as client:
            rcpts = [f"bounces+{token}@{BOUNCE_DOMAIN}", f"unsubscribe+{mailto}@{BOUNCE_DOMAIN}"]
            client.sendmail(ADDRESS, rcpts, dsn(ADDRESS, envelope_to=rcpts[0]))
    finally:
        server.stop()
    smtp = [r.getMessage() for r in caplog.records if r.name == "mail.log"]
    assert any("rcpt TO:<[address]>" in line for line in smtp), smtp  # the session was logged
    assert any("DATA readline" in line for line in smtp)
    for record in caplog.records:
        message = record.getMessage()
        for secret in (token, mailto, ADDRESS, reader.uid):
            assert secret not in message, f"{record.name}: {message}"


def test_gunicorn_access_lines_are_redacted(caplog):
    caplog.set_level(logging.INFO)
    from bulletin.core.redaction import install_log_redaction

    install_log_redaction()
    token = "ImFiYzEyMyI.Zx9yQ1.signature-part"
    # gunicorn's access logger formats a dict of atoms into its format string.
    logging.getLogger("gunicorn.access").info(
        '%(h)s "%(r)s" %(s)s', {"h": "203.0.113.9", "r": f"POST /u/{token} HTTP/1.1", "s": "200"}
    )
    [record] = [r for r in caplog.records if r.name == "gunicorn.access"]
    assert record.getMessage() == '203.0.113.9 "POST /u/[token] HTTP/1.1" 200'


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("GET /manage/abc.def-ghi/erase HTTP/1.1", "GET /manage/[token]/erase HTTP/1.1"),
        ("GET /confirm/abc?lang=cy HTTP/1.1", "GET /confirm/[token]?lang=cy HTTP/1.1"),
        ("GET /manage HTTP/1.1", "GET /manage HTTP/1.1"),
        ("GET /r/WzEsMl0.sig-_x HTTP/1.1", "GET /r/[token] HTTP/1.1"),
        ("GET /subscribe?email=a.b%40example.org", "GET /subscribe?email=[address]"),
        ("sent to Siân@example.cymru", "sent to [address]"),
    ],
)
def test_redact_masks_tokens_and_addresses(line, expected):
    assert redact(line) == expected


def test_the_filter_keeps_records_it_cannot_format():
    record = logging.LogRecord("werkzeug", logging.INFO, __file__, 1, "%d items", ("x",), None)
    assert RedactingFilter().filter(record) is True
