"""The subscriber API and token scopes: double opt-in over real SMTP, consent evidence,
look-up, preferences, erasure; a token does only what its scopes allow."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from flask_migrate import upgrade
from sqlalchemy import select, text

from bulletin import create_app
from bulletin.cli import main
from bulletin.core import api_tokens
from bulletin.core.consent import VERSION, consent_trail
from bulletin.extensions import db
from bulletin.mail.pseudonyms import hash_address
from bulletin.models import (
    ApiToken,
    AuditLog,
    ConsentEvent,
    Subscriber,
    SubscriberStatus,
    Suppression,
    utcnow,
)
from tests.conftest import config_for, csrf_token
from tests.support.api_fixtures import ApiClient
from tests.support.mailtools import links, text_part
from tests.test_api_tokens_admin import TOKEN_RE
from tests.test_privacy_erasure import find_traces

NEW = {"topics": ["workshops"], "region": "north-wales", "language": "cy"}
EVIDENCE = {
    "date": "2026-11-20",
    "source": "Paper form, Cardiff open day",
    "wording_version": VERSION,
}


# --- Scopes -------------------------------------------------------------------------------


def test_a_token_with_the_default_scopes_keeps_todays_rights_and_no_more(api):
    assert api.get("/api/v1/workshops").status_code == 200
    assert api.post("/api/v1/issues", json={"subject_en": "March"}).status_code == 201
    assert api.get("/api/v1/sends").status_code == 200
    response = api.get("/api/v1/subscribers?email=a@example.org")
    assert response.status_code == 403
    body = response.get_json()
    assert body["missing_scope"] == "subscribers:read" and "subscribers:read" in body["detail"]
    assert api.delete("/api/v1/subscribers/1").get_json()["missing_scope"] == "subscribers:write"


def test_a_token_lacking_a_scope_gets_403_naming_it(app, make_api_token):
    _row, token = make_api_token(scopes=["catalogue"])
    api = ApiClient(app.test_client(), token, None)
    assert api.get("/api/v1/topics").status_code == 200
    response = api.post("/api/v1/issues", json={"subject_en": "x"})
    assert response.status_code == 403 and response.get_json()["missing_scope"] == "issues"
    assert api.get("/api/v1/subscribers/counts").get_json()["missing_scope"] == "sends"


def test_every_operation_documents_the_scope_it_needs(client):
    document = client.get("/api/v1/openapi.json").get_json()
    needed = {
        (path, method): spec.get("x-required-scope")
        for path, methods in document["paths"].items()
        for method, spec in methods.items()
    }
    assert needed[("/subscribers", "get")] == "subscribers:read"
    assert needed[("/subscribers/{subscriber_id}", "delete")] == "subscribers:write"
    assert needed[("/workshops", "post")] == "catalogue"
    assert needed.pop(("/openapi.json", "get")) is None
    assert set(needed.values()) == set(api_tokens.SCOPES)
    spec = document["paths"]["/subscribers"]["get"]
    assert spec["security"] == [{"bearerAuth": ["subscribers:read"]}] and "403" in spec["responses"]


def test_migration_gives_existing_tokens_catalogue_issues_and_sends(tmp_path):
    app = create_app(config_for(DATABASE_URL=f"sqlite:///{tmp_path / 'm.sqlite3'}"))
    with app.app_context():
        upgrade(revision="33a6d70da859")
        with db.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO editor (email, role, password_hash, is_active_account, "
                    "created_at, failed_login_count) VALUES "
                    "('old@example.org', 'admin', 'x', 1, '2026-01-01 00:00:00', 0)"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO api_token (name, token_hash, editor_id, created_at) "
                    "VALUES ('old', 'h', 1, '2026-01-01 00:00:00')"
                )
            )
        upgrade()
        row = db.session.scalar(select(ApiToken))
        assert row.scopes == "catalogue issues sends"
        assert api_tokens.scopes_of(row) == api_tokens.DEFAULT_SCOPES  # an admin's, even
        db.session.remove()
        db.engine.dispose()


def test_a_plain_editor_cannot_be_given_the_subscriber_scopes(
    app, editor_client, make_editor, runner
):
    writer = make_editor("writer@example.org")
    with pytest.raises(api_tokens.ScopeRefused):
        api_tokens.issue_token(writer, "x", scopes=["subscribers:read"])
    with pytest.raises(api_tokens.ScopeRefused):
        api_tokens.issue_token(writer, "x", scopes=["everything"])
    page = editor_client.get("/editor/api-tokens").text
    assert "subscribers:write" in page and "Subscribers: look one up" in page
    response = editor_client.post(
        "/editor/api-tokens",
        data={
            "csrf_token": csrf_token(page),
            "name": "Sync",
            "editor": writer.id,
            "scopes": ["catalogue", "subscribers:write"],
        },
    )
    assert response.status_code == 400
    assert "Only a token acting as an admin may read or change subscribers" in response.text
    result = runner.invoke(
        main,
        ["api-token", "create", "--editor", "writer@example.org", "--name", "x"]
        + ["--scope", "subscribers:read"],
    )
    assert result.exit_code != 0 and "admin" in result.output
    db.session.rollback()
    assert db.session.scalar(select(ApiToken)) is None


def test_an_admin_ticks_the_subscriber_scopes_for_an_admin_token(app, editor_client):
    page = editor_client.get("/editor/api-tokens").text
    response = editor_client.post(
        "/editor/api-tokens",
        data={
            "csrf_token": csrf_token(page),
            "name": "CRM sync",
            "editor": editor_client.editor.id,
            "scopes": ["subscribers:read", "subscribers:write"],
        },
    )
    assert response.status_code == 200
    row = db.session.scalar(select(ApiToken))
    assert row.scopes == "subscribers:read subscribers:write"
    token = TOKEN_RE.search(response.text).group(1)
    api = ApiClient(app.test_client(), token, None)
    assert api.get("/api/v1/subscribers?email=no@example.org").status_code == 404
    assert api.get("/api/v1/workshops").get_json()["missing_scope"] == "catalogue"
    audit = db.session.scalar(select(AuditLog).where(AuditLog.action == "api_token.create"))
    assert json.loads(audit.detail)["scopes"] == ["subscribers:read", "subscribers:write"]


def test_the_cli_grants_scopes(app, runner, make_editor):
    make_editor("boss@example.org", role="admin")
    args = ["api-token", "create", "--editor", "boss@example.org", "--name", "CRM"]
    result = runner.invoke(main, [*args, "--scope", "subscribers:read", "--scope", "sends"])
    assert result.exit_code == 0, result.output
    assert db.session.scalar(select(ApiToken.scopes)) == "sends subscribers:read"
    listed = runner.invoke(main, ["api-token", "list"]).output
    assert "sends subscribers:read" in listed
    assert runner.invoke(main, [*args, "--scope", "everything"]).exit_code != 0


def test_a_demoted_admins_token_loses_the_subscriber_scopes(admin_api, make_subscriber):
    make_subscriber("a@example.org")
    assert admin_api.get("/api/v1/subscribers?email=a@example.org").status_code == 200
    admin_api.editor.role = "editor"
    db.session.commit()
    assert admin_api.get("/api/v1/subscribers?email=a@example.org").status_code == 403


# --- POST: the double opt-in, and consent evidence ------------------------------------------


@pytest.fixture
def smtp_app(make_app, smtp_server, make_api_token):
    from bulletin.core.defaults import ensure_defaults
    from tests.conftest import _empty_tables

    app = make_app(SMTP_URL=smtp_server.url)
    with app.app_context():
        _empty_tables()
        ensure_defaults()
        yield app


def test_post_starts_the_double_opt_in_and_answers_the_same_for_a_known_address(
    smtp_app, smtp_server, make_subscriber, make_api_token, run_worker_once
):
    make_subscriber("Known@example.org", topics=["news"], region="mid-wales")
    _row, token = make_api_token("admin", scopes=["subscribers:write"])
    api = ApiClient(smtp_app.test_client(), token, None)
    fresh = api.post("/api/v1/subscribers", json={"email": " Newbie@Example.ORG ", **NEW})
    known = api.post("/api/v1/subscribers", json={"email": "known@EXAMPLE.org", **NEW})
    assert fresh.status_code == known.status_code == 202
    assert fresh.get_json() == known.get_json()
    run_worker_once(smtp_app)
    mails = {m.rcpt_tos[0]: m.message for m in smtp_server.wait_for(2)}
    assert set(mails) == {"Newbie@example.org", "Known@example.org"}
    assert links(mails["Newbie@example.org"], "/confirm/")  # a real confirmation link
    assert not links(mails["Known@example.org"], "/confirm/")  # "already subscribed"
    assert "cadarnhau" in text_part(mails["Newbie@example.org"]).lower()  # in Welsh, as asked
    newbie = db.session.scalar(select(Subscriber).filter_by(email_key="newbie@example.org"))
    assert (newbie.status, newbie.region, [t.slug for t in newbie.topics]) == (
        SubscriberStatus.PENDING,
        "north-wales",
        ["workshops"],
    )
    known_row = db.session.scalar(select(Subscriber).filter_by(email_key="known@example.org"))
    assert known_row.region == "mid-wales"  # a confirmed reader's choices stay theirs
    [signup] = consent_trail(newbie.uid)
    assert (signup.kind, signup.source, signup.wording_version) == ("signup", "api", VERSION)
    actions = db.session.scalars(select(AuditLog.action).order_by(AuditLog.id)).all()
    assert actions[-2:] == ["subscriber.api_signup", "subscriber.api_signup"]
    # Nowhere but the subscriber rows: not the audit log, not the consent trail.
    traces = find_traces(["newbie@example.org", "known@example.org"])
    assert set(traces) == {"subscriber.email", "subscriber.email_key"}


def test_an_admin_adds_a_confirmed_subscriber_with_consent_evidence(admin_api):
    response = admin_api.post(
        "/api/v1/subscribers", json={"email": "Paper@example.org", **NEW, "consent": EVIDENCE}
    )
    assert response.status_code == 201, response.text
    body = response.get_json()
    assert (body["status"], body["language"], body["topics"]) == ("confirmed", "cy", ["workshops"])
    subscriber = db.session.get(Subscriber, body["id"])
    assert subscriber.confirmed_at.date().isoformat() in ("2026-11-19", "2026-11-20")
    [event] = consent_trail(subscriber.uid)
    details = json.loads(event.details)
    assert (event.kind, event.wording_version, event.source) == ("consent-evidence", VERSION, "api")
    assert details["consent_source"] == EVIDENCE["source"]
    assert details["consent_date"].startswith("2026-11-")
    assert "Paper@example.org" not in event.details
    audit = db.session.scalar(select(AuditLog).where(AuditLog.action == "subscriber.api_add"))
    assert audit.target_id == subscriber.id and audit.editor_id == admin_api.editor.id
    again = admin_api.post(
        "/api/v1/subscribers", json={"email": "paper@EXAMPLE.org", **NEW, "consent": EVIDENCE}
    )
    assert again.status_code == 409 and "already a subscriber" in again.get_json()["detail"]


def test_consent_evidence_is_checked(admin_api):
    def post(email, **consent):
        body = {"email": email, **NEW, "consent": {**EVIDENCE, **consent}}
        return admin_api.post("/api/v1/subscribers", json=body)

    tomorrow = (utcnow() + timedelta(days=3)).date().isoformat()
    future = post("a@example.org", date=tomorrow)
    assert future.status_code == 422 and future.get_json()["errors"][0]["field"] == "consent.date"
    unknown = post("b@example.org", wording_version="1999-v0")
    assert unknown.status_code == 422
    assert VERSION in unknown.get_json()["errors"][0]["message"]
    assert post("c@example.org", date="2026-02-31").status_code == 422
    db.session.add(Suppression(address_hash=hash_address("gone@example.org"), reason="erased"))
    db.session.commit()
    suppressed = post("gone@example.org")
    assert suppressed.status_code == 409 and "suppression list" in suppressed.get_json()["detail"]
    assert db.session.scalar(select(Subscriber)) is None


def test_post_refuses_bad_values_with_a_clear_problem(admin_api):
    def problems(body):
        response = admin_api.post("/api/v1/subscribers", json=body)
        assert response.status_code == 422, response.text
        return {e["field"]: e["message"] for e in response.get_json()["errors"]}

    assert (
        "Unknown or inactive topic: no-such"
        in problems({"email": "a@example.org", **NEW, "topics": ["no-such"]})["topics"]
    )
    assert "email address" in problems({"email": "not-an-address", **NEW})["email"]
    assert "topics" in problems({"email": "a@example.org", **NEW, "topics": []})
    assert "region" in problems({"email": "a@example.org", **NEW, "region": "mars"})
    assert db.session.scalar(select(Subscriber)) is None


# --- GET, PATCH, DELETE -----------------------------------------------------------------


def test_get_finds_a_subscriber_by_address_however_spelt(admin_api, make_subscriber):
    subscriber = make_subscriber("Rhys.Evans@example.org", language="cy", topics=["news"])
    response = admin_api.get("/api/v1/subscribers?email=%20RHYS.EVANS@Example.ORG")
    assert response.status_code == 200
    body = response.get_json()
    assert body["id"] == subscriber.id and body["email"] == "Rhys.Evans@example.org"
    assert (body["status"], body["language"], body["region"], body["topics"]) == (
        "confirmed",
        "cy",
        "south-east-wales",
        ["news"],
    )
    assert body["confirmed_at"] and body["created_at"] and body["unsubscribed_at"] is None
    missing = admin_api.get("/api/v1/subscribers?email=rhys.evans@example.com")
    assert missing.status_code == 404 and missing.get_json()["error"] == "Not Found"
    assert admin_api.get("/api/v1/subscribers").status_code == 422


def test_patch_changes_preferences_by_the_manage_page_rules(admin_api, make_subscriber):
    subscriber = make_subscriber(topics=["news"])
    url = f"/api/v1/subscribers/{subscriber.id}"
    response = admin_api.patch(url, json={"topics": ["workshops", "news"], "region": "mid-wales"})
    assert response.status_code == 200, response.text
    body = response.get_json()
    assert (sorted(body["topics"]), body["region"], body["language"]) == (
        ["news", "workshops"],
        "mid-wales",
        "en",
    )
    events = consent_trail(subscriber.uid)
    assert (events[-1].kind, events[-1].source) == ("preferences", "api")
    bad = admin_api.patch(url, json={"topics": ["nope"]})
    assert bad.status_code == 422
    assert bad.get_json()["errors"] == [
        {"field": "topics", "message": "Unknown or inactive topic: nope. See GET /topics."}
    ]
    assert admin_api.patch(url, json={"topics": []}).status_code == 422
    assert admin_api.patch(url, json={"language": "fr"}).status_code == 422
    assert admin_api.patch(url, json={}).status_code == 422
    assert admin_api.patch("/api/v1/subscribers/999999", json={"language": "cy"}).status_code == 404
    db.session.expire_all()
    assert sorted(t.slug for t in subscriber.topics) == ["news", "workshops"]
    audit = db.session.scalar(select(AuditLog).where(AuditLog.action == "subscriber.api_update"))
    assert json.loads(audit.detail) == {"fields": ["region", "topics"]}


def test_delete_erases_as_the_manage_page_does_and_leaves_nothing(
    admin_api, make_subscriber, make_api_token
):
    address, name = "Erin.Erasure@example.org", "Erin Unforgettable-Name"
    subscriber = make_subscriber(address, name=name)
    uid, subscriber_id = subscriber.uid, subscriber.id
    assert (
        admin_api.patch(f"/api/v1/subscribers/{subscriber_id}", json={"language": "cy"}).status_code
        == 200
    )
    assert find_traces([address, name])  # the search works: the data is there before
    response = admin_api.delete(f"/api/v1/subscribers/{subscriber_id}")
    assert response.status_code == 204 and response.data == b""
    assert find_traces([address, address.lower(), name]) == []
    assert db.session.scalar(select(Subscriber)) is None
    [entry] = db.session.scalars(select(Suppression)).all()
    assert entry.address_hash == hash_address(address) and entry.reason == "erased"
    trail = db.session.scalars(select(ConsentEvent).order_by(ConsentEvent.id)).all()
    assert [e.kind for e in trail] == ["preferences", "erasure"]
    assert all(e.subscriber_id is None and e.subject_uid == uid for e in trail)
    audit = db.session.scalar(select(AuditLog).where(AuditLog.action == "subscriber.api_erase"))
    assert audit.target_id == subscriber_id and audit.detail is None
    assert admin_api.delete(f"/api/v1/subscribers/{subscriber_id}").status_code == 404
