"""Admin pages: editors, topics and the audit log (the suppression list is bounces/admin.py)."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user
from sqlalchemy import select

from bulletin.core import catalogue as operations
from bulletin.core import editors as accounts
from bulletin.core import sessions
from bulletin.core.audit import record_audit
from bulletin.editorial.access import admin_required
from bulletin.editorial.forms import EditorForm, TopicForm
from bulletin.editorial.views import bp
from bulletin.extensions import db
from bulletin.mail.links import requested_page
from bulletin.models import AuditLog, Editor, Topic
from bulletin.web import ButtonForm


@bp.get("/admin")
@admin_required
def admin():
    return render_template("editorial/admin.html")


@bp.get("/admin/editors")
@admin_required
def editors():
    rows = db.session.scalars(select(Editor).order_by(Editor.email)).all()
    return render_template("editorial/editors.html", editors=rows)


@bp.route("/admin/editors/new", methods=["GET", "POST"], defaults={"editor_id": None})
@bp.route("/admin/editors/<int:editor_id>", methods=["GET", "POST"])
@admin_required
def edit_editor(editor_id: int | None):
    editor = db.session.get(Editor, editor_id) if editor_id else None
    if editor_id and editor is None:
        abort(404)
    form = EditorForm(obj=editor if request.method == "GET" else None)
    if request.method == "GET" and editor is not None:
        form.is_active.data = editor.is_active_account
    if form.validate_on_submit():
        try:
            editor = _save_editor(editor, form)
        except accounts.AccountError as exc:
            form.email.errors.append(str(exc))
        else:
            db.session.commit()
            flash(_("Editor saved."), "success")
            return redirect(url_for("editor.editors"), code=303)
    status = 400 if request.method == "POST" else 200
    return render_template("editorial/editor_form.html", form=form, editor=editor), status


def _save_editor(editor: Editor | None, form: EditorForm) -> Editor:
    me = current_user._get_current_object()
    if editor is None:
        if not form.password.data:
            raise accounts.AccountError(_("Set a password for the new editor."))
        return accounts.create_editor(
            form.email.data,
            form.password.data,
            role=form.role.data,
            name=form.name.data or None,
            by=me,
        )
    if editor.id == me.id and (form.role.data != "admin" or not form.is_active.data):
        raise accounts.AccountError(_("You cannot remove your own admin rights or account."))
    editor.name = form.name.data or None
    editor.role = form.role.data
    if editor.is_active_account != form.is_active.data:
        editor.is_active_account = form.is_active.data
        if not editor.is_active_account:
            sessions.end_all_sessions(editor)  # disabling ends their sessions at once
    record_audit(
        "editor.update",
        editor,
        detail={"role": editor.role, "active": editor.is_active_account},
        editor=me,
    )
    if form.password.data:
        accounts.set_password(editor, form.password.data, by=me)
        if editor.id == me.id:  # every session ended: this browser gets a new one
            sessions.open_session(editor)
            login_user(editor)
    return editor


@bp.get("/admin/topics")
@admin_required
def topics():
    rows = db.session.scalars(select(Topic).order_by(Topic.position)).all()
    return render_template("editorial/topics.html", topics=rows)


@bp.route("/admin/topics/new", methods=["GET", "POST"], defaults={"topic_id": None})
@bp.route("/admin/topics/<int:topic_id>", methods=["GET", "POST"])
@admin_required
def edit_topic(topic_id: int | None):
    topic = db.session.get(Topic, topic_id) if topic_id else None
    if topic_id and topic is None:
        abort(404)
    form = TopicForm(obj=topic if request.method == "GET" else None)
    if form.validate_on_submit():
        operations.save_topic(topic, form.data)
        db.session.commit()
        flash(_("Topic saved."), "success")
        return redirect(url_for("editor.topics"), code=303)
    status = 400 if request.method == "POST" else 200
    return render_template("editorial/topic_form.html", form=form, topic=topic), status


@bp.get("/admin/audit")
@admin_required
def audit_log():
    page = db.paginate(
        select(AuditLog).order_by(AuditLog.id.desc()),
        page=requested_page(),
        per_page=50,
        error_out=False,
    )
    return render_template("editorial/audit.html", page=page, button=ButtonForm())


@bp.get("/admin/workers")
@admin_required
def workers():
    """The worker processes: which are alive, where they run, and when each was last seen."""
    from bulletin.core import heartbeats

    return render_template(
        "editorial/workers.html", workers=heartbeats.workers(), live_seconds=heartbeats.LIVE_SECONDS
    )
