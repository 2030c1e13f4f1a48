"""The public archive: published issues, their Atom feed, workshop pages and .ics files."""

from __future__ import annotations

from email.utils import parseaddr

from feedgen.feed import FeedGenerator
from flask import Blueprint, Response, abort, current_app, render_template
from sqlalchemy import select

from bulletin.extensions import db
from bulletin.i18n import current_lang, language_tag
from bulletin.mail.calendar import workshop_calendar
from bulletin.mail.issue_view import build_issue_view, item_language, public_text
from bulletin.mail.links import external_url, requested_page
from bulletin.mail.mime import domain_of
from bulletin.models import Issue, Workshop

bp = Blueprint("archive", __name__)
PER_PAGE = 20


def _published():
    return (
        select(Issue)
        .where(Issue.published_at.is_not(None), Issue.unpublished_at.is_(None))
        .order_by(Issue.published_at.desc(), Issue.id.desc())
    )


@bp.get("/issues")
def issues():
    page = db.paginate(_published(), page=requested_page(), per_page=PER_PAGE, error_out=True)
    return render_template("archive/issues.html", page=page, lang=current_lang())


@bp.get("/issues/<slug>")
def issue(slug: str):
    found = db.session.scalar(select(Issue).where(Issue.slug == slug))
    if found is None or found.published_at is None:
        abort(404)
    if not found.is_in_archive:
        # Sent, but the editors keep it out of the archive: gone, not missing. A 410 may be
        # cached heuristically, and an editor can put the issue back: no cache may reuse it.
        page = render_template("archive/unpublished.html", lang=current_lang())
        return page, 410, {"Cache-Control": "no-cache"}
    lang = current_lang()
    return render_template(
        "archive/issue.html", issue=found, lang=lang, view=build_issue_view(found, lang)
    )


@bp.get("/issues.atom")
def feed():
    lang = current_lang()
    generator = FeedGenerator()
    generator.id(external_url("archive.issues"))
    generator.title(current_app.config["ORG_NAME"])
    generator.author(
        {
            "name": current_app.config["ORG_NAME"],
            "email": parseaddr(current_app.config["MAIL_FROM"])[1],
        }
    )
    generator.link(href=external_url("archive.feed"), rel="self")
    generator.link(href=external_url("archive.issues"), rel="alternate")
    generator.language(language_tag(lang))
    rows = list(db.session.scalars(_published().limit(50)))
    generator.updated(rows[0].published_at if rows else _epoch())
    for row in reversed(rows):  # feedgen prepends: add oldest first so the newest leads
        _add_entry(generator, row, lang)
    return Response(generator.atom_str(pretty=True), mimetype="application/atom+xml")


def _epoch():
    from datetime import UTC, datetime

    return datetime(2000, 1, 1, tzinfo=UTC)


def _add_entry(generator: FeedGenerator, row: Issue, lang: str) -> None:
    url = external_url("archive.issue", slug=row.slug)
    entry = generator.add_entry()
    entry.id(url)
    entry.title(public_text(row, "subject", lang)[0] or row.slug)
    entry.link(href=url, rel="alternate")
    entry.published(row.published_at)
    entry.updated(row.published_at)
    summary = public_text(row, "preheader", lang)[0]
    if summary:
        entry.summary(summary)


def _workshop(slug: str) -> Workshop:
    found = db.session.scalar(select(Workshop).where(Workshop.slug == slug))
    if found is None:
        abort(404)
    if found.is_archived:
        # Withdrawn by an editor, yet old bulletins still link here: say so, and serve nothing.
        page = render_template("errors/error.html", code=410, reason="workshop-archived")
        abort(Response(page, 410))
    return found


@bp.get("/workshops/<slug>")
def workshop(slug: str):
    found = _workshop(slug)
    lang = current_lang()
    return render_template(
        "archive/workshop.html", workshop=found, lang=lang, text_lang=item_language(found, lang)
    )


@bp.get("/workshops/<slug>.ics")
def workshop_ics(slug: str):
    found = _workshop(slug)
    domain = domain_of(current_app.config["MAIL_FROM"])
    body = workshop_calendar(found, current_lang(), domain=domain)
    return Response(
        body,
        mimetype="text/calendar",
        headers={"Content-Disposition": f'attachment; filename="{found.slug}.ics"'},
    )
