"""Fixtures for the JSON API: tokens, and a test client that sends one."""

from __future__ import annotations

import pytest

from bulletin.extensions import db


class ApiClient:
    """A Flask test client that sends `Authorization: Bearer <token>` with every request."""

    def __init__(self, client, token: str, editor):
        self.client, self.token, self.editor = client, token, editor

    def _call(self, method: str, path: str, **kwargs):
        headers = {"Authorization": f"Bearer {self.token}", **kwargs.pop("headers", {})}
        return getattr(self.client, method)(path, headers=headers, **kwargs)

    def get(self, path, **kwargs):
        return self._call("get", path, **kwargs)

    def post(self, path, **kwargs):
        return self._call("post", path, **kwargs)

    def patch(self, path, **kwargs):
        return self._call("patch", path, **kwargs)

    def delete(self, path, **kwargs):
        return self._call("delete", path, **kwargs)


@pytest.fixture
def make_api_token(app, make_editor):
    """make_api_token(role="editor", editor=None, name="test", scopes=DEFAULT_SCOPES)
    -> (ApiToken row, token)."""
    from bulletin.core.api_tokens import DEFAULT_SCOPES, issue_token

    def make(role: str = "editor", *, editor=None, name: str = "test", scopes=DEFAULT_SCOPES):
        owner = editor or make_editor(role=role)
        row, token = issue_token(owner, name, scopes=scopes)
        db.session.commit()
        return row, token

    return make


@pytest.fixture
def api(app, make_api_token):
    """An ApiClient with a fresh editor's token; the editor is `api.editor`."""
    row, token = make_api_token()
    return ApiClient(app.test_client(), token, row.editor)


@pytest.fixture
def admin_api(app, make_api_token):
    """An ApiClient with an admin's token holding every scope (the subscriber ones too)."""
    from bulletin.core.api_tokens import SCOPES

    row, token = make_api_token("admin", scopes=SCOPES)
    return ApiClient(app.test_client(), token, row.editor)
