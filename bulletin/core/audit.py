"""The audit log: one row for every editorial change, and who may see which rows."""

from __future__ import annotations

import json

from flask_login import current_user
from sqlalchemy import ColumnElement, or_

from bulletin.extensions import db
from bulletin.models import AuditLog

#: Nouns of the actions every editor may see (catalogue, issues, sends, the media library).
#: Everything else (editor accounts, topics, the masthead, API tokens, suppressions,
#: subscriber access, imports, exports, erasures, retention purges) is an admin action:
#: listed so that a new kind of action stays hidden from plain editors until someone decides
#: otherwise.
EDITORIAL_NOUNS = ("workshop", "opportunity", "issue", "send", "media")


def record_audit(action: str, target=None, *, detail: dict | None = None, editor=None) -> AuditLog:
    """Log who did what to which row; added to the caller's transaction."""
    who = editor if editor is not None else current_user
    entry = AuditLog(
        editor_id=getattr(who, "id", None) if getattr(who, "is_authenticated", False) else None,
        action=action,
        target_type=type(target).__name__.lower() if target is not None else None,
        target_id=getattr(target, "id", None),
        detail=json.dumps(detail, sort_keys=True, default=str) if detail else None,
    )
    db.session.add(entry)
    return entry


def visible_to(editor) -> ColumnElement[bool] | None:
    """A filter for the audit rows an editor may see: admins all, others their own and
    the editorial actions of anyone. None: no filter."""
    if editor.is_admin:
        return None
    editorial = [
        AuditLog.action.startswith(f"{noun}.", autoescape=True) for noun in EDITORIAL_NOUNS
    ]
    return or_(AuditLog.editor_id == editor.id, *editorial)
