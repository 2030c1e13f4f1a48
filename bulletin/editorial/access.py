"""Who may use the editor door: the login loader and the route guards."""

from __future__ import annotations

from functools import wraps

from flask import abort, render_template, request
from flask_login import current_user

from bulletin.core import sessions
from bulletin.extensions import login_manager
from bulletin.models import Editor


@login_manager.user_loader
def load_editor(user_id: str) -> Editor | None:
    """`<editor id>:<session key>`, from the session cookie (or a remember-me cookie, which
    therefore obeys the same rule): only a live server-side session opens anything."""
    return sessions.load_editor(user_id)


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
            if request.path.startswith("/api/"):
                abort(403)
            return render_template("editorial/admins_only.html"), 403
        return view(*args, **kwargs)

    return guarded
