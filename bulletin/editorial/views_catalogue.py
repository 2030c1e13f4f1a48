"""Catalogue pages: list, create, edit, duplicate and archive workshops and opportunities."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from bulletin.core import catalogue as operations
from bulletin.core.catalogue import OPPORTUNITIES, WORKSHOPS, Kind, catalogue_listing
from bulletin.editorial.forms import OpportunityForm, WorkshopForm
from bulletin.editorial.views import bp
from bulletin.extensions import db
from bulletin.i18n import current_lang, is_ambiguous, utc_to_london
from bulletin.mail.links import requested_page
from bulletin.web import ButtonForm

#: The editor's form for each kind of entry.
FORMS = {WORKSHOPS: WorkshopForm, OPPORTUNITIES: OpportunityForm}


def _list(kind: Kind):
    show = request.args.get("show", kind.filters[0])
    if show not in kind.filters:
        show = kind.filters[0]
    page = db.paginate(
        catalogue_listing(kind, show),
        page=requested_page(),
        per_page=50,
        error_out=False,
    )
    return render_template(
        f"editorial/{kind.plural}.html",
        page=page,
        show=show,
        filters=kind.filters,
        button=ButtonForm(),
    )


def _fill_form(form, entry) -> None:
    for name in (
        *operations.WORKSHOP_FIELDS,
        *operations.WORKSHOP_TIMES,
        *operations.OPPORTUNITY_FIELDS,
        *operations.OPPORTUNITY_TIMES,
    ):
        if name in form and hasattr(entry, name):
            value = getattr(entry, name)
            form[name].data = utc_to_london(value) if hasattr(value, "tzinfo") and value else value
    form.topics.data = [t.slug for t in entry.topics]
    form.region.data = entry.region or ""


def _ambiguous_hints(form) -> list[str]:
    fields = [f for f in ("starts_at", "ends_at", "booking_deadline_at", "closes_at") if f in form]
    return [form[f].label.text for f in fields if form[f].data and is_ambiguous(form[f].data)]


def _edit(kind: Kind, entry=None):
    form = FORMS[kind]()
    form.fill_choices(current_lang())
    if request.method == "GET" and entry is not None:
        _fill_form(form, entry)
    if form.validate_on_submit():
        data = {name: field.data for name, field in form._fields.items()}
        saved = operations.save_entry(entry or kind.model(), data, form.topics.data or [])
        db.session.commit()
        flash(_("Saved."), "success")
        for label in _ambiguous_hints(form):
            flash(
                _(
                    "%(field)s falls in the hour the clocks go back: we used the first one "
                    "(British Summer Time).",
                    field=label,
                ),
                "info",
            )
        return redirect(url_for(f"editor.edit_{kind.name}", entry_id=saved.id), code=303)
    status = 400 if request.method == "POST" else 200
    return render_template(
        f"editorial/{kind.name}_form.html", form=form, entry=entry, button=ButtonForm()
    ), status


def _duplicate(kind: Kind, entry_id: int):
    if not ButtonForm().validate_on_submit():
        abort(400)
    copy = operations.duplicate_entry(db.get_or_404(kind.model, entry_id))
    db.session.commit()
    flash(_("This is a copy. Change what you need and save it."), "info")
    return redirect(url_for(f"editor.edit_{kind.name}", entry_id=copy.id), code=303)


def _archive(kind: Kind, entry_id: int):
    if not ButtonForm().validate_on_submit():
        abort(400)
    entry = db.get_or_404(kind.model, entry_id)
    archived = request.form.get("archived", "1") == "1"
    operations.set_archived(entry, archived)
    db.session.commit()
    flash(_("Archived.") if archived else _("Restored."), "success")
    return redirect(url_for(f"editor.edit_{kind.name}", entry_id=entry.id), code=303)


@bp.get("/workshops")
def workshops():
    return _list(WORKSHOPS)


@bp.route("/workshops/new", methods=["GET", "POST"])
def new_workshop():
    return _edit(WORKSHOPS)


@bp.route("/workshops/<int:entry_id>", methods=["GET", "POST"])
def edit_workshop(entry_id: int):
    return _edit(WORKSHOPS, db.get_or_404(WORKSHOPS.model, entry_id))


@bp.post("/workshops/<int:entry_id>/duplicate")
def duplicate_workshop(entry_id: int):
    return _duplicate(WORKSHOPS, entry_id)


@bp.post("/workshops/<int:entry_id>/archive")
def archive_workshop(entry_id: int):
    return _archive(WORKSHOPS, entry_id)


@bp.get("/opportunities")
def opportunities():
    return _list(OPPORTUNITIES)


@bp.route("/opportunities/new", methods=["GET", "POST"])
def new_opportunity():
    return _edit(OPPORTUNITIES)


@bp.route("/opportunities/<int:entry_id>", methods=["GET", "POST"])
def edit_opportunity(entry_id: int):
    return _edit(OPPORTUNITIES, db.get_or_404(OPPORTUNITIES.model, entry_id))


@bp.post("/opportunities/<int:entry_id>/duplicate")
def duplicate_opportunity(entry_id: int):
    return _duplicate(OPPORTUNITIES, entry_id)


@bp.post("/opportunities/<int:entry_id>/archive")
def archive_opportunity(entry_id: int):
    return _archive(OPPORTUNITIES, entry_id)
