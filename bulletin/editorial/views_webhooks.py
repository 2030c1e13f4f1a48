"""Admin pages under /editor/webhooks: register an endpoint (its secret shown once), see its
delivery log, rotate its secret, switch it off and on. The rules are in core/webhooks.py."""

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
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import SelectChoice, StringField
from wtforms.validators import InputRequired, Length, Optional, ValidationError

from bulletin.core import webhooks
from bulletin.core.audit import record_audit
from bulletin.editorial.access import admin_required
from bulletin.extensions import db
from bulletin.mail.links import requested_page
from bulletin.models import WebhookEndpoint
from bulletin.web import ButtonForm, MultiCheckboxField, NoControlCharacters

bp = Blueprint("webhook_admin", __name__, url_prefix="/editor/webhooks")

#: Deliveries per page of an endpoint's log.
PER_PAGE = 50


class EndpointForm(FlaskForm):
    url = StringField(
        _l("The receiver's address (https://...)"),
        validators=[
            InputRequired(_l("Enter the receiver's address")),
            Length(max=2000, message=_l("The address must be 2000 characters or fewer")),
            NoControlCharacters(),
        ],
        render_kw={"spellcheck": "false", "autocomplete": "off"},
    )
    description = StringField(
        _l("What it is for (optional)"),
        validators=[
            Optional(),
            Length(max=200, message=_l("The description must be 200 characters or fewer")),
            NoControlCharacters(),
        ],
    )
    events = MultiCheckboxField(
        _l("Events"),
        choices=[SelectChoice(key, label) for key, label in webhooks.EVENT_TYPES.items()],
    )

    def validate_events(self, field) -> None:
        # Not InputRequired: its `required` flag would put `required` on every checkbox.
        if not field.data:
            raise ValidationError(_l("Choose at least one event"))


def _no_store(response):
    response.headers["Cache-Control"] = "no-store"  # a new secret must not sit in a cache
    return response


def _index(form: EndpointForm, status: int = 200):
    endpoints = db.session.scalars(
        select(WebhookEndpoint).order_by(WebhookEndpoint.active.desc(), WebhookEndpoint.id)
    ).all()
    return make_response(
        render_template(
            "editorial/webhooks.html",
            form=form,
            endpoints=endpoints,
            event_types=webhooks.EVENT_TYPES,
        ),
        status,
    )


@bp.route("", methods=["GET", "POST"])
@admin_required
def index():
    form = EndpointForm()
    if not form.validate_on_submit():
        return _index(form, status=400 if request.method == "POST" else 200)
    try:
        endpoint = webhooks.create_endpoint(
            form.url.data, form.events.data, (form.description.data or "").strip()
        )
    except webhooks.UnsafeURL as exc:
        form.url.errors = [str(exc)]
        return _index(form, status=400)
    record_audit("webhook.create", endpoint, detail={"events": endpoint.types})
    db.session.commit()
    return _no_store(_endpoint_page(endpoint, new_secret=endpoint.secret))


def _endpoint_page(endpoint: WebhookEndpoint, new_secret: str | None = None):
    log = db.paginate(
        webhooks.delivery_log(endpoint), page=requested_page(), per_page=PER_PAGE, error_out=False
    )
    return make_response(
        render_template(
            "editorial/webhook.html",
            endpoint=endpoint,
            log=log,
            new_secret=new_secret,
            event_types=webhooks.EVENT_TYPES,
            rotation_hours=webhooks.ROTATION_HOURS,
            retry_hours=webhooks.RETRY_HOURS,
            failing=webhooks.DISABLED_FAILING,
            button=ButtonForm(),
        )
    )


@bp.get("/<int:endpoint_id>")
@admin_required
def endpoint(endpoint_id: int):
    return _endpoint_page(db.get_or_404(WebhookEndpoint, endpoint_id))


def _action(endpoint_id: int) -> WebhookEndpoint:
    if not ButtonForm().validate_on_submit():
        abort(400)
    return db.get_or_404(WebhookEndpoint, endpoint_id)


@bp.post("/<int:endpoint_id>/rotate")
@admin_required
def rotate(endpoint_id: int):
    endpoint = _action(endpoint_id)
    secret = webhooks.rotate_secret(endpoint)
    record_audit("webhook.rotate", endpoint)
    db.session.commit()
    return _no_store(_endpoint_page(endpoint, new_secret=secret))


@bp.post("/<int:endpoint_id>/drop-old-secret")
@admin_required
def drop_old_secret(endpoint_id: int):
    endpoint = _action(endpoint_id)
    if webhooks.drop_previous_secret(endpoint):
        record_audit("webhook.drop-old-secret", endpoint)
        db.session.commit()
        flash(_("The old secret no longer signs deliveries."), "success")
    return redirect(url_for("webhook_admin.endpoint", endpoint_id=endpoint.id), code=303)


@bp.post("/<int:endpoint_id>/disable")
@admin_required
def disable(endpoint_id: int):
    endpoint = _action(endpoint_id)
    if endpoint.active:
        webhooks.disable(endpoint, webhooks.DISABLED_BY_ADMIN)
        record_audit("webhook.disable", endpoint)
        db.session.commit()
        flash(_("The endpoint is switched off: nothing more is sent to it."), "success")
    return redirect(url_for("webhook_admin.endpoint", endpoint_id=endpoint.id), code=303)


@bp.post("/<int:endpoint_id>/enable")
@admin_required
def enable(endpoint_id: int):
    endpoint = _action(endpoint_id)
    if not endpoint.active:
        try:
            webhooks.check_url(endpoint.url)
        except webhooks.UnsafeURL as exc:
            flash(str(exc), "error")
            return redirect(url_for("webhook_admin.endpoint", endpoint_id=endpoint.id), code=303)
        webhooks.enable(endpoint)
        record_audit("webhook.enable", endpoint)
        db.session.commit()
        flash(_("The endpoint is switched on: events from now on are sent to it."), "success")
    return redirect(url_for("webhook_admin.endpoint", endpoint_id=endpoint.id), code=303)
