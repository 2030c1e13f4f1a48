"""Issue pages: compose, order items, fill from the catalogue, preview and test-send."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from flask import Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError

from bulletin.core import fill as fill_ops
from bulletin.core import issues as ops
from bulletin.core import rhythm as rhythm_ops
from bulletin.core.sends import sends_of_issue
from bulletin.editorial import testsend
from bulletin.editorial.forms import AddItemForm, FillForm, IssueForm, NewsItemForm, TestSendForm
from bulletin.editorial.media_forms import ImageChoiceForm
from bulletin.editorial.views import bp
from bulletin.extensions import db, limiter
from bulletin.i18n import (
    BOTH,
    LANGUAGES,
    current_lang,
    language_of,
    london_to_utc,
    london_to_utc_safe,
    utc_to_london,
)
from bulletin.mail.issue_view import SECTIONS
from bulletin.mail.rendering import RenderedEmail, render_issue, with_reader
from bulletin.models import Issue, IssueItem, Media, Opportunity, Workshop, utcnow
from bulletin.web import ButtonForm

#: Preview documents hold the email's inline styles and nothing that runs.
PREVIEW_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src https: http: data:; "
    "frame-ancestors 'self'; base-uri 'none'; form-action 'none'"
)


def _issue(issue_id: int) -> Issue:
    issue = db.session.get(Issue, issue_id)
    if issue is None:
        abort(404)
    return issue


def _item(issue: Issue, item_id: int) -> IssueItem:
    item = db.session.get(IssueItem, item_id)
    if item is None or item.issue_id != issue.id:
        abort(404)
    return item


def _check_button() -> None:
    if not ButtonForm().validate_on_submit():
        abort(400)


@bp.get("/issues")
def issues():
    rows = db.session.scalars(
        select(Issue).order_by(Issue.published_at.is_not(None), Issue.created_at.desc())
    ).all()
    return render_template("editorial/issues.html", issues=rows)


@bp.route("/issues/new", methods=["GET", "POST"])
def new_issue():
    form = IssueForm(version="0")
    if form.validate_on_submit():
        issue = ops.create_issue(form.data)
        db.session.commit()
        return redirect(url_for("editor.edit_issue", issue_id=issue.id), code=303)
    status = 400 if request.method == "POST" else 200
    return render_template("editorial/issue_new.html", form=form), status


def _send_date() -> datetime:
    raw = request.args.get("send_date", "")
    try:
        return london_to_utc_safe(datetime.strptime(raw, "%Y-%m-%dT%H:%M")) or utcnow()
    except ValueError:
        return utcnow()


def _edit_page(
    issue: Issue,
    form: IssueForm,
    status: int = 200,
    *,
    fill_form: FillForm | None = None,
    report: fill_ops.FillReport | None = None,
):
    send_at = report.send_at if report else _send_date()
    add_form = AddItemForm()
    add_form.entry.choices = ops.catalogue_choices(issue)
    if fill_form is None:
        until = fill_ops.fill_window_end(send_at, fill_ops.FILL_DEFAULT_WEEKS)
        fill_form = FillForm(
            formdata=None, send_date=utc_to_london(send_at), until=utc_to_london(until).date()
        )
    return render_template(
        "editorial/issue_edit.html",
        issue=issue,
        form=form,
        add_form=add_form,
        fill_form=fill_form,
        report=report,
        button=ButtonForm(),
        flags=ops.flag_items(issue, send_at),
        send_at=send_at,
        missing=ops.missing_languages(issue),
        sections=_sections(issue),
        sends=sends_of_issue(issue.id),
        rhythm_send=rhythm_ops.open_send(issue) if issue.rhythm_date else None,
        rhythm_mode=getattr(rhythm_ops.get_rhythm(), "mode", None) if issue.rhythm_date else None,
    ), status


def _sections(issue: Issue) -> list[tuple[str, str, list[IssueItem]]]:
    """(key, heading, items) for each section of the issue, in the issue's order."""
    items = issue.reading_order()
    return [
        (key, str(SECTIONS[key]), [i for i in items if i.section == key]) for key in issue.sections
    ]


@bp.route("/issues/<int:issue_id>", methods=["GET", "POST"])
def edit_issue(issue_id: int):
    issue = _issue(issue_id)
    form = IssueForm(obj=issue if request.method == "GET" else None)
    if not form.validate_on_submit():
        return _edit_page(issue, form, 400 if request.method == "POST" else 200)
    version = int(form.version.data) if form.version.data.isdigit() else -1
    try:
        ops.update_issue(issue, form.data, version=version)
        db.session.commit()
    except (ops.StaleIssue, StaleDataError):
        db.session.rollback()
        return render_template(
            "editorial/issue_conflict.html", issue=_issue(issue_id), form=form
        ), 409
    flash(_("Issue saved."), "success")
    return redirect(url_for("editor.edit_issue", issue_id=issue.id), code=303)


