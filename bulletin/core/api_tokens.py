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

#: Everything a token may be allowed to do, in the order forms and documents list them.
SCOPES = ("catalogue", "issues", "sends", "subscribers:read", "subscribers:write")
#: Scopes only a token acting as an admin may hold (and use: a token whose editor stops
#: being an admin loses them at once).
ADMIN_SCOPES = frozenset({"subscribers:read", "subscribers:write"})
#: What a token may do unless told otherwise: what every token could do before scopes.
DEFAULT_SCOPES = ("catalogue", "issues", "sends")


class ScopeRefused(ValueError):
    """A scope that does not exist, or that the token's editor may not hold."""


def check_scopes(editor: Editor, scopes) -> tuple[str, ...]:
    """The scopes in SCOPES order; ScopeRefused for an unknown one or an admin scope for a
    token acting as an editor who is not an admin."""
    wanted = set(scopes)
    unknown = wanted - set(SCOPES)
    if unknown:
        raise ScopeRefused(f"No such scope: {', '.join(sorted(unknown))}.")
    if wanted & ADMIN_SCOPES and not editor.is_admin:
        raise ScopeRefused("Only a token acting as an admin may have the subscriber scopes.")
    return tuple(s for s in SCOPES if s in wanted)


def scopes_of(row: ApiToken) -> tuple[str, ...]:
    """The scopes a token holds now (the admin scopes only while its editor is an admin)."""
    held = set(row.scopes.split())
    if not row.editor.is_admin:
        held -= ADMIN_SCOPES
    return tuple(s for s in SCOPES if s in held)


def has_scope(row: ApiToken, scope: str) -> bool:
    """Whether the token may do what `scope` covers."""
    return scope in scopes_of(row)


def hash_token(token: str) -> str:
    """The stored form of a token: hex SHA-256."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def issue_token(
    editor: Editor, name: str, *, scopes=DEFAULT_SCOPES, by: Editor | None = None
) -> tuple[ApiToken, str]:
    """A new token acting as `editor`: (row, the token itself, to show once).

    ScopeRefused when a scope is unknown or not allowed for this editor (check_scopes)."""
    granted = check_scopes(editor, scopes)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        name=name.strip(), token_hash=hash_token(token), editor=editor, scopes=" ".join(granted)
    )
    db.session.add(row)
    db.session.flush()
    record_audit(
        "api_token.create",
        row,
        detail={"name": row.name, "editor": editor.id, "scopes": list(granted)},
        editor=by,
    )
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
