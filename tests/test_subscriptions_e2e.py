"""Sign-up to unsubscribe, end to end, over a real SMTP server and a real database."""

from __future__ import annotations

from bulletin.extensions import db
from bulletin.models import ConsentEvent, Subscriber, SubscriberStatus, Suppression
from tests.conftest import csrf_token
from tests.support.mailtools import html_part, links, text_part


def sign_up(client, email="ffion@example.org", **fields):
    page = client.get("/subscribe?lang=cy")
    data = {
        "csrf_token": csrf_token(page.text),
        "email": email,
        "name": "Ffion",
        "topics": ["workshops", "news"],
        "region": "north-wales",
        "language": "cy",
        "consent": "y",
    }
    data.update(fields)
    return client.post("/subscribe", data=data)


def test_sign_up_confirm_manage_unsubscribe_over_real_smtp(make_app, smtp_server, run_worker_once):
    from bulletin.core.defaults import ensure_defaults
    from tests.conftest import _empty_tables

    app = make_app(SMTP_URL=smtp_server.url)
    with app.app_context():
        _empty_tables()
        ensure_defaults()
    client = app.test_client()

    response = sign_up(client)
    assert response.status_code == 303
    with app.app_context():
        run_worker_once(app)
    [confirmation] = smtp_server.wait_for(1)
    assert confirmation.rcpt_tos == ["ffion@example.org"]
    message = confirmation.message
    assert message.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in message.iter_parts()] == ["text/plain", "text/html"]
    assert message["Message-ID"] and message["Date"]
    assert 'lang="cy"' in html_part(message)
    assert "Cadarnhau" in text_part(message) or "cadarnhau" in text_part(message).lower()
    [confirm_path] = links(message, "/confirm/")

    # A GET (a mail scanner) changes nothing; the POST confirms.
    page = client.get(confirm_path)
    assert page.status_code == 200
    with app.app_context():
        assert db.session.scalar(db.select(Subscriber.status)) == SubscriberStatus.PENDING
    assert client.post(confirm_path, data={"csrf_token": csrf_token(page.text)}).status_code == 200
    with app.app_context():
        subscriber = db.session.scalar(db.select(Subscriber))
        assert subscriber.status == SubscriberStatus.CONFIRMED
        run_worker_once(app)
    welcome = smtp_server.wait_for(2)[1].message
    [manage_path] = links(welcome, "/manage/")

    page = client.get(manage_path)
    assert page.status_code == 200
    response = client.post(
        manage_path,
        data={
            "csrf_token": csrf_token(page.text),
            "topics": ["studies-surveys"],
            "region": "mid-wales",
            "language": "en",
            "name": "Ffion J",
        },
    )
    assert response.status_code == 200
    with app.app_context():
        subscriber = db.session.scalar(db.select(Subscriber))
        assert [t.slug for t in subscriber.topics] == ["studies-surveys"]
        assert (subscriber.region, subscriber.language) == ("mid-wales", "en")
        unsubscribe_token = __import__(
            "bulletin.mail.tokens", fromlist=["x"]
        ).make_unsubscribe_token(subscriber.uid)

    # RFC 8058 one-click: no cookie, no CSRF token, no redirect.
    fresh = app.test_client()
    response = fresh.post(
        f"/unsubscribe/{unsubscribe_token}", data={"List-Unsubscribe": "One-Click"}
    )
    assert response.status_code == 200
    assert "Location" not in response.headers
    assert "Set-Cookie" not in response.headers
    with app.app_context():
        subscriber = db.session.scalar(db.select(Subscriber))
        assert subscriber.status == SubscriberStatus.UNSUBSCRIBED
        kinds = [
            e.kind for e in db.session.scalars(db.select(ConsentEvent).order_by(ConsentEvent.id))
        ]
        assert kinds == ["signup", "confirm", "preferences", "unsubscribe"]
        assert db.session.scalar(db.select(Suppression.reason)) == "unsubscribed"
