"""Admin pages under /editor/api-tokens: issue a token (shown once), list tokens, revoke one."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import SelectChoice, SelectField, StringField
from wtforms.validators import InputRequired, ValidationError

from bulletin.core import api_tokens as auth
from bulletin.core.fields import API_TOKEN
from bulletin.editorial.access import admin_required
from bulletin.extensions import db
from bulletin.models import ApiToken, Editor
from bulletin.web import ButtonForm, MultiCheckboxField, rules

bp = Blueprint("api_tokens", __name__, url_prefix="/editor/api-tokens")

#: The scopes of core/api_tokens.py, in words.
SCOPE_LABELS = {
    "catalogue": _l("Catalogue: workshops, opportunities and topics"),
    "issues": _l("Issues: write and edit them"),
    "sends": _l("Sends: schedule and cancel them, and count audiences"),
    "subscribers:read": _l("Subscribers: look one up by address (admins only)"),
    "subscribers:write": _l(
        "Subscribers: sign people up, change their preferences, erase them (admins only)"
    ),
}


class TokenForm(FlaskForm):
    name = StringField(_l("What the token is for"), validators=rules(API_TOKEN["name"]))
    editor = SelectField(
        _l("The editor it acts as (changes are logged in their name)"),
        coerce=int,
        validators=[InputRequired()],
    )
    scopes = MultiCheckboxField(
        _l("What it may do"),
        choices=[SelectChoice(scope, SCOPE_LABELS[scope]) for scope in auth.SCOPES],
        coerce=str,
        default=list(auth.DEFAULT_SCOPES),
    )

    def validate_scopes(self, field) -> None:
        if not field.data:
            raise ValidationError(_l("Tick at least one thing the token may do"))
        editor = db.session.get(Editor, self.editor.data) if self.editor.data else None
        if set(field.data) & auth.ADMIN_SCOPES and not (editor and editor.is_admin):
            raise ValidationError(
                _l("Only a token acting as an admin may read or change subscribers")
            )

    def fill_choices(self) -> None:
        """Active editors, by address."""
        editors = db.session.scalars(
            select(Editor).where(Editor.is_active_account).order_by(Editor.email)
        )
        self.editor.choices = [SelectChoice(e.id, e.email) for e in editors]


def _page(form: TokenForm, new_token: str | None = None, status: int = 200):
    tokens = db.session.scalars(
        select(ApiToken).order_by(ApiToken.revoked_at.is_not(None), ApiToken.id.desc())
    ).all()
    response = make_response(
        render_template(
            "editorial/api_tokens.html",
            form=form,
            tokens=tokens,
            scope_labels=SCOPE_LABELS,
            new_token=new_token,
            button=ButtonForm(),
        ),
        status,
    )
    response.headers["Cache-Control"] = "no-store"  # the new token must not sit in a cache
    return response


@bp.route("", methods=["GET", "POST"])
@admin_required
def index():
    form = TokenForm()
    form.fill_choices()
    if not form.validate_on_submit():
        return _page(form, status=400 if request.method == "POST" else 200)
    editor = db.session.get(Editor, form.editor.data)
    _row, token = auth.issue_token(editor, form.name.data, scopes=form.scopes.data, by=current_user)
    db.session.commit()
    # Shown in this answer only (never flashed: that would put it in the session cookie).
    fresh = TokenForm(formdata=None)
    fresh.fill_choices()
    return _page(fresh, new_token=token)


@bp.post("/<int:token_id>/revoke")
@admin_required
def revoke(token_id: int):
    if not ButtonForm().validate_on_submit():
        abort(400)
    row = db.get_or_404(ApiToken, token_id)
    if auth.revoke_token(row, by=current_user):
        db.session.commit()
        flash(_("The token “%(name)s” is revoked: it no longer works.", name=row.name), "success")
    return redirect(url_for("api_tokens.index"), code=303)
