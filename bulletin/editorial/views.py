"""The editor door under /editor: sign in and out, the dashboard, the editor's own password.

Catalogue, issue and admin pages live in views_catalogue, views_issues and views_admin;
they add their routes to this blueprint.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import (
    Blueprint,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user
from sqlalchemy import select

from bulletin.core import editors as accounts
from bulletin.core import sessions
from bulletin.core.audit import visible_to
from bulletin.editorial.forms import LoginForm, PasswordChangeForm
from bulletin.extensions import db, limiter, login_manager
from bulletin.models import AuditLog, Issue, Opportunity, Workshop, utcnow
from bulletin.web import ButtonForm

bp = Blueprint("editor", __name__, url_prefix="/editor")
OPEN_ENDPOINTS = {"editor.login"}


def forget_request_state(_exc=None) -> None:
    # The signed-in user, CSRF token and locale are cached on `g`; when an app context
    # outlives one request (scripts, tests), the next request must not inherit them.
    for key in ("_login_user", "csrf_token", "_flask_babel"):
        g.pop(key, None)


def require_editor():
    # App-wide (not blueprint) so unknown paths and wrong methods under /editor redirect too.
    path = request.path
    if not (path == "/editor" or path.startswith("/editor/")):
        return None
    if current_user.is_authenticated:
        sessions.touch_session(current_user)  # idle time counts from the last request
        return None
    if request.endpoint in OPEN_ENDPOINTS:
        return None
    return login_manager.unauthorized()


def safe_next(target: str | None) -> str:
    """`next=` only to a path on this site (no open redirect); the dashboard otherwise."""
    fallback = url_for("editor.dashboard")
    if not target or "\\" in target or any(ord(c) < 32 for c in target):
        return fallback
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/") or target.startswith("//"):
        return fallback
    return target


def _fresh_session() -> None:
    # Nothing from before sign-in (or sign-out) carries over, the cached CSRF token included,
    # except the language the person chose.
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    g.pop("csrf_token", None)


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


#: Every password check (sign-in, the current password on the change-password page) draws
#: on one per-address budget, so guesses cannot be spread over the two pages.
password_checks = limiter.shared_limit(_login_limit, scope="password-check", methods=["POST"])


@bp.route("/login", methods=["GET", "POST"])
@password_checks
def login():
    form = LoginForm()
    if current_user.is_authenticated and request.method == "GET":
        return redirect(safe_next(request.args.get("next")))
    failed = False
    if form.validate_on_submit():
        editor = accounts.authenticate(form.email.data, form.password.data)
        if editor is not None:
            sessions.open_session(editor)
            db.session.commit()
            _fresh_session()
            login_user(editor)
            return redirect(safe_next(request.args.get("next")), code=303)
        db.session.commit()  # the failure counts towards the account's throttle
        failed = True
    status = 400 if request.method == "POST" else 200
    return render_template("editorial/login.html", form=form, failed=failed), status


@bp.post("/logout")
def logout():
    if ButtonForm().validate_on_submit():
        if current_user.is_authenticated:
            sessions.end_session(current_user)  # a copy of the cookie opens nothing from now on
            db.session.commit()
        logout_user()
        _fresh_session()
        flash(_("You have signed out."), "info")
    return redirect(url_for("editor.login"), code=303)


@bp.get("/")
def dashboard():
    now = utcnow()
    upcoming = db.session.scalars(
        select(Workshop)
        .where(Workshop.starts_at >= now, Workshop.is_archived.is_(False))
        .order_by(Workshop.starts_at)
        .limit(5)
    ).all()
    closing = db.session.scalars(
        select(Opportunity)
        .where(Opportunity.closes_at >= now, Opportunity.is_archived.is_(False))
        .order_by(Opportunity.closes_at)
        .limit(5)
    ).all()
    drafts = db.session.scalars(
        select(Issue).where(Issue.published_at.is_(None)).order_by(Issue.updated_at.desc()).limit(5)
    ).all()
    recent_changes = select(AuditLog).order_by(AuditLog.id.desc()).limit(8)
    shown = visible_to(current_user)
    if shown is not None:
        recent_changes = recent_changes.where(shown)
    recent = db.session.scalars(recent_changes).all()
    # Imported here: views_insights adds its pages to this module's blueprint.
    from bulletin.editorial.views_insights import dashboard_figures

    return render_template(
        "editorial/dashboard.html",
        upcoming=upcoming,
        closing=closing,
        drafts=drafts,
        recent=recent,
        glance=dashboard_figures(),
    )


@bp.route("/account/password", methods=["GET", "POST"])
@password_checks
def change_password():
    form = PasswordChangeForm()
    if form.validate_on_submit():
        editor = current_user._get_current_object()
        if not accounts.verify_password(editor, form.current_password.data):
            db.session.commit()  # the failure counts towards the account's throttle
            form.current_password.errors.append(_("Your current password is not right"))
        else:
            accounts.set_password(editor, form.new_password.data, by=editor)
            sessions.open_session(editor)  # every session ended: this browser gets a new one
            db.session.commit()
            login_user(editor)
            flash(
                _("Your password has been changed. You have been signed out everywhere else."),
                "success",
            )
            return redirect(url_for("editor.dashboard"), code=303)
    status = 400 if request.method == "POST" else 200
    return render_template("editorial/password.html", form=form), status
