"""End to end: a send through a real SMTP server that refuses some readers in different
ways, then a later bounce, a complaint and a one-click unsubscribe from the received mail;
the send's report (core, page, CSV and API) says what happened."""

from __future__ import annotations

import csv
import io
import re
import smtplib
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from bulletin.bounces.server import make_server
from bulletin.core.send_report import build_report
from bulletin.delivery.pipeline import finish_sends, start_due_sends
from bulletin.extensions import db
from bulletin.models import ConsentEvent, Send, SendStatus
from tests.conftest import csrf_token
from tests.factories import sign_in
from tests.support.bouncemail import BOUNCE_DOMAIN, arf, dsn
from tests.support.delivery_helpers import configure, drain, make_send
from tests.support.smtp import free_port

pytestmark = pytest.mark.slow

REFUSALS = {
    "unknown@example.com": ["550 5.1.1 <unknown@example.com>: Recipient address rejected"],
    "spam@example.com": ["550 5.7.1 Message rejected as spam"],
    "full@example.com": ["552 5.2.2 Mailbox full"],
    "refused@example.com": ["554 5.0.0 Transaction failed"],
    # Temporary every time: failed once the retries ran out.
    "flaky@example.com": ["451 4.3.0 Try again later"] * 3,
}
FINE = [f"fine{i}@example.com" for i in range(6)]
WELSH = [f"cymraeg{i}@example.com" for i in range(5)]


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


def one_click(app, message) -> None:
    """What a mailbox provider does with List-Unsubscribe and List-Unsubscribe-Post."""
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    (url,) = [u for u in re.findall(r"<([^>]+)>", message["List-Unsubscribe"]) if "://" in u]
    # A context of its own, as in production: the reader's language stays on its `g`.
    with app.app_context():
        response = app.test_client().post(
            urlsplit(url).path, data={"List-Unsubscribe": "One-Click"}
        )
    assert response.status_code == 200 and "Location" not in response.headers


@pytest.fixture
def finished_send(app, smtp_server, bounce_server, make_subscriber):
    """A send to 20 readers: 5 refused, then a later bounce, a complaint, an unsubscribe."""
    settings = configure(app, smtp_server, BOUNCE_DOMAIN=BOUNCE_DOMAIN, SEND_MAX_ATTEMPTS=3)
    for address in [*FINE, *REFUSALS, "later@example.com", "complains@example.com"]:
        make_subscriber(address, region="south-east-wales")
    for address in [*WELSH, "gadael@example.com"]:
        make_subscriber(address, language="cy", region="north-wales")
    make_subscriber("nowhere@example.com", region=None)
    for address, replies in REFUSALS.items():
        smtp_server.handler.replies[address] = list(replies)
    send = make_send()
    start_due_sends(settings)
    drain(app, settings)
    finish_sends()
    received = {r.rcpt_tos[0]: r for r in smtp_server.received}
    assert len(received) == 20 - len(REFUSALS)

    later = received["later@example.com"]
    hand_over(
        bounce_server,
        later.mail_from,
        dsn(
            "later@example.com", envelope_to=later.mail_from, message_id=later.message["Message-ID"]
        ),
    )
    complains = received["complains@example.com"]
    hand_over(
        bounce_server,
        f"fbl@{BOUNCE_DOMAIN}",
        arf(
            "complains@example.com",
            envelope_to=f"fbl@{BOUNCE_DOMAIN}",
            original_mail_from=complains.mail_from,
            message_id=complains.message["Message-ID"],
        ),
    )
    one_click(app, received["gadael@example.com"].message)
    one_click(app, received["gadael@example.com"].message)  # idempotent: counted once
    db.session.expire_all()
    return db.session.get(Send, send.id)


