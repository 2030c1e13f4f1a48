"""The API's guard: check the `Authorization: Bearer <token>` header of every /api/ request.

Issuing and revoking tokens are verbs of core/api_tokens.py.
"""

from __future__ import annotations

from flask import g, request

from bulletin.api.validation import ApiError
from bulletin.core.api_tokens import TOUCH_EVERY, find_token, has_scope
from bulletin.extensions import db
from bulletin.models import utcnow

PUBLIC_PATHS = frozenset({"/api/v1/openapi.json"})


def bearer_value(header: str | None) -> str | None:
    """The token in an `Authorization: Bearer <token>` header, or None."""
    scheme, _, value = (header or "").strip().partition(" ")
    value = value.strip()
    if scheme.lower() != "bearer" or not value or len(value) > 200:
        return None
    return value


def _unauthorized(detail: str):
    body = {"error": "Unauthorized", "detail": detail}
    return body, 401, {"WWW-Authenticate": 'Bearer realm="bulletin"', "Cache-Control": "no-store"}


def require_token():
    """App-wide guard: every /api/ path but the OpenAPI document needs a live bearer token."""
    if not request.path.startswith("/api/") or request.path in PUBLIC_PATHS:
        return None
    presented = bearer_value(request.headers.get("Authorization"))
    row = find_token(presented) if presented else None
    if row is None:
        db.session.rollback()
        return _unauthorized("Send a valid API token: Authorization: Bearer <token>.")
    now = utcnow()
    if row.last_used_at is None or now - row.last_used_at > TOUCH_EVERY:
        row.last_used_at = now
        db.session.commit()
    g.api_token = row
    # Flask-Login reads the user from g: the audit log and every verb see the token's editor,
    # with no session cookie involved.
    g._login_user = row.editor
    return None


def require_scope(scope: str | None) -> None:
    """403, naming the scope, unless this request's token holds `scope` (None: public)."""
    if scope is None:
        return
    row = g.get("api_token")
    if row is None or not has_scope(row, scope):
        raise ApiError(
            403,
            f"This token lacks the scope {scope!r}: ask an admin for a token with it.",
            missing_scope=scope,
        )


def forget_token(_exc=None) -> None:
    """Teardown: nothing of one request's token survives into the next (the editor set on
    g._login_user is dropped by the app-wide teardown in editorial/views.py)."""
    g.pop("api_token", None)
