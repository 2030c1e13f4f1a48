"""Click counts for editors: per item on a send's page (templates/editorial/sends/_clicks.html,
filled by core/clicks.py), and interest per catalogue entry across sends, with a CSV for
funders' reports. Every figure goes through the small-number rule."""

from __future__ import annotations

from flask import render_template, stream_with_context
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from bulletin.core.clicks import EntryInterest, interest_by_entry
from bulletin.core.disclosure import SMALL_COUNT, shown_count_text
from bulletin.editorial.access import editor_required
from bulletin.editorial.views import bp
from bulletin.privacy.exporter import csv_lines
from bulletin.web import private_download

#: What each kind of counted link is, as the send page names it.
LINK_ROLES = {
    "more": _l("Its page"),
    "booking": _l("Book a place"),
    "calendar": _l("Add to calendar"),
    "text": _l("A link in its text"),
}
ENTRY_KINDS = {"workshop": _l("Workshop"), "opportunity": _l("Opportunity")}


@bp.app_template_global("link_role_label")
def link_role_label(role: str) -> str:
    """The translated name of a kind of counted link."""
    return str(LINK_ROLES.get(role, role))


@bp.get("/interest")
@editor_required
def interest():
    return render_template("editorial/interest.html", rows=interest_by_entry(), kinds=ENTRY_KINDS)


@bp.get("/interest.csv")
@editor_required
def interest_csv():
    header = [
        _("Kind"),
        _("Id"),
        _("Slug"),
        _("Title (English)"),
        _("Title (Welsh)"),
        _("Sends that featured it"),
        _("Clicks"),
        _("Scanner fetches"),
    ]
    fewer = _("fewer than %(n)d", n=SMALL_COUNT)
    rows = (_csv_row(row, fewer) for row in interest_by_entry())
    body = stream_with_context(csv_lines(header, rows))
    return private_download(body, "interest.csv", "text/csv")


def _csv_row(row: EntryInterest, fewer: str) -> list[object]:
    entry = row.entry
    return [
        str(ENTRY_KINDS[row.kind]),
        entry.id,
        entry.slug,
        entry.title_en or "",
        entry.title_cy or "",
        row.sends,
        shown_count_text(row.clicks, fewer),
        shown_count_text(row.scanner_hits, fewer),
    ]