@bp.post("/issues/<int:issue_id>/items")
def add_item(issue_id: int):
    issue = _issue(issue_id)
    form = AddItemForm()
    form.entry.choices = ops.catalogue_choices(issue)
    if not form.validate_on_submit():
        flash(_("Choose a workshop or opportunity to add."), "error")
        return redirect(url_for("editor.edit_issue", issue_id=issue.id), code=303)
    kind, _sep, entry_id = form.entry.data.partition(":")
    model = Workshop if kind == "workshop" else Opportunity
    entry = db.session.get(model, int(entry_id))
    ops.add_entry(issue, entry)
    db.session.commit()
    return redirect(url_for("editor.edit_issue", issue_id=issue.id) + "#items", code=303)


@bp.post("/issues/<int:issue_id>/fill")
def fill_issue(issue_id: int):
    issue = _issue(issue_id)
    form = FillForm()
    if not form.validate_on_submit():
        return _edit_page(issue, IssueForm(obj=issue), 400, fill_form=form)
    send_at = london_to_utc_safe(form.send_date.data) if form.send_date.data else utcnow()
    # The window takes in the whole of its last day, in UK time.
    until = london_to_utc(datetime.combine(form.until.data + timedelta(days=1), time()))
    report = fill_ops.fill_issue(issue, until=until, send_at=send_at)
    db.session.commit()
    # The page answers with the report (what was added, what was left out and why); filling
    # again adds nothing twice, so a reload is harmless.
    return _edit_page(issue, IssueForm(obj=issue), fill_form=form, report=report)


@bp.post("/issues/<int:issue_id>/items/<int:item_id>/move")
def move_item(issue_id: int, item_id: int):
    _check_button()
    issue = _issue(issue_id)
    item = _item(issue, item_id)
    direction = request.form.get("direction", "")
    if direction in ("up", "down", "top", "bottom"):
        ops.move_item(item, direction)
    else:
        raw = request.form.get("position", "").strip()
        if not raw.isdigit() or not 1 <= int(raw) <= len(ops.section_items(item)):
            flash(
                _(
                    "Enter a position from 1 to %(count)s for %(title)s.",
                    count=len(ops.section_items(item)),
                    title=_item_title(item),
                ),
                "error",
            )
            return redirect(url_for("editor.edit_issue", issue_id=issue.id) + "#items", code=303)
        ops.move_item_to(item, int(raw))
    db.session.commit()
    return redirect(url_for("editor.edit_issue", issue_id=issue.id) + f"#item-{item.id}", code=303)


@bp.post("/issues/<int:issue_id>/sections/<any(workshops, opportunities, news):section>/move")
def move_section(issue_id: int, section: str):
    _check_button()
    issue = _issue(issue_id)
    ops.move_section(issue, section, "up" if request.form.get("direction") == "up" else "down")
    db.session.commit()
    return redirect(url_for("editor.edit_issue", issue_id=issue.id) + "#sections", code=303)


def _item_title(item: IssueItem) -> str:
    source = item.workshop or item.opportunity or item
    return source.title_en or source.title_cy or ""


@bp.post("/issues/<int:issue_id>/items/<int:item_id>/remove")
def remove_item(issue_id: int, item_id: int):
    _check_button()
    issue = _issue(issue_id)
    ops.remove_item(_item(issue, item_id))
    db.session.commit()
    flash(_("Item removed."), "success")
    return redirect(url_for("editor.edit_issue", issue_id=issue.id) + "#items", code=303)


@bp.post("/issues/<int:issue_id>/archive/<any(unpublish, republish):action>")
def archive_issue(issue_id: int, action: str):
    _check_button()
    issue = _issue(issue_id)
    try:
        if action == "unpublish":
            ops.unpublish_issue(issue)
        else:
            ops.republish_issue(issue)
    except ops.ArchiveStateError:
        abort(409)
    db.session.commit()
    if action == "unpublish":
        flash(_("The issue is out of the public archive and feed."), "success")
    else:
        flash(_("The issue is in the public archive and feed."), "success")
    return redirect(url_for("editor.edit_issue", issue_id=issue.id), code=303)


