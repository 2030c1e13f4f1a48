"""API authentication: bearer tokens only, 401 JSON without one, rate limits, no cookies."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from bulletin.core.api_tokens import hash_token
from bulletin.extensions import db
from bulletin.models import ApiToken, utcnow

OPEN = {"/api/v1/openapi.json"}


def _example_url(rule) -> str:
    return re.sub(r"<[^>]+>", "1", rule.rule)


def test_every_api_route_answers_401_json_without_a_token(app, client):
    rules = [r for r in app.url_map.iter_rules() if r.rule.startswith("/api/")]
    assert len(rules) >= 20
    walked = 0
    for rule in rules:
        if rule.rule in OPEN:
            continue
        for method in sorted(rule.methods):
            response = client.open(_example_url(rule), method=method, json={})
            assert response.status_code == 401, (method, rule.rule)
            if method != "HEAD":
                assert response.get_json()["error"] == "Unauthorized"
            assert response.headers["WWW-Authenticate"].startswith("Bearer")
            walked += 1
    assert walked >= 40


def test_unknown_api_paths_also_need_a_token(client):
    assert client.get("/api/v1/no-such-thing").status_code == 401
    assert client.get("/api/v2/workshops").status_code == 401


def test_the_openapi_document_is_public(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert response.get_json()["openapi"].startswith("3.1")


@pytest.mark.parametrize(
    "header",
    [
        "Bearer not-a-token",
        "Bearer",
        "Basic dXNlcjpwYXNz",
        "bearer  ",
        "Token abc",
        "Bearer " + "x" * 5000,
    ],
)
def test_invalid_tokens_are_refused(client, api, header):
    response = client.get("/api/v1/workshops", headers={"Authorization": header})
    assert response.status_code == 401
    assert response.get_json() == {
        "error": "Unauthorized",
        "detail": "Send a valid API token: Authorization: Bearer <token>.",
    }


def test_a_valid_token_works_and_the_scheme_is_case_insensitive(client, api):
    for scheme in ("Bearer", "bearer", "BEARER"):
        response = client.get(
            "/api/v1/workshops", headers={"Authorization": f"{scheme} {api.token}"}
        )
        assert response.status_code == 200


def test_a_revoked_token_is_refused(client, make_api_token):
    row, token = make_api_token()
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/topics", headers=headers).status_code == 200
    row.revoked_at = utcnow()
    db.session.commit()
    assert client.get("/api/v1/topics", headers=headers).status_code == 401


def test_a_deactivated_editors_token_is_refused(client, make_api_token):
    row, token = make_api_token()
    row.editor.is_active_account = False
    db.session.commit()
    assert (
        client.get("/api/v1/topics", headers={"Authorization": f"Bearer {token}"}).status_code
        == 401
    )


def test_tokens_are_stored_only_as_hashes(make_api_token):
    row, token = make_api_token()
    stored = db.session.scalars(select(ApiToken.token_hash)).all()
    assert token not in stored
    assert row.token_hash == hash_token(token) and len(row.token_hash) == 64
    assert token.startswith("bltn_") and len(token) > 40


def test_use_is_recorded_on_the_token(api):
    row = db.session.scalar(select(ApiToken))
    assert row.last_used_at is None
    api.get("/api/v1/topics")
    db.session.refresh(row)
    assert row.last_used_at is not None


def test_an_editor_session_cookie_does_not_open_the_api(editor_client):
    # The API takes bearer tokens only, so a cross-site request riding a cookie gets nowhere.
    assert editor_client.get("/editor/").status_code == 200
    assert editor_client.get("/api/v1/workshops").status_code == 401
    assert editor_client.post("/api/v1/issues", json={"subject_en": "x"}).status_code == 401


def test_api_writes_need_no_csrf_token_and_set_no_cookie(api):
    response = api.post("/api/v1/issues", json={"subject_en": "Without CSRF"})
    assert response.status_code == 201
    assert "Set-Cookie" not in response.headers
    assert response.headers["Cache-Control"] == "no-store"


def test_editors_and_admins_both_use_the_api(make_api_token, app):
    client = app.test_client()
    for role in ("editor", "admin"):
        _row, token = make_api_token(role=role)
        response = client.post(
            "/api/v1/issues",
            json={"subject_en": f"By an {role}"},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert response.status_code == 201


def test_the_api_is_rate_limited(make_app, app, make_api_token):
    _row, token = make_api_token()
    limited = make_app(API_RATE_LIMIT="3 per minute")
    client = limited.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    codes = [client.get("/api/v1/topics", headers=headers).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    response = client.get("/api/v1/topics", headers=headers)
    assert response.status_code == 429
    assert response.get_json()["error"] == "Too Many Requests"
