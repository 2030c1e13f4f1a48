"""Subscriber CSV export, streamed in keyset pages and safe to open in a spreadsheet."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass

from sqlalchemy import select

from bulletin.extensions import db
from bulletin.models import ConsentEvent, Subscriber, Topic, subscriber_topic

PAGE = 1000
#: Cells a spreadsheet could run as a formula (CSV injection, after OWASP's guidance): one that
#: starts with = + - @ TAB or CR, also after leading spaces, and one holding a separator (, or ;)
#: followed, after any spaces or quotes, by one of those, which a spreadsheet splitting the
#: text on that separator would start a new cell with.
FORMULA = re.compile(r"^\s*[=+\-@\t\r]|[,;][\s\"']*[=+\-@\t\r]")
COLUMNS = [
    "email",
    "name",
    "status",
    "language",
    "region",
    "topics",
    "created_at",
    "confirmed_at",
    "unsubscribed_at",
]
CONSENT_COLUMNS = ["at", "kind", "source", "wording_version", "language", "details"]


@dataclass(frozen=True)
class ExportFilter:
    """Which subscribers to export; None means any."""

    status: str | None = None
    topic: str | None = None
    region: str | None = None
    language: str | None = None

    def as_dict(self) -> dict:
        """The filter for the audit log."""
        return {k: v for k, v in asdict(self).items() if v}


def escape_cell(value: object) -> str:
    """The cell as text, with a leading apostrophe where a spreadsheet would see a formula."""
    text = "" if value is None else str(value)
    return "'" + text if FORMULA.search(text) else text


def _iso(value) -> str:
    return value.isoformat() if value is not None else ""


def _query(selection: ExportFilter, after_id: int):
    query = select(Subscriber).where(Subscriber.id > after_id).order_by(Subscriber.id).limit(PAGE)
    if selection.status:
        query = query.where(Subscriber.status == selection.status)
    if selection.region:
        query = query.where(Subscriber.region == selection.region)
    if selection.language:
        query = query.where(Subscriber.language == selection.language)
    if selection.topic:
        with_topic = (
            select(subscriber_topic.c.subscriber_id)
            .join(Topic, Topic.id == subscriber_topic.c.topic_id)
            .where(Topic.slug == selection.topic)
        )
        query = query.where(Subscriber.id.in_(with_topic))
    return query


def _topics_for(ids: list[int]) -> dict[int, list[str]]:
    rows = db.session.execute(
        select(subscriber_topic.c.subscriber_id, Topic.slug)
        .join(Topic, Topic.id == subscriber_topic.c.topic_id)
        .where(subscriber_topic.c.subscriber_id.in_(ids))
        .order_by(Topic.position)
    ).all()
    found: dict[int, list[str]] = {}
    for subscriber_id, slug in rows:
        found.setdefault(subscriber_id, []).append(slug)
    return found


def iter_subscriber_rows(selection: ExportFilter) -> Iterator[list[str]]:
    """Matching subscribers as CSV rows, one page of PAGE in memory at a time."""
    after_id = 0
    while True:
        page = list(db.session.scalars(_query(selection, after_id)))
        if not page:
            return
        topics = _topics_for([s.id for s in page])
        for s in page:
            yield [
                s.email,
                s.name,
                s.status,
                s.language,
                s.region,
                ";".join(topics.get(s.id, [])),
                _iso(s.created_at),
                _iso(s.confirmed_at),
                _iso(s.unsubscribed_at),
            ]
        after_id = page[-1].id
        db.session.expunge_all()  # keep the identity map from growing with the list


def csv_lines(header: list[str], rows: Iterable[list[object]]) -> Iterator[str]:
    """CSV text, one escaped line at a time (for a streamed response or a file)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    yield buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    for row in rows:
        writer.writerow([escape_cell(value) for value in row])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()


def stream_subscribers_csv(selection: ExportFilter) -> Iterator[str]:
    """The subscriber export as CSV text chunks."""
    return csv_lines(COLUMNS, iter_subscriber_rows(selection))


def consent_rows(events: list[ConsentEvent]) -> list[list[object]]:
    """Consent events as CSV rows."""
    return [
        [_iso(e.created_at), e.kind, e.source, e.wording_version, e.language, e.details]
        for e in events
    ]


def consent_json(events: list[ConsentEvent]) -> list[dict]:
    """Consent events as JSON-ready dicts."""
    return [
        dict(zip(CONSENT_COLUMNS, row, strict=True)) | {"details": _details(e.details)}
        for e, row in zip(events, consent_rows(events), strict=True)
    ]


def _details(raw: str | None) -> object:
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return raw
