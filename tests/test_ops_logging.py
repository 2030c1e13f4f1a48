"""LOG_FORMAT=json: one JSON object per line, each with its request id; still no token or address.

Captured end to end from a real server, the way tests/test_security_logging.py captures the
text format.
"""

from __future__ import annotations

import io
import json
import logging
import sys
import threading
import urllib.parse
import urllib.request

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server

from bulletin.extensions import db
from bulletin.mail import tokens
from bulletin.models import Subscriber
from bulletin.ops.logs import JsonFormatter
from tests.conftest import _empty_tables, csrf_token
from tests.support.worker import run_worker_once
from tests.test_security_logging import Browser

ADDRESS = "json.logged@example.org"


@pytest.fixture
def live_server(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)


@pytest.fixture
def json_lines():
    """The root logger writes only to a buffer, formatted as the app's JSON lines."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(JsonFormatter())
    root, werkzeug = logging.getLogger(), logging.getLogger("werkzeug")
    saved = root.handlers[:], root.level, werkzeug.level
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG)
    werkzeug.setLevel(logging.INFO)
    try:
        yield lambda: [line for line in buffer.getvalue().splitlines() if line]
    finally:
        root.handlers[:], root.level = saved[0], saved[1]
        werkzeug.setLevel(saved[2])


@pytest.fixture
def app(make_app):
    from bulletin.core.defaults import ensure_defaults

    application = make_app(LOG_FORMAT="json")
    with application.app_context():
        _empty_tables()
        ensure_defaults()
        yield application
        db.session.rollback()


def test_json_lines_carry_the_request_id_and_no_token_or_address(app, live_server, json_lines):
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
    page = browser.get(f"/confirm/{confirm}")
    browser.post(f"/confirm/{confirm}", {"csrf_token": csrf_token(page)})
    browser.get(f"/manage/{manage}")
    browser.get(f"/subscribe?email={urllib.parse.quote(ADDRESS)}")
    with browser.opener.open(live_server + "/healthz", timeout=30) as response:
        given_id = response.headers["X-Request-ID"]
    logging.getLogger("bulletin.somewhere").warning("mail to %s failed", ADDRESS)

    entries = [json.loads(line) for line in json_lines()]  # every line is one JSON object
    access = [e for e in entries if e["logger"] == "werkzeug"]
    assert len(access) >= 7, entries
    assert all(len(e["request_id"]) == 16 for e in access)
    assert len({e["request_id"] for e in access}) == len(access)  # one id per request
    assert any(e["request_id"] == given_id and "/healthz" in e["message"] for e in access)
    assert any("/confirm/[token]" in e["message"] for e in access)
    assert {"time", "level", "logger", "message"} <= set(access[0])
    [ours] = [e for e in entries if e["logger"] == "bulletin.somewhere"]
    assert ours["message"] == "mail to [address] failed" and ours["level"] == "WARNING"
    text = "\n".join(json_lines())
    for secret in (confirm, manage, ADDRESS, urllib.parse.quote(ADDRESS), uid):
        assert secret not in text


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("abc-123.DEF_4:5", True),
        ("x" * 64, True),
        ("x" * 65, False),
        ("has space", False),
        ("<script>", False),
        ("line\\nbreak", False),
    ],
)
def test_an_incoming_request_id_is_kept_only_if_short_and_safe(client, sent, kept):
    answered = client.get("/healthz", headers={"X-Request-ID": sent}).headers["X-Request-ID"]
    if kept:
        assert answered == sent
    else:
        assert answered != sent and len(answered) == 16
        int(answered, 16)


def test_gunicorn_handlers_write_redacted_json(make_app):
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    access = logging.getLogger("gunicorn.access")
    access.addHandler(handler)
    access.setLevel(logging.INFO)  # as gunicorn sets it
    try:
        make_app(LOG_FORMAT="json")  # gunicorn set its handlers up before loading the app
        assert isinstance(handler.formatter, JsonFormatter)
        token = "ImFiYzEyMyI.Zx9yQ1.signature-part"
        access.info(
            '%(h)s "%(r)s" %(s)s',
            {"h": "203.0.113.9", "r": f"GET /unsubscribe/{token} HTTP/1.1", "s": "200"},
        )
    finally:
        access.removeHandler(handler)
        access.setLevel(logging.NOTSET)
    [entry] = [json.loads(line) for line in buffer.getvalue().splitlines()]
    assert entry["message"] == '203.0.113.9 "GET /unsubscribe/[token] HTTP/1.1" 200'
    assert entry["logger"] == "gunicorn.access"


def test_tracebacks_are_redacted_too():
    try:
        raise ValueError(f"cannot mail {ADDRESS}")
    except ValueError:
        record = logging.getLogger("x").makeRecord(
            "x", logging.ERROR, __file__, 1, "failed", (), sys.exc_info()
        )
    entry = json.loads(JsonFormatter().format(record))
    assert "[address]" in entry["exception"] and ADDRESS not in entry["exception"]
