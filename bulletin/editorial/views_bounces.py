"""Admin pages: the suppression list, a subscriber's bounces, and sender-side alerts."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    stream_with_context,
    url_for,
)
from flask_babel import gettext as _

from bulletin.core import bounces as operations
from bulletin.core.audit import record_audit
from bulletin.editorial.access import admin_required
from bulletin.editorial.bounce_forms import (
    LiftForm,
    SuppressionAddForm,
    SuppressionRemoveForm,
    SuppressionSearchForm,
)
from bulletin.extensions import db
from bulletin.models import Subscriber
from bulletin.web import ButtonForm, private_download

bp = Blueprint("bounce_admin", __name__, url_prefix="/editor")


def _index(status: int = 200, **forms):
    forms.setdefault("search", SuppressionSearchForm(formdata=None, prefix="search"))
    forms.setdefault("add", SuppressionAddForm(formdata=None, prefix="add"))
    return render_template(
        "editorial/suppressions/index.html",
        counts=operations.reason_counts(),
        export=ButtonForm(formdata=None),
        **forms,
    ), status


@bp.get("/suppressions")
@admin_required
def suppressions():
    return _index()


@bp.post("/suppressions/search")
@admin_required
def search_suppression():
    form = SuppressionSearchForm(prefix="search")
    if not form.validate_on_submit():
        return _index(400, search=form)
    entry = operations.find_entry(form.email.data)
    remove = SuppressionRemoveForm(formdata=None, email=form.email.data)
    return render_template(
        "editorial/suppressions/result.html", email=form.email.data, entry=entry, form=remove
    )


@bp.post("/suppressions/add")
@admin_required
def add_suppression():
    form = SuppressionAddForm(prefix="add")
    if not form.validate_on_submit():
        return _index(400, add=form)
    operations.add_entry(form.email.data, form.reason.data, form.note.data)
    db.session.commit()
    flash(_("The address is on the suppression list. No mail will go to it."), "success")
    return redirect(url_for(".suppressions"), code=303)


@bp.post("/suppressions/remove")
@admin_required
def remove_suppression():
    form = SuppressionRemoveForm()
    if not form.validate_on_submit():
        entry = operations.find_entry(form.email.data) if form.email.data else None
        return render_template(
            "editorial/suppressions/result.html", email=form.email.data, entry=entry, form=form
        ), 400
    removed = operations.remove_entry(form.email.data, form.reason.data)
    db.session.commit()
    flash(
        _("The address was removed from the suppression list.")
        if removed
        else _("That address is not on the suppression list."),
        "success",
    )
    return redirect(url_for(".suppressions"), code=303)


@bp.post("/suppressions/export.csv")
@admin_required
def export_suppressions():
    if not ButtonForm().validate_on_submit():
        abort(400)
    record_audit("suppression.export")
    db.session.commit()
    return private_download(
        stream_with_context(operations.suppressions_csv()), "suppressions.csv", "text/csv"
    )


@bp.get("/bounces/alerts")
@admin_required
def alerts():
    return render_template("editorial/bounces/alerts.html", events=operations.sender_alerts())


@bp.get("/bounces/unproven")
@admin_required
def unproven():
    return render_template("editorial/bounces/unproven.html", events=operations.unproven_reports())


@bp.get("/bounces/subscribers/<int:subscriber_id>")
@admin_required
def subscriber_bounces(subscriber_id: int):
    return _subscriber_page(db.get_or_404(Subscriber, subscriber_id))


def _subscriber_page(subscriber: Subscriber, form: LiftForm | None = None, status: int = 200):
    return render_template(
        "editorial/bounces/subscriber.html",
        subscriber=subscriber,
        events=operations.bounce_history(subscriber.id),
        unproven=operations.unproven_reports(address=subscriber.email),
        entry=operations.find_entry(subscriber.email),
        form=form or LiftForm(formdata=None),
    ), status


@bp.post("/bounces/subscribers/<int:subscriber_id>/lift")
@admin_required
def lift_suppression(subscriber_id: int):
    subscriber = db.get_or_404(Subscriber, subscriber_id)
    form = LiftForm()
    if not form.validate_on_submit():
        return _subscriber_page(subscriber, form, 400)
    lifted = operations.lift_subscriber(subscriber, form.reason.data)
    db.session.commit()
    flash(
        _("The suppression was lifted.") if lifted else _("This subscriber was not suppressed."),
        "success",
    )
    return redirect(url_for(".subscriber_bounces", subscriber_id=subscriber.id), code=303)
