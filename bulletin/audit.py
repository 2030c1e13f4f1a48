"""The audit log: one row for every editorial change."""

from __future__ import annotations

import json

from flask_login import current_user

from .extensions import db
from .models import AuditLog


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
