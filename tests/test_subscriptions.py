"""The public door: validation, no enumeration, caps, tokens, erasure."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import func, select

from bulletin.extensions import db
from bulletin.mail import tokens
from bulletin.models import (
    ConsentEvent,
    OutboxMessage,
    Subscriber,
    SubscriberStatus,
    Suppression,
    utcnow,
)
from tests.conftest import csrf_token


def counts() -> tuple[int, int, int]:
    return tuple(
        db.session.scalar(select(func.count()).select_from(model))
        for model in (Subscriber, ConsentEvent, OutboxMessage)
    )


def form_data(client, **overrides) -> dict:
    page = client.get("/subscribe")
    data = {
        "csrf_token": csrf_token(page.text),
        "email": "Rhys@Example.ORG",
        "name": "Rhys",
        "topics": ["workshops"],
        "region": "mid-wales",
        "language": "en",
        "consent": "y",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def test_sign_up_records_pending_subscriber_consent_and_confirmation(client, app):
    response = client.post(
        "/subscribe", data=form_data(client), environ_base={"REMOTE_ADDR": "10.1.2.3"}
    )
    assert response.status_code == 303
    subscriber = db.session.scalar(select(Subscriber))
    assert subscriber.email == "Rhys@example.org"  # domain lower-cased, local part kept
    assert subscriber.status == SubscriberStatus.PENDING
    event = db.session.scalar(select(ConsentEvent))
    assert event.kind == "signup" and event.wording_version and event.ip_hash
    assert "10.1.2.3" not in event.ip_hash and "Rhys@" not in (event.details or "")
    [mail] = db.session.scalars(select(OutboxMessage)).all()
    assert mail.kind == "confirm" and mail.subscriber_id == subscriber.id


def test_internationalised_domain_is_stored_in_ascii(client):
    client.post("/subscribe", data=form_data(client, email="gwen@Enghraifft-ŵ.cymru"))
    ascii_label = "enghraifft-ŵ".encode("idna").decode()
    assert ascii_label.startswith("xn--")
    assert db.session.scalar(select(Subscriber.email)) == f"gwen@{ascii_label}.cymru"


@pytest.mark.parametrize(
    "overrides",
    [
        {"email": "not-an-address"},
        {"email": "two@@example.org"},
        {"email": "a@b"},
        {"email": ""},
        {"email": "x" * 10_000 + "@example.org"},
        {"name": "n" * 10_000},
        {"name": "Rhys\r\nBcc: victim@example.org"},
        {"name": "tab\tname"},
        {"topics": ["no-such-topic"]},
        {"topics": ["w" * 10_000]},
        {"topics": None},
        {"region": "atlantis"},
        {"region": "r" * 10_000},
        {"language": "fr"},
        {"consent": None},
        {"csrf_token": None},
        {"csrf_token": "forged"},
    ],
)
def test_bad_sign_up_is_refused_with_a_clear_page_and_stores_nothing(client, overrides):
    before = counts()
    response = client.post("/subscribe", data=form_data(client, **overrides))
    assert response.status_code == 400
    assert "There is a problem" in response.text or "This form has expired" in response.text
    assert counts() == before


def test_error_page_links_each_error_to_its_field(client):
    response = client.post("/subscribe", data=form_data(client, email="nope", consent=None))
    assert response.text.count('class="field-error"') == 2
    assert (
        'href="#email"' in response.text
        and 'aria-describedby="email-hint email-error"' in response.text
    )
    assert "<title>Error:" in response.text


def test_response_is_the_same_whatever_the_address_state(client, make_subscriber):
    make_subscriber("pending@example.org", status=SubscriberStatus.PENDING)
    make_subscriber("confirmed@example.org", status=SubscriberStatus.CONFIRMED)
    make_subscriber("left@example.org", status=SubscriberStatus.UNSUBSCRIBED)
    answers = set()
    for address in (
        "new@example.org",
        "pending@example.org",
        "confirmed@example.org",
        "left@example.org",
    ):
        response = client.post("/subscribe", data=form_data(client, email=address))
        followed = client.get(response.headers["Location"])
        answers.add(
            (response.status_code, response.headers["Location"], response.data, followed.data)
        )
    assert len(answers) == 1
    kinds = dict(
        db.session.execute(
            select(Subscriber.email, OutboxMessage.kind).join(OutboxMessage.subscriber)
        ).all()
    )
    assert kinds == {
        "new@example.org": "confirm",
        "pending@example.org": "confirm",
        "confirmed@example.org": "already-subscribed",
        "left@example.org": "confirm",
    }
    left = db.session.scalar(select(Subscriber).filter_by(email="left@example.org"))
    assert left.status == SubscriberStatus.PENDING  # must confirm again


def test_confirmed_subscriber_choices_cannot_be_changed_by_a_typed_address(client, make_subscriber):
    subscriber = make_subscriber("keep@example.org", region="north-wales", topics=["news"])
    client.post("/subscribe", data=form_data(client, email="keep@example.org", region="mid-wales"))
    db.session.refresh(subscriber)
    assert subscriber.region == "north-wales" and [t.slug for t in subscriber.topics] == ["news"]


def test_at_most_three_mails_per_address_per_day(client):
    for _ in range(6):
        assert client.post("/subscribe", data=form_data(client)).status_code == 303
    assert db.session.scalar(select(func.count(OutboxMessage.id))) == 3
    with time_machine.travel(utcnow() + timedelta(hours=25)):
        client.post("/subscribe", data=form_data(client))
        assert db.session.scalar(select(func.count(OutboxMessage.id))) == 4


def test_honeypot_is_answered_the_same_and_records_nothing(client):
    response = client.post("/subscribe", data=form_data(client, website="http://spam"))
    assert response.status_code == 303
    assert counts() == (0, 0, 0)


def test_per_ip_limit_answers_429(make_app):
    app = make_app(SUBSCRIBE_RATE_LIMIT="2 per minute")
    client = app.test_client()
    with app.app_context():
        statuses = [
            client.post("/subscribe", data=form_data(client, email=f"p{i}@example.org")).status_code
            for i in range(3)
        ]
        db.session.rollback()
    assert statuses == [303, 303, 429]


def _pending(client) -> Subscriber:
    client.post("/subscribe", data=form_data(client))
    return db.session.scalar(select(Subscriber))


def test_confirm_get_changes_nothing_post_confirms_and_replay_is_harmless(client):
    subscriber = _pending(client)
    token = tokens.make_confirm_token(subscriber.uid)
    page = client.get(f"/confirm/{token}")
    assert page.status_code == 200 and '<form method="post">' in page.text
    db.session.refresh(subscriber)
    assert subscriber.status == SubscriberStatus.PENDING
    assert (
        client.post(f"/confirm/{token}", data={"csrf_token": csrf_token(page.text)}).status_code
        == 200
    )
    assert (
        client.post(f"/confirm/{token}", data={"csrf_token": csrf_token(page.text)}).status_code
        == 200
    )
    db.session.refresh(subscriber)
    assert subscriber.status == SubscriberStatus.CONFIRMED
    kinds = db.session.scalars(select(OutboxMessage.kind).order_by(OutboxMessage.id)).all()
    assert kinds == ["confirm", "welcome"]
    assert db.session.scalar(select(func.count()).where(ConsentEvent.kind == "confirm")) == 1


@pytest.mark.parametrize(
    "make_token, status",
    [
        (lambda uid: tokens.make_confirm_token(uid)[:-2] + "xx", 400),  # tampered
        (lambda uid: tokens.make_unsubscribe_token(uid), 400),  # wrong purpose
        (lambda uid: tokens.make_manage_token(uid), 400),
        (lambda uid: "garbage", 400),
    ],
)
def test_bad_confirm_tokens_get_a_clear_4xx_page(client, make_token, status):
    subscriber = _pending(client)
    response = client.get(f"/confirm/{make_token(subscriber.uid)}")
    assert response.status_code == status
    assert "This link does not work" in response.text and "/manage" in response.text
    db.session.refresh(subscriber)
    assert subscriber.status == SubscriberStatus.PENDING


def test_expired_confirm_token_is_refused_with_a_way_to_ask_again(client, app):
    subscriber = _pending(client)
    token = tokens.make_confirm_token(subscriber.uid)
    with time_machine.travel(utcnow() + timedelta(days=8)):
        response = client.get(f"/confirm/{token}?lang=cy")
    assert response.status_code == 410
    assert 'lang="cy"' in response.text and 'href="/subscribe"' in response.text


def test_confirm_token_after_unsubscribing_cannot_resubscribe(client):
    subscriber = _pending(client)
    token = tokens.make_confirm_token(subscriber.uid)
    subscriber.status = SubscriberStatus.UNSUBSCRIBED
    db.session.commit()
    assert client.get(f"/confirm/{token}").status_code == 410


def test_token_for_one_subscriber_never_acts_on_another(client, make_subscriber):
    first = make_subscriber("one@example.org")
    second = make_subscriber("two@example.org")
    client.post(
        f"/unsubscribe/{tokens.make_unsubscribe_token(first.uid)}",
        data={"List-Unsubscribe": "One-Click"},
    )
    db.session.refresh(first), db.session.refresh(second)
    assert (first.status, second.status) == ("unsubscribed", "confirmed")


@pytest.mark.parametrize(
    "content_type", ["application/x-www-form-urlencoded", "multipart/form-data"]
)
def test_one_click_unsubscribe_is_idempotent_in_both_encodings(app, make_subscriber, content_type):
    subscriber = make_subscriber()
    url = f"/unsubscribe/{tokens.make_unsubscribe_token(subscriber.uid)}"
    client = app.test_client()
    assert client.get(url).status_code == 200
    db.session.refresh(subscriber)
    assert subscriber.status == SubscriberStatus.CONFIRMED  # GET changes nothing
    for _ in range(3):
        response = client.post(
            url, data={"List-Unsubscribe": "One-Click"}, content_type=content_type
        )
        assert response.status_code == 200 and "Location" not in response.headers
        assert "Set-Cookie" not in response.headers
    db.session.refresh(subscriber)
    assert subscriber.status == SubscriberStatus.UNSUBSCRIBED
    assert db.session.scalar(select(func.count()).where(ConsentEvent.kind == "unsubscribe")) == 1


def test_old_unsubscribe_token_still_works_after_two_years(client, make_subscriber):
    subscriber = make_subscriber()
    token = tokens.make_unsubscribe_token(subscriber.uid)
    with time_machine.travel(utcnow() + timedelta(days=730)):
        assert (
            client.post(f"/unsubscribe/{token}", data={"List-Unsubscribe": "One-Click"}).status_code
            == 200
        )


def test_tampered_unsubscribe_token_changes_nothing(client, make_subscriber):
    subscriber = make_subscriber()
    token = tokens.make_unsubscribe_token(subscriber.uid)
    flipped = token[:5] + ("A" if token[5] != "A" else "B") + token[6:]
    assert (
        client.post(f"/unsubscribe/{flipped}", data={"List-Unsubscribe": "One-Click"}).status_code
        == 400
    )
    db.session.refresh(subscriber)
    assert subscriber.status == SubscriberStatus.CONFIRMED


def test_secret_rotation_old_key_verifies_new_key_signs(make_app, make_subscriber):
    subscriber = make_subscriber()
    old_token = tokens.make_unsubscribe_token(subscriber.uid)
    rotated = make_app(SECRET_KEYS=["new-secret", "test-secret-key"])
    with rotated.app_context():
        assert tokens.read_unsubscribe_token(old_token) == subscriber.uid
        new_token = tokens.make_unsubscribe_token(subscriber.uid)
    assert new_token != old_token
    only_new = make_app(SECRET_KEYS=["new-secret"])
    with only_new.app_context():
        assert tokens.read_unsubscribe_token(new_token) == subscriber.uid
        with pytest.raises(tokens.BadToken):
            tokens.read_unsubscribe_token(old_token)


def test_manage_download_and_erase(client, make_subscriber):
    subscriber = make_subscriber("erase.me@example.org", name="Erin", topics=["news"])
    token = tokens.make_manage_token(subscriber.uid)
    page = client.get(f"/manage/{token}")
    data = client.post(f"/manage/{token}/data", data={"csrf_token": csrf_token(page.text)})
    exported = json.loads(data.data)
    assert exported["profile"]["email"] == "erase.me@example.org" and exported["topics"] == ["news"]
    assert "attachment" in data.headers["Content-Disposition"]
    assert data.headers["Cache-Control"] == "no-store"
    page = client.get(f"/manage/{token}/erase")
    assert (
        client.post(
            f"/manage/{token}/erase", data={"csrf_token": csrf_token(page.text)}
        ).status_code
        == 200
    )
    assert db.session.scalar(select(func.count(Subscriber.id))) == 0
    assert db.session.scalar(select(Suppression.reason)) == "erased"
    events = db.session.scalars(select(ConsentEvent)).all()
    assert [e.kind for e in events] == ["erasure"] and events[0].subscriber_id is None
    assert client.get(f"/manage/{token}").status_code == 404


def test_manage_link_request_is_the_same_for_everyone(client, make_subscriber):
    make_subscriber("here@example.org")
    answers = set()
    for address in ("here@example.org", "nobody@example.org"):
        page = client.get("/manage")
        response = client.post(
            "/manage", data={"csrf_token": csrf_token(page.text), "email": address}
        )
        answers.add((response.status_code, response.headers.get("Location")))
    assert answers == {(303, "/subscribe/check-your-email")}
    assert db.session.scalars(select(OutboxMessage.kind)).all() == ["manage-link"]


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"HASH_KEY": None}, "HASH_KEY"),
        ({"DKIM_SELECTOR": "sel"}, "DKIM"),
        (
            {
                "DKIM_SELECTOR": "sel",
                "DKIM_DOMAIN": "example.org",
                "DKIM_PRIVATE_KEY_PATH": "/nonexistent/key.pem",
            },
            "not readable",
        ),
    ],
)
def test_production_refuses_an_unsafe_configuration(overrides, message):
    from bulletin import create_app
    from tests.conftest import config_for

    settings = config_for(
        ENV="production",
        SECRET_KEYS=["a-long-random-production-secret"],
        HASH_KEY="a-long-random-hash-key",
        DATABASE_URL="sqlite://",
    )
    settings.update(overrides)
    with pytest.raises(RuntimeError, match=message):
        create_app(settings)


def test_production_starts_with_a_complete_configuration():
    from bulletin import create_app
    from tests.conftest import config_for

    app = create_app(
        config_for(
            ENV="production",
            SECRET_KEYS=["a-long-random-production-secret"],
            HASH_KEY="a-long-random-hash-key",
            DATABASE_URL="sqlite://",
        )
    )
    assert app.config["SECRET_KEY"] == "a-long-random-production-secret"
