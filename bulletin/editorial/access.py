"""Who may use the editor door: the login loader and the route guards."""

from __future__ import annotations

from functools import wraps

from flask import abort, request
from flask_login import current_user

from ..extensions import db, login_manager
from ..models import Editor


@login_manager.user_loader
def load_editor(session_id: str) -> Editor | None:
    """`id:session_version`: a password change bumps the version and ends old sessions."""
    editor_id, _, version = session_id.partition(":")
    if not editor_id.isdigit() or not version.isdigit():
        return None
    editor = db.session.get(Editor, int(editor_id))
    if editor is None or editor.session_version != int(version) or not editor.is_active:
        return None
    return editor


def editor_required(view):
    """Any signed-in editor; others go to the login page (or get 401 from the API)."""

    @wraps(view)
    def guarded(*args, **kwargs):
        if not current_user.is_authenticated:
            if request.path.startswith("/api/"):
                abort(401)
            return login_manager.unauthorized()
        return view(*args, **kwargs)

    return guarded


def admin_required(view):
    """Admins only: managing editors, topics, tokens and the suppression list."""

    @wraps(view)
    @editor_required
    def guarded(*args, **kwargs):
        if not current_user.is_admin:
            abort(403)
        return view(*args, **kwargs)

    return guarded
