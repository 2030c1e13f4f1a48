"""The webhook admin pages: admins only, the secret shown once, the log paged, bad input a 400."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bulletin.core import webhooks
from bulletin.extensions import db
from bulletin.models import AuditLog, WebhookDelivery, WebhookEndpoint
from tests.conftest import csrf_token
from tests.factories import sign_in


def add_form(client, **fields):
    token = csrf_token(client.get("/editor/webhooks").get_data(as_text=True))
    data = {"csrf_token": token, "url": "http://127.0.0.1:9/hook", "description": "CRM"}
    data.update(fields)
    return client.post("/editor/webhooks", data=data)


def button(client, path):
    token = csrf_token(client.get("/editor/webhooks").get_data(as_text=True))
    return client.post(path, data={"csrf_token": token})


def test_plain_editors_cannot_open_the_pages(app, make_editor):
    client = app.test_client()
    sign_in(client, make_editor(role="editor"))
    assert client.get("/editor/webhooks").status_code == 403
    assert client.get("/editor/webhooks/1").status_code == 403


def test_an_admin_adds_an_endpoint_and_sees_its_secret_once(editor_client):
    response = add_form(editor_client, events=["subscriber.confirmed", "send.finished"])
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    endpoint = db.session.scalar(select(WebhookEndpoint))
    page = response.get_data(as_text=True)
    assert endpoint.secret in page and endpoint.secret.startswith("whsec_")
    assert endpoint.types == ["subscriber.confirmed", "send.finished"]
    again = editor_client.get(f"/editor/webhooks/{endpoint.id}").get_data(as_text=True)
    assert endpoint.secret not in again
    assert db.session.scalar(select(AuditLog.action)) == "webhook.create"


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"events": []}, "Choose at least one event"),
        ({"url": "", "events": ["send.started"]}, "Enter the receiver"),
        ({"url": "https://x\r\ny", "events": ["send.started"]}, "line breaks"),
        ({"url": "hooks.example.org", "events": ["send.started"]}, "starting https://"),
        ({"url": "http://127.0.0.1/x", "events": ["nonsense"]}, "is not a valid choice"),
    ],
)
def test_bad_input_is_a_400_that_says_what_to_do(editor_client, fields, words):
    response = add_form(editor_client, **fields)
    assert response.status_code == 400
    assert words in response.get_data(as_text=True), response.get_data(as_text=True)[-3000:]
    assert db.session.scalar(select(WebhookEndpoint)) is None


def test_production_refuses_plain_http_in_the_form(app, editor_client):
    app.config["ENV"] = "production"
    try:
        response = add_form(
            editor_client, url="http://hooks.example.org/x", events=["send.started"]
        )
        assert response.status_code == 400
        assert "starting https://" in response.get_data(as_text=True)
        response = add_form(editor_client, url="https://10.0.0.1/x", events=["send.started"])
        assert response.status_code == 400
        assert "private or local network" in response.get_data(as_text=True)
    finally:
        app.config["ENV"] = "testing"
    assert db.session.scalar(select(WebhookEndpoint)) is None


def test_rotate_drop_switch_off_and_on(editor_client):
    endpoint = webhooks.create_endpoint("http://127.0.0.1:9/hook", ["send.started"])
    db.session.commit()
    old = endpoint.secret
    response = button(editor_client, f"/editor/webhooks/{endpoint.id}/rotate")
    db.session.expire_all()
    assert endpoint.previous_secret == old and endpoint.secret != old
    assert endpoint.secret in response.get_data(as_text=True)
    button(editor_client, f"/editor/webhooks/{endpoint.id}/drop-old-secret")
    db.session.expire_all()
    assert endpoint.previous_secret is None
    webhooks.emit("send.started", {"id": 1})
    db.session.commit()
    button(editor_client, f"/editor/webhooks/{endpoint.id}/disable")
    db.session.expire_all()
    assert not endpoint.active and endpoint.disabled_reason == "admin"
    assert db.session.scalar(select(WebhookDelivery.status)) == "failed"
    button(editor_client, f"/editor/webhooks/{endpoint.id}/enable")
    db.session.expire_all()
    assert endpoint.active and endpoint.disabled_at is None
    actions = db.session.scalars(select(AuditLog.action).order_by(AuditLog.id)).all()
    assert actions == [
        "webhook.rotate",
        "webhook.drop-old-secret",
        "webhook.disable",
        "webhook.enable",
    ]


def test_a_button_without_its_token_is_refused(editor_client):
    endpoint = webhooks.create_endpoint("http://127.0.0.1:9/hook", ["send.started"])
    db.session.commit()
    assert editor_client.post(f"/editor/webhooks/{endpoint.id}/rotate").status_code == 400
    assert editor_client.post("/editor/webhooks/999/rotate", data={}).status_code == 400


def test_the_delivery_log_is_paged(editor_client):
    endpoint = webhooks.create_endpoint("http://127.0.0.1:9/hook", ["send.started"])
    db.session.commit()
    for number in range(55):
        webhooks.emit("send.started", {"id": number})
    db.session.commit()
    first = editor_client.get(f"/editor/webhooks/{endpoint.id}").get_data(as_text=True)
    second = editor_client.get(f"/editor/webhooks/{endpoint.id}?page=2").get_data(as_text=True)
    assert first.count("<code>send.started</code><br>") == 50
    assert second.count("<code>send.started</code><br>") == 5
    assert "Older deliveries" in first and "Newer deliveries" in second
    for lang in ("cy", "en"):
        assert editor_client.get(f"/editor/webhooks/{endpoint.id}?lang={lang}").status_code == 200
    assert editor_client.get("/editor/webhooks/999").status_code == 404
