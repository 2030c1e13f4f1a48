"""API bearer tokens: issue, revoke, and check the `Authorization: Bearer <token>` header.

Only a SHA-256 hash of each token is stored, so the database never holds a usable token:
the token is shown once, when it is issued. The caller commits.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from flask import g, request
from sqlalchemy import select

from bulletin.core.audit import record_audit
from bulletin.extensions import db
from bulletin.models import ApiToken, Editor, utcnow

#: Marks a string as one of ours (and lets secret scanners spot a leaked one).
TOKEN_PREFIX = "bltn_"
#: last_used_at is written at most this often per token, not on every request.
TOUCH_EVERY = timedelta(minutes=5)
PUBLIC_PATHS = frozenset({"/api/v1/openapi.json"})


def hash_token(token: str) -> str:
    """The stored form of a token: hex SHA-256."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def issue_token(editor: Editor, name: str, *, by: Editor | None = None) -> tuple[ApiToken, str]:
    """A new token acting as `editor`: (row, the token itself, to show once)."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(name=name.strip(), token_hash=hash_token(token), editor=editor)
    db.session.add(row)
    db.session.flush()
    record_audit("api_token.create", row, detail={"name": row.name, "editor": editor.id},
                 editor=by)
    return row, token


def revoke_token(row: ApiToken, *, by: Editor | None = None) -> bool:
    """Revoke a token at once; False when it was already revoked."""
    if row.revoked_at is not None:
        return False
    row.revoked_at = utcnow()
    record_audit("api_token.revoke", row, detail={"name": row.name}, editor=by)
    return True


def find_token(presented: str) -> ApiToken | None:
    """The live token with this value (not revoked, its editor active), or None."""
    row = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(presented)))
    if row is None or row.revoked_at is not None or not row.editor.is_active:
        return None
    return row


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


def forget_token(_exc=None) -> None:
    """Teardown: nothing of one request's token survives into the next (the editor set on
    g._login_user is dropped by the app-wide teardown in editorial/views.py)."""
    g.pop("api_token", None)