@bp.route("/issues/<int:issue_id>/news/new", methods=["GET", "POST"], defaults={"item_id": None})
@bp.route("/issues/<int:issue_id>/news/<int:item_id>", methods=["GET", "POST"])
def edit_news(issue_id: int, item_id: int | None):
    issue = _issue(issue_id)
    item = _item(issue, item_id) if item_id is not None else None
    if item is not None and item.kind != "news":
        abort(404)
    form = NewsItemForm(obj=item if request.method == "GET" else None)
    form.image.choices = ImageChoiceForm.choices_for(current_lang())
    if request.method == "GET":
        form.image.data = str(item.image_id) if item is not None and item.image_id else ""
    if form.validate_on_submit():
        ops.save_news_item(issue, item, form.data, image=_chosen_image(form.image.data))
        db.session.commit()
        return redirect(url_for("editor.edit_issue", issue_id=issue.id) + "#items", code=303)
    status = 400 if request.method == "POST" else 200
    return render_template("editorial/news_form.html", issue=issue, item=item, form=form), status


def _chosen_image(value: str | None) -> Media | None:
    # The select's choices are the library's images, so a valid choice is a row.
    return db.session.get(Media, int(value)) if value else None


@bp.route("/issues/<int:issue_id>/items/<int:item_id>/image", methods=["GET", "POST"])
def item_image(issue_id: int, item_id: int):
    issue = _issue(issue_id)
    item = _item(issue, item_id)
    form = ImageChoiceForm()
    form.image.choices = ImageChoiceForm.choices_for(current_lang())
    if request.method == "GET":
        form.image.data = str(item.image_id) if item.image_id else ""
    if form.validate_on_submit():
        ops.set_item_image(item, _chosen_image(form.image.data))
        db.session.commit()
        flash(_("Image saved."), "success")
        return redirect(url_for("editor.edit_issue", issue_id=issue.id) + "#items", code=303)
    status = 400 if request.method == "POST" else 200
    return render_template("editorial/item_image.html", issue=issue, item=item, form=form), status


def _preview(issue: Issue, lang: str) -> RenderedEmail:
    # As the sample reader gets it: the editor's own name, a region, two topics.
    sample = ops.sample_reader(current_user.name, lang)
    return with_reader(render_issue(issue, lang, personal=True), sample)


def _preview_page(issue: Issue, lang: str, form: TestSendForm) -> str:
    return render_template(
        "editorial/issue_preview.html",
        issue=issue,
        in_lang=lang,
        rendered=_preview(issue, lang),
        sample=ops.sample_reader(current_user.name, lang),
        missing=ops.missing_languages(issue),
        form=form,
    )


@bp.get("/issues/<int:issue_id>/preview")
def preview_issue(issue_id: int):
    issue = _issue(issue_id)
    lang = language_of(request.args.get("in"))
    return _preview_page(issue, lang, TestSendForm(language=lang))


@bp.get("/issues/<int:issue_id>/preview/<any(cy, en):in_lang>.html")
def preview_document(issue_id: int, in_lang: str):
    rendered = _preview(_issue(issue_id), in_lang)
    response = Response(rendered.html, mimetype="text/html")
    response.headers["Content-Security-Policy"] = PREVIEW_CSP
    return response


def _test_send_limit() -> str:
    return current_app.config["TEST_SEND_RATE_LIMIT"]


@bp.post("/issues/<int:issue_id>/test-send")
@limiter.limit(_test_send_limit)
def test_send(issue_id: int):
    issue = _issue(issue_id)
    form = TestSendForm()
    if form.validate_on_submit():
        try:
            addresses = testsend.parse_addresses(form.addresses.data or "", current_user.email)
        except testsend.BadAddresses as exc:
            form.addresses.errors.append(
                _("Enter up to 5 addresses.")
                if str(exc) == "too-many"
                else _("%(address)s is not a valid email address.", address=str(exc))
            )
        else:
            if form.language.data == BOTH:  # one bilingual mail, as a both reader gets it
                languages = [BOTH]
            elif form.language.data == "both":
                languages = list(LANGUAGES)
            else:
                languages = [language_of(form.language.data)]
            count = testsend.queue_test_send(
                issue, addresses, languages, editor_name=current_user.name
            )
            db.session.commit()
            flash(_("%(count)s test emails queued.", count=count), "success")
            return redirect(
                url_for(
                    "editor.preview_issue",
                    issue_id=issue.id,
                    **{"in": str(language_of(languages[0]))},
                ),
                code=303,
            )
    return _preview_page(issue, language_of(form.language.data), form), 400
