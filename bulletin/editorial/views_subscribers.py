"""Admin pages for subscriber data: search, profile and consent trail, access, import, export."""

from __future__ import annotations

import json

from flask import (
    Blueprint,
    abort,
    jsonify,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_babel import format_number
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import func, select
from wtforms import SelectChoice

from bulletin.core.audit import record_audit
from bulletin.core.consent import consent_trail
from bulletin.core.subject_access import export_subscriber
from bulletin.core.subscriber_list import PAGE_SIZE, ListFilter, list_subscribers
from bulletin.core.subscribers import find_by_email
from bulletin.core.suppressions import is_suppressed
from bulletin.editorial.access import admin_required
from bulletin.editorial.labels import SUBSCRIBER_STATUSES
from bulletin.editorial.subscriber_forms import (
    ExportForm,
    ImportForm,
    ListForm,
    SearchForm,
)
from bulletin.extensions import db
from bulletin.i18n import current_lang
from bulletin.models import Delivery, ImportJob, ImportJobStatus, OutboxMessage, Send, Subscriber
from bulletin.privacy import imports
from bulletin.privacy.csvsource import FIELDS, MappingError
from bulletin.privacy.exporter import (
    CONSENT_COLUMNS,
    ExportFilter,
    consent_json,
    consent_rows,
    csv_lines,
    stream_subscribers_csv,
)
from bulletin.privacy.importer import ImportOptions
from bulletin.web import ButtonForm, private_download

bp = Blueprint("editor_subscribers", __name__, url_prefix="/editor/subscribers")


def _render(template: str, status: int = 200, **context):
    return render_template(f"editorial/subscribers/{template}", **context), status


@bp.route("", methods=["GET", "POST"])
@admin_required
def search():
    form = SearchForm()
    if not form.validate_on_submit():
        return _render("search.html", 400 if request.method == "POST" else 200, form=form)
    found = find_by_email(form.email.data)
    if found is not None:
        return redirect(url_for(".profile", subscriber_id=found.id), code=303)
    return _render(
        "search.html", form=form, not_found=True, suppressed=is_suppressed(form.email.data)
    )


@bp.get("/list")
@admin_required
def browse():
    """Every subscriber, filtered and searched, newest first, with counts per filter value."""
    form = ListForm(request.args)
    form.fill_choices(current_lang())
    if not form.validate():
        return _render("list.html", 400, form=form, page=None, query={})
    wanted = ListFilter(
        status=form.status.data or "",
        topic=form.topic.data or "",
        region=form.region.data or "",
        language=form.language.data or "",
        since=form.since.data,
        until=form.until.data,
        search=(form.q.data or "").strip(),
    )
    page = list_subscribers(
        wanted, after=_page_key("after"), before=_page_key("before"), size=PAGE_SIZE
    )
    _count_choices(form, page.counts)
    query = {k: v for k, v in request.args.items() if k not in ("after", "before") and v}
    return _render("list.html", form=form, page=page, query=query, labels=SUBSCRIBER_STATUSES)


def _page_key(name: str) -> int | None:
    value = request.args.get(name, "")
    if not value:
        return None
    if not value.isdigit() or len(value) > 18:
        abort(400)
    return int(value)


def _count_choices(form: ListForm, counts: dict[str, dict[str, int]]) -> None:
    # Each option says how many it would show: "Confirmed (1,204)".
    for name in ("status", "topic", "region", "language"):
        field = form[name]
        field.choices = [
            SelectChoice(c.value, f"{c.label} ({format_number(counts[name].get(c.value, 0))})")
            if c.value
            else c
            for c in field.choices
        ]


@bp.get("/<int:subscriber_id>")
@admin_required
def profile(subscriber_id: int):
    subscriber = db.get_or_404(Subscriber, subscriber_id)
    mails = db.session.scalars(
        select(OutboxMessage)
        .filter_by(subscriber_id=subscriber.id)
        .order_by(OutboxMessage.id.desc())
        .limit(50)
    ).all()
    deliveries = db.session.execute(
        select(Delivery, Send)
        .join(Send, Send.id == Delivery.send_id)
        .where(Delivery.subscriber_id == subscriber.id)
        .order_by(Delivery.id.desc())
        .limit(50)
    ).all()
    delivery_total = db.session.scalar(
        select(func.count(Delivery.id)).where(Delivery.subscriber_id == subscriber.id)
    )
    return _render(
        "profile.html",
        subscriber=subscriber,
        events=consent_trail(subscriber.uid),
        mails=mails,
        deliveries=deliveries,
        delivery_total=delivery_total,
        button=ButtonForm(),
    )


@bp.post("/<int:subscriber_id>/data.json")
@admin_required
def subject_access(subscriber_id: int):
    subscriber = db.get_or_404(Subscriber, subscriber_id)
    if not ButtonForm().validate_on_submit():
        abort(400)
    record_audit("subscriber.subject_access", subscriber)
    body = json.dumps(export_subscriber(subscriber), indent=2, ensure_ascii=False)
    db.session.commit()
    return private_download(body, f"subscriber-{subscriber.id}.json", "application/json")


@bp.post("/<int:subscriber_id>/consent.<any(csv, json):fmt>")
@admin_required
def consent_download(subscriber_id: int, fmt: str):
    subscriber = db.get_or_404(Subscriber, subscriber_id)
    if not ButtonForm().validate_on_submit():
        abort(400)
    events = consent_trail(subscriber.uid)
    record_audit("subscriber.consent_export", subscriber, detail={"format": fmt})
    db.session.commit()
    name = f"consent-{subscriber.id}.{fmt}"
    if fmt == "json":
        return private_download(
            json.dumps(consent_json(events), indent=2, ensure_ascii=False), name, "application/json"
        )
    body = "".join(csv_lines(CONSENT_COLUMNS, consent_rows(events)))
    return private_download(body, name, "text/csv")


@bp.route("/export", methods=["GET", "POST"])
@admin_required
def export():
    form = ExportForm()
    form.fill_choices(current_lang())
    if not form.validate_on_submit():
        return _render("export.html", 400 if request.method == "POST" else 200, form=form)
    selection = ExportFilter(
        status=form.status.data or None,
        topic=form.topic.data or None,
        region=form.region.data or None,
        language=form.language.data or None,
    )
    record_audit("subscribers.export", detail={"via": "web", **selection.as_dict()})
    db.session.commit()
    return private_download(
        stream_with_context(stream_subscribers_csv(selection)), "subscribers.csv", "text/csv"
    )


@bp.route("/import", methods=["GET", "POST"])
@admin_required
def import_page():
    form = ImportForm()
    if not form.validate_on_submit():
        return _render("import.html", 400 if request.method == "POST" else 200, form=form)
    mapping = {f: form[f"map_{f}"].data.strip() for f in FIELDS if form[f"map_{f}"].data}
    upload = form.file.data
    options = ImportOptions(
        mapping=mapping,
        invite=form.invite.data,
        dry_run=form.dry_run.data,
        label=_label(upload.filename),
    )
    # The request only stores the file and checks its header; the worker imports it.
    name, rows = imports.store_upload(upload.stream)
    try:
        imports.check_header(name, options)
    except MappingError as exc:
        imports.discard_file(name)
        return _render("import.html", 400, form=form, mapping_error=str(exc))
    job = imports.queue_import(
        name, rows, options, language=current_lang(), editor=current_user._get_current_object()
    )
    db.session.commit()
    return redirect(url_for(".import_job", job_id=job.id), code=303)


@bp.get("/import/<int:job_id>")
@admin_required
def import_job(job_id: int):
    job = db.get_or_404(ImportJob, job_id)
    if job.status == ImportJobStatus.DONE:
        return _render("import_report.html", report=imports.job_report(job))
    return _render(
        "import_job.html",
        job=job,
        progress=imports.job_progress(job),
        status_label=IMPORT_STATUS_LABELS[job.status],
    )


@bp.get("/import/<int:job_id>/progress")
@admin_required
def import_progress(job_id: int):
    job = db.get_or_404(ImportJob, job_id)
    return jsonify(
        {**imports.job_progress(job), "status_label": str(IMPORT_STATUS_LABELS[job.status])}
    )


#: How the job page names each status.
IMPORT_STATUS_LABELS = {
    ImportJobStatus.QUEUED: _l("Waiting for the worker to start the import"),
    ImportJobStatus.RUNNING: _l("Importing"),
    ImportJobStatus.DONE: _l("Finished"),
    ImportJobStatus.FAILED: _l("The import failed"),
}


def _label(filename: str | None) -> str:
    # Only a short, plain label goes into consent events: never a path or odd characters.
    name = (filename or "upload.csv").rsplit("/", 1)[-1].rsplit("\\", 1)[-1]
    return "".join(c for c in name if c.isalnum() or c in "._- ")[:60] or "upload.csv"
