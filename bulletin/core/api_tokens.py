"""API tokens: issue and revoke them, and find the live token a request presents.

Only a SHA-256 hash of each token is stored, so the database never holds a usable token:
the token is shown once, when it is issued. The caller commits.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import select

from bulletin.core.audit import record_audit
from bulletin.extensions import db
from bulletin.models import ApiToken, Editor, utcnow

#: Marks a string as one of ours (and lets secret scanners spot a leaked one).
TOKEN_PREFIX = "bltn_"
#: last_used_at is written at most this often per token, not on every request.
TOUCH_EVERY = timedelta(minutes=5)


def hash_token(token: str) -> str:
    """The stored form of a token: hex SHA-256."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def issue_token(editor: Editor, name: str, *, by: Editor | None = None) -> tuple[ApiToken, str]:
    """A new token acting as `editor`: (row, the token itself, to show once)."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(name=name.strip(), token_hash=hash_token(token), editor=editor)
    db.session.add(row)
    db.session.flush()
    record_audit("api_token.create", row, detail={"name": row.name, "editor": editor.id}, editor=by)
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
