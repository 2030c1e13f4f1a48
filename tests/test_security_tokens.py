"""Tokens: a salt per purpose, key rotation, confirmation expiry, one subscriber per token."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import select

from bulletin.extensions import db
from bulletin.mail import tokens
from bulletin.models import Subscriber, SubscriberStatus
from tests.conftest import csrf_token

PURPOSES = tuple(
    p
    for p in tokens.SALTS
    if hasattr(tokens, f"make_{p}_token") and hasattr(tokens, f"read_{p}_token")
)


#: A click token names (send id, link id), not a string: each value gets its own pair.
_CLICK_PAIRS: dict[tuple[int, int], str] = {}


def make(purpose: str, value: str) -> str:
    if purpose == "click":
        pair = (1 + len(value), 1 + sum(map(ord, value)))
        _CLICK_PAIRS[pair] = value
        return tokens.make_click_token(*pair)
    return getattr(tokens, f"make_{purpose}_token")(value)


def read(purpose: str, token: str) -> str:
    if purpose == "click":
        return _CLICK_PAIRS[tokens.read_click_token(token)]
    return getattr(tokens, f"read_{purpose}_token")(token)


def test_each_purpose_has_its_own_salt(app):
    assert len(set(tokens.SALTS.values())) == len(tokens.SALTS)
    for made_for in PURPOSES:
        token = make(made_for, "abc123")
        assert read(made_for, token) == "abc123"
        for other in PURPOSES:
            if other != made_for:
                with pytest.raises(tokens.BadToken):
                    read(other, token)


def test_a_confirm_token_does_not_unsubscribe(client, make_subscriber):
    reader = make_subscriber(status=SubscriberStatus.CONFIRMED)
    response = client.post(
        f"/unsubscribe/{tokens.make_confirm_token(reader.uid)}",
        data={"List-Unsubscribe": "One-Click"},
    )
    assert response.status_code == 400
    db.session.expire_all()
    assert db.session.get(Subscriber, reader.id).status == SubscriberStatus.CONFIRMED


def test_old_key_still_verifies_and_the_new_key_signs(make_app):
    old_app = make_app(SECRET_KEYS=["old-key-0123456789"])
    with old_app.app_context():
        old_tokens = {p: make(p, "uid1") for p in PURPOSES}
    rotated = make_app(SECRET_KEYS=["new-key-9876543210", "old-key-0123456789"])
    with rotated.app_context():
        for purpose, token in old_tokens.items():
            assert read(purpose, token) == "uid1"
        new_tokens = {p: make(p, "uid1") for p in PURPOSES}
    assert new_tokens != old_tokens
    with old_app.app_context():
        for purpose, token in new_tokens.items():
            with pytest.raises(tokens.BadToken):  # signed with the new key, not the old one
                read(purpose, token)
    retired = make_app(SECRET_KEYS=["new-key-9876543210"])
    with retired.app_context():
        assert read("manage", new_tokens["manage"]) == "uid1"
        with pytest.raises(tokens.BadToken):
            read("manage", old_tokens["manage"])


def test_secret_key_setting_is_a_comma_separated_list(monkeypatch):
    import importlib

    import bulletin.config as config

    monkeypatch.setenv("SECRET_KEY", "newest-secret, older-secret ,")
    try:
        reloaded = importlib.reload(config)
        assert reloaded.Config.SECRET_KEYS == ["newest-secret", "older-secret"]
    finally:
        monkeypatch.delenv("SECRET_KEY")
        importlib.reload(config)


def test_confirmation_expires_after_its_max_age(app, client, make_subscriber):
    start = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
    with time_machine.travel(start, tick=False):
        reader = make_subscriber(status=SubscriberStatus.PENDING)
        token = tokens.make_confirm_token(reader.uid)
    days = app.config["CONFIRM_MAX_AGE_DAYS"]
    with time_machine.travel(start + timedelta(days=days) - timedelta(minutes=1), tick=False):
        assert tokens.read_confirm_token(token) == reader.uid
    with time_machine.travel(start + timedelta(days=days, minutes=1), tick=False):
        with pytest.raises(tokens.BadToken) as raised:
            tokens.read_confirm_token(token)
        assert raised.value.reason == "expired"
        page = client.get(f"/confirm/{token}")
        assert page.status_code == 410 and "expired" in page.text
    with time_machine.travel(start + timedelta(days=3 * 365), tick=False):
        # Unsubscribe links in old emails never expire.
        unsubscribe = tokens.make_unsubscribe_token(reader.uid)
    with time_machine.travel(start + timedelta(days=6 * 365), tick=False):
        assert tokens.read_unsubscribe_token(unsubscribe) == reader.uid


def test_a_token_for_one_subscriber_never_acts_on_another(client, make_subscriber):
    alice = make_subscriber("alice@example.org", topics=["news"])
    bob = make_subscriber("bob@example.org", topics=["news"])
    token = tokens.make_manage_token(alice.uid)
    page = client.get(f"/manage/{token}")
    assert "alice@example.org" in page.text and "bob@example.org" not in page.text
    client.post(
        f"/manage/{token}",
        data={
            "csrf_token": csrf_token(page.text),
            "topics": ["workshops"],
            "region": "mid-wales",
            "language": "cy",
        },
    )
    client.post(
        f"/unsubscribe/{tokens.make_unsubscribe_token(alice.uid)}",
        data={"List-Unsubscribe": "One-Click"},
    )
    # Bob's payload under Alice's signature: refused.
    bob_payload = tokens.make_manage_token(bob.uid).rsplit(".", 1)[0]
    forged = bob_payload + "." + token.rsplit(".", 1)[1]
    assert client.get(f"/manage/{forged}").status_code == 400
    db.session.expire_all()
    bob_now = db.session.scalar(select(Subscriber).filter_by(email="bob@example.org"))
    assert bob_now.status == SubscriberStatus.CONFIRMED
    assert [t.slug for t in bob_now.topics] == ["news"] and bob_now.region == "south-east-wales"
    alice_now = db.session.scalar(select(Subscriber).filter_by(email="alice@example.org"))
    assert alice_now.status == SubscriberStatus.UNSUBSCRIBED
    assert [t.slug for t in alice_now.topics] == ["workshops"]
