"""Issuing and revoking API tokens: the admin page and the CLI."""

from __future__ import annotations

import re

from sqlalchemy import select

from bulletin.cli import main
from bulletin.extensions import db
from bulletin.models import ApiToken, AuditLog
from tests.conftest import csrf_token
from tests.factories import sign_in

TOKEN_RE = re.compile(r'<code id="new-token">(bltn_[A-Za-z0-9_-]+)</code>')


def _works(app, token: str) -> bool:
    response = app.test_client().get("/api/v1/topics", headers={"Authorization": f"Bearer {token}"})
    return response.status_code == 200


def test_an_admin_creates_a_token_shown_once(app, editor_client, make_editor):
    writer = make_editor("writer@example.org")
    page = editor_client.get("/editor/api-tokens")
    assert page.status_code == 200 and "writer@example.org" in page.get_data(as_text=True)
    response = editor_client.post(
        "/editor/api-tokens",
        data={
            "csrf_token": csrf_token(page.get_data(as_text=True)),
            "name": "Website sync",
            "editor": writer.id,
            "scopes": ["catalogue", "issues", "sends"],
        },
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    token = TOKEN_RE.search(html).group(1)
    assert _works(app, token)
    row = db.session.scalar(select(ApiToken))
    assert (row.name, row.editor_id) == ("Website sync", writer.id)
    assert "Set-Cookie" not in response.headers or token not in response.headers["Set-Cookie"]
    again = editor_client.get("/editor/api-tokens").get_data(as_text=True)
    assert token not in again and "Website sync" in again
    (audit,) = db.session.scalars(select(AuditLog).where(AuditLog.action == "api_token.create"))
    assert audit.editor_id == editor_client.editor.id


def test_an_admin_revokes_a_token(app, editor_client, make_api_token):
    row, token = make_api_token(name="Old script")
    page = editor_client.get("/editor/api-tokens").get_data(as_text=True)
    response = editor_client.post(
        f"/editor/api-tokens/{row.id}/revoke", data={"csrf_token": csrf_token(page)}
    )
    assert response.status_code == 303
    assert not _works(app, token)
    assert db.session.get(ApiToken, row.id).revoked_at is not None
    assert "Revoked" in editor_client.get("/editor/api-tokens").get_data(as_text=True)
    actions = db.session.scalars(
        select(AuditLog.action).where(
            AuditLog.action == "api_token.revoke", AuditLog.editor_id == editor_client.editor.id
        )
    )
    assert list(actions) == ["api_token.revoke"]


def test_bad_form_input_and_missing_csrf_are_refused(editor_client):
    page = editor_client.get("/editor/api-tokens").get_data(as_text=True)
    response = editor_client.post(
        "/editor/api-tokens", data={"csrf_token": csrf_token(page), "name": "", "editor": "999"}
    )
    assert response.status_code == 400
    assert 'class="error-summary"' in response.get_data(as_text=True)
    assert (
        editor_client.post(
            "/editor/api-tokens", data={"name": "x", "editor": editor_client.editor.id}
        ).status_code
        == 400
    )
    assert db.session.scalar(select(ApiToken)) is None


def test_only_admins_manage_tokens(app, make_editor, make_api_token):
    row, _token = make_api_token()
    client = app.test_client()
    assert client.get("/editor/api-tokens").status_code == 302  # to the sign-in page
    sign_in(client, make_editor(role="editor"))
    assert client.get("/editor/api-tokens").status_code == 403
    assert client.post(f"/editor/api-tokens/{row.id}/revoke").status_code in (400, 403)
    assert db.session.get(ApiToken, row.id).revoked_at is None


def test_cli_creates_and_revokes_tokens(app, runner, make_editor):
    make_editor("cli@example.org")
    result = runner.invoke(
        main,
        args=["api-token", "create", "--editor", "CLI@example.org", "--name", "Nightly export"],
    )
    assert result.exit_code == 0, result.output
    token = result.stdout.strip().splitlines()[-1]
    assert token.startswith("bltn_") and _works(app, token)
    row = db.session.scalar(select(ApiToken))
    listed = runner.invoke(main, args=["api-token", "list"])
    assert "Nightly export" in listed.output and token not in listed.output
    result = runner.invoke(main, args=["api-token", "revoke", str(row.id)])
    assert result.exit_code == 0 and "Revoked" in result.output
    assert not _works(app, token)
    assert "already" in runner.invoke(main, args=["api-token", "revoke", str(row.id)]).output
    assert runner.invoke(main, args=["api-token", "revoke", "999"]).exit_code != 0
    missing = runner.invoke(
        main, args=["api-token", "create", "--editor", "no@example.org", "--name", "x"]
    )
    assert missing.exit_code != 0 and "No active editor" in missing.output
