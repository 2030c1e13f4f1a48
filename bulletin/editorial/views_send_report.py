"""A send's report on its page, as CSV, and (admins only) its failed addresses as CSV.

The figures are core/send_report.py's; these views only lay them out.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from flask import Blueprint, abort, stream_with_context
from flask_babel import gettext as _
from flask_login import current_user

from bulletin.core import alerts, health, send_report
from bulletin.core.audit import record_audit
from bulletin.editorial.access import admin_required, editor_required
from bulletin.editorial.labels import failure_reason_label
from bulletin.extensions import db
from bulletin.i18n import LANGUAGES, Language, current_lang
from bulletin.models import Send, SendStatus, region_name
from bulletin.privacy.exporter import escape_cell
from bulletin.web import ButtonForm, private_download, small_count_words

bp = Blueprint("send_reports", __name__, url_prefix="/editor/sends")

#: Failed addresses listed on the send page; the CSV has them all.
FAILED_ON_PAGE = 100
FAILED_COLUMNS = ["email", "language", "region", "reason", "reply", "attempts"]


def report_context(send: Send) -> dict:
    """What the send page needs to show the report: nothing until the send has ended
    (done, or cancelled after it started); the failed addresses for admins only."""
    if send.status not in (SendStatus.DONE, SendStatus.CANCELLED) or send.started_at is None:
        return {"report": None, "failed": []}
    report = send_report.build_report(send)
    failed = []
    if current_user.is_admin and report.totals.failed:
        failed = send_report.failed_recipients(send.id, limit=FAILED_ON_PAGE)
    return {
        "report": report,
        "failed": failed,
        "failed_on_page": FAILED_ON_PAGE,
        # Delivery health (issue 14): the rates the alerts watch, and why messages failed.
        "send_health": health.send_health(send),
        "health_limits": alerts.LIMITS,
        "failure_pairs": [
            (failure_reason_label(code), number) for code, number in report.failure_reasons.items()
        ],
    }


@bp.get("/<int:send_id>/report.csv")
@editor_required
def report_csv(send_id: int):
    send = db.get_or_404(Send, send_id)
    report = send_report.build_report(send)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(send_report.ROW_COLUMNS)
    writer.writerows(send_report.report_rows(report, small_count_words()))
    return private_download(buffer.getvalue(), f"send-{send.id}-report.csv", "text/csv")


@bp.post("/<int:send_id>/failed.csv")
@admin_required
def failed_csv(send_id: int):
    send = db.get_or_404(Send, send_id)
    if not ButtonForm().validate_on_submit():
        abort(400)
    record_audit("send.failed_export", send)
    db.session.commit()
    return private_download(
        stream_with_context(_failed_rows(send.id)), f"send-{send.id}-failed.csv", "text/csv"
    )


def _failed_rows(send_id: int) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(FAILED_COLUMNS)
    for row in send_report.iter_failed(send_id):
        values = (row.email, row.language, row.region, row.reason, row.reply, row.attempts)
        writer.writerow([escape_cell(value) for value in values])
        if buffer.tell() > 65536:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


@bp.app_template_global("report_segment_label")
def report_segment_label(dimension: str, key: str) -> str:
    """A segment of a send's report in words: a language's or a region's name."""
    if key == send_report.UNKNOWN:
        return _("Not given or not known")
    if dimension == "language":
        return Language(key).native_name if key in LANGUAGES else key
    return region_name(key, current_lang()) or key
