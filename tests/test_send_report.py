"""A send's report: unsubscribe links that name their send, the failure groups, the send
page (only once the send has ended; addresses for admins only) and the issue page's links."""

from __future__ import annotations

import csv
import io
import uuid

import pytest
from sqlalchemy import select

from bulletin.bounces.classify.reply import failure_reason
from bulletin.core.send_report import build_report
from bulletin.extensions import db
from bulletin.mail import tokens
from bulletin.models import ConsentEvent, Delivery, Send, SendStatus, SubscriberStatus, utcnow
from tests.conftest import csrf_token
from tests.factories import sign_in


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        ("550 5.1.1 <a@example.com>: Recipient address rejected: User unknown", "mailbox-unknown"),
        ("550 5.1.2 Host or domain name not found", "mailbox-unknown"),
        ("550 5.7.1 Message rejected as spam", "spam"),
        ("554 5.7.1 Service unavailable; client host blocked using zen.spamhaus.org", "spam"),
        ("552 5.2.2 Mailbox full", "mailbox-full"),
        ("452 4.2.2 Mailbox over quota", "mailbox-full"),
        ("554 5.0.0 Transaction failed", "refused"),
        ("451 4.3.0 Try again later", "other"),
        (None, "other"),
    ],
)
def test_failure_groups_follow_the_bounce_classifiers_verdict(reply, reason):
    assert failure_reason(reply) == reason


def test_an_issue_unsubscribe_token_names_its_send_and_old_tokens_still_work(app):
    uid = uuid.uuid4().hex  # as random as a subscriber's (zlib shortens none of it)
    with_send = tokens.make_unsubscribe_token(uid, 42)
    assert tokens.read_unsubscribe_link(with_send) == (uid, 42)
    assert tokens.read_unsubscribe_token(with_send) == uid
    # The fast bulk maker makes the very same token.
    value = tokens.unsubscribe_value(uid, 42)
    assert tokens.plain_token_maker("unsubscribe")(value) == with_send
    assert tokens.read_unsubscribe_link(tokens.make_unsubscribe_token(uid)) == (uid, None)
    for odd in ([uid, "42"], [uid, 0], [uid, 42, 1], [42, uid], {"u": uid}):
        forged = tokens._plain("unsubscribe").dumps(odd)  # signed, but not a shape we make
        with pytest.raises(tokens.BadToken):
            tokens.read_unsubscribe_link(forged)
    with pytest.raises(tokens.BadToken):
        tokens.read_unsubscribe_link(with_send[:-2] + "xx")


def _done_send(issue, subscribers, status="sent", reply=None) -> Send:
    send = Send(issue=issue, audience="{}", status=SendStatus.DONE, started_at=utcnow())
    db.session.add(send)
    db.session.flush()
    for subscriber in subscribers:
        db.session.add(
            Delivery(
                send_id=send.id,
                subscriber_id=subscriber.id,
                language=subscriber.language,
                status=status,
                last_reply=reply,
            )
        )
    db.session.commit()
    return send


def test_the_unsubscribe_page_records_the_send_an_old_link_records_none(
    client, make_issue, make_subscriber
):
    new, old = make_subscriber(), make_subscriber()
    send = _done_send(make_issue("March"), [new, old])
    for reader, token in (
        (new, tokens.make_unsubscribe_token(new.uid, send.id)),
        (old, tokens.make_unsubscribe_token(old.uid)),
    ):
        url = f"/unsubscribe/{token}"
        assert "<form" in client.get(url).get_data(as_text=True)
        assert client.post(url).status_code == 200  # the page's button, not the one-click
        assert reader.status == SubscriberStatus.UNSUBSCRIBED
    events = db.session.execute(
        select(ConsentEvent.subscriber_id, ConsentEvent.send_id, ConsentEvent.source).filter_by(
            kind="unsubscribe"
        )
    ).all()
    assert sorted(events) == sorted(
        [(new.id, send.id, "web:/unsubscribe"), (old.id, None, "web:/unsubscribe")]
    )
    assert build_report(send).totals.unsubscribes == 1


def test_the_report_shows_once_the_send_has_ended_and_the_issue_page_links_it(
    app, editor_client, make_issue, make_subscriber
):
    readers = [make_subscriber() for _ in range(6)]
    issue = make_issue("March")
    send = _done_send(issue, readers[:5])
    db.session.add(Delivery(send_id=send.id, subscriber_id=readers[5].id, language="en"))
    send.status = SendStatus.SENDING
    db.session.commit()
    page = editor_client.get(f"/editor/sends/{send.id}?lang=en").get_data(as_text=True)
    assert 'id="report"' not in page

    send.status = SendStatus.DONE
    db.session.commit()
    page = editor_client.get(f"/editor/sends/{send.id}?lang=en").get_data(as_text=True)
    assert 'id="report"' in page and "Download the report (CSV)" in page
    assert "No delivery failed." in page
    issue_page = editor_client.get(f"/editor/issues/{issue.id}").get_data(as_text=True)
    assert f'href="/editor/sends/{send.id}#report"' in issue_page
    welsh = editor_client.get(f"/editor/sends/{send.id}?lang=cy").get_data(as_text=True)
    assert "Adroddiad" in welsh and "Yn ôl rhanbarth" in welsh


def test_failed_addresses_are_for_admins_and_their_csv_is_safe_in_a_spreadsheet(
    app, editor_client, make_editor, make_issue, make_subscriber
):
    readers = [make_subscriber(f"gone{i}@example.com") for i in range(2)]
    send = _done_send(make_issue("March"), readers, "failed", "=HYPERLINK(1) 550 5.1.1 gone")
    page = editor_client.get(f"/editor/sends/{send.id}?lang=en").get_data(as_text=True)
    assert "gone0@example.com" in page and "Only admins see this list." in page
    response = editor_client.post(
        f"/editor/sends/{send.id}/failed.csv", data={"csrf_token": csrf_token(page)}
    )
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [r["email"] for r in rows] == ["gone0@example.com", "gone1@example.com"]
    assert all(r["reply"].startswith("'=") for r in rows)  # not a formula
    assert editor_client.post(f"/editor/sends/{send.id}/failed.csv").status_code == 400

    plain = app.test_client()
    sign_in(plain, make_editor(role="editor"))
    page = plain.get(f"/editor/sends/{send.id}?lang=en").get_data(as_text=True)
    assert "gone0@example.com" not in page and "Failed addresses" not in page
    refused = plain.post(
        f"/editor/sends/{send.id}/failed.csv", data={"csrf_token": csrf_token(page)}
    )
    assert refused.status_code == 403 and "@example.com" not in refused.get_data(as_text=True)
    assert plain.get(f"/editor/sends/{send.id}/report.csv").status_code == 200
    assert app.test_client().get(f"/editor/sends/{send.id}/report.csv").status_code == 302