def test_the_report_counts_what_happened_after_the_send(finished_send):
    send = finished_send
    assert send.status == SendStatus.DONE
    report = build_report(send)
    totals = report.totals
    assert (totals.recipients, totals.delivered, totals.failed, totals.skipped) == (20, 15, 5, 0)
    assert (totals.bounced_later, totals.complaints, totals.unsubscribes) == (1, 1, 1)
    assert report.failure_reasons == {
        "mailbox-unknown": 1,
        "spam": 1,
        "mailbox-full": 1,
        "refused": 1,
        "other": 1,
    }
    by_language = {s.key: s.figures for s in report.breakdown("language").segments}
    assert list(by_language) == ["cy", "en"]
    assert (by_language["cy"].recipients, by_language["cy"].unsubscribes) == (6, 1)
    assert (by_language["en"].recipients, by_language["en"].failed) == (14, 5)
    assert by_language["en"].bounced_later == 1 and by_language["en"].complaints == 1
    by_region = {s.key: s.figures.recipients for s in report.breakdown("region").segments}
    assert by_region == {"north-wales": 6, "south-east-wales": 13, "none": 1}
    # The unsubscribe names its send in the consent trail (one home: consent_event.send_id).
    unsubscribes = db.session.scalars(
        select(ConsentEvent).where(ConsentEvent.kind == "unsubscribe")
    ).all()
    sources = sorted((e.source, e.send_id) for e in unsubscribes)
    assert sources == [("complaint:smtp", None), ("one-click", send.id)]


def test_the_send_page_csv_and_api_show_the_report(app, finished_send, make_editor, api):
    send = finished_send
    editor = app.test_client()
    sign_in(editor, make_editor(role="editor"))
    page = editor.get(f"/editor/sends/{send.id}?lang=en").get_data(as_text=True)
    assert "Mailbox unknown" in page and "Rejected as spam" in page and "Mailbox full" in page
    assert "fewer than 5" in page  # the region with one reader and the small segments
    assert "@example.com" not in page  # a plain editor sees counts only
    token = {"csrf_token": csrf_token(page)}
    assert editor.post(f"/editor/sends/{send.id}/failed.csv", data=token).status_code == 403

    admin = app.test_client()
    sign_in(admin, make_editor(role="admin"))
    page = admin.get(f"/editor/sends/{send.id}?lang=en").get_data(as_text=True)
    for address in REFUSALS:
        assert address in page
    assert "later@example.com" not in page
    failed = admin.post(
        f"/editor/sends/{send.id}/failed.csv", data={"csrf_token": csrf_token(page)}
    )
    assert failed.status_code == 200 and failed.headers["Cache-Control"] == "no-store"
    rows = list(csv.DictReader(io.StringIO(failed.get_data(as_text=True))))
    assert {row["email"]: row["reason"] for row in rows} == {
        "unknown@example.com": "mailbox-unknown",
        "spam@example.com": "spam",
        "full@example.com": "mailbox-full",
        "refused@example.com": "refused",
        "flaky@example.com": "other",
    }
    assert next(r for r in rows if r["email"] == "flaky@example.com")["attempts"] == "3"

    report_csv = editor.get(f"/editor/sends/{send.id}/report.csv").get_data(as_text=True)
    cells = {(r[0], r[1], r[2]): r[3] for r in csv.reader(io.StringIO(report_csv))}
    assert cells[("total", "", "delivered")] == "15"
    assert cells[("failed_reason", "spam", "failed")] == "1"
    assert cells[("language", "cy", "recipients")] == "6"
    assert cells[("language", "cy", "unsubscribes")] == "fewer than 5"
    assert cells[("region", "none", "recipients")] == "fewer than 5"
    assert "@" not in report_csv

    body = api.get(f"/api/v1/sends/{send.id}/report").get_json()
    assert body["is_final"] is True and body["totals"]["bounced_later"] == 1
    assert body["failure_reasons"]["other"] == 1
    cy = next(s for s in body["breakdowns"]["language"] if s["segment"] == "cy")
    assert cy["recipients"] == 6 and cy["unsubscribes"] is None
