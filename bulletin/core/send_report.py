"""What happened after a send: one report that the send page, its CSV and the API all show.

Every figure comes from a GROUP BY over the send's rows; nothing loads its deliveries:
- delivered, failed and skipped, by language and region: one pass over the deliveries;
- why deliveries failed: their last SMTP replies, grouped, each distinct reply judged once
  by the bounce classifier (bounces/classify/reply.py);
- bounced later and complaints: bounce events about a delivery our relay had accepted;
- unsubscribes: consent events that carry this send (its signed unsubscribe link named it).

To add a measure (per-link clicks, say), add a field to Figures or a new section to
SendReport with a default, fill it in build_report, and give it rows in report_rows: the
API's as_dict and the CSV carry every field.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import asdict, dataclass, fields
from datetime import datetime

from sqlalchemy import and_, case, func, literal, select

from bulletin.bounces.classify.reply import FAILURE_REASONS, failure_reason
from bulletin.core.disclosure import SMALL_COUNT, shown_count, shown_count_text
from bulletin.core.redaction import redact
from bulletin.extensions import db
from bulletin.i18n import CODES
from bulletin.models import (
    REGIONS,
    BounceEvent,
    ConsentEvent,
    Delivery,
    DeliveryStatus,
    Send,
    SendStatus,
    Subscriber,
)

#: The segment of readers whose region (or language) is not given, or no longer known.
UNKNOWN = "none"
#: Bounce kinds that mean the message did not arrive after all.
BOUNCE_KINDS = ("hard", "soft")
#: The columns of report_rows (the report's CSV).
ROW_COLUMNS = ["section", "segment", "measure", "value"]


@dataclass(frozen=True)
class Figures:
    """The measures counted for a whole send, or for one segment of its readers."""

    recipients: int = 0
    delivered: int = 0  #: accepted by the receiving server
    failed: int = 0
    skipped: int = 0  #: left, suppressed or cancelled before their message went
    bounced_later: int = 0  #: accepted, then a bounce came back
    complaints: int = 0
    unsubscribes: int = 0  #: through this send's unsubscribe links

    def shown(self) -> dict[str, int | None]:
        """Each measure under the small-number rule: None stands for "fewer than 5"."""
        return {name: shown_count(value) for name, value in asdict(self).items()}


MEASURES = tuple(f.name for f in fields(Figures))


@dataclass(frozen=True)
class Segment:
    """One language or region and its figures."""

    key: str  #: a language code, a region code, or UNKNOWN
    figures: Figures


@dataclass(frozen=True)
class Breakdown:
    """The send's figures split by one dimension (language, region)."""

    dimension: str
    segments: tuple[Segment, ...]


@dataclass(frozen=True)
class SendReport:
    """A send's outcome. Frozen and plain: the page, the CSV and the API read it."""

    send_id: int
    issue_id: int
    status: str
    started_at: datetime | None
    finished_at: datetime | None
    totals: Figures
    #: Failed deliveries per reason (FAILURE_REASONS order, every reason present).
    failure_reasons: dict[str, int]
    breakdowns: tuple[Breakdown, ...] = ()
    # What comes next goes here as fields with defaults, e.g. per-link clicks as
    # `links: tuple[LinkCount, ...] = ()` or a chart's `timeline: tuple[Point, ...] = ()`;
    # a new dimension (topic) is one more Breakdown: the CSV and as_dict carry it as it is;
    # the page needs its heading, and the API schema its key.

    @property
    def is_final(self) -> bool:
        """Whether the send has ended (done or cancelled): its sending figures are fixed."""
        return self.status in (SendStatus.DONE, SendStatus.CANCELLED)

    @property
    def totals_exact(self) -> bool:
        """Whether the whole send's figures may be shown exactly: not when the send itself
        went to fewer than SMALL_COUNT readers (then it is a small segment too)."""
        return not 0 < self.totals.recipients < SMALL_COUNT

    def breakdown(self, dimension: str) -> Breakdown:
        """The breakdown by `dimension` ("language" or "region")."""
        return next(b for b in self.breakdowns if b.dimension == dimension)

    def as_dict(self) -> dict:
        """For the API: breakdowns (and small totals) under the small-number rule."""
        totals = asdict(self.totals) if self.totals_exact else self.totals.shown()
        return {
            "send_id": self.send_id,
            "issue_id": self.issue_id,
            "status": self.status,
            "is_final": self.is_final,
            "started_at": _iso(self.started_at),
            "finished_at": _iso(self.finished_at),
            "totals": totals,
            "failure_reasons": {
                reason: number if self.totals_exact else shown_count(number)
                for reason, number in self.failure_reasons.items()
            },
            "breakdowns": {
                b.dimension: [{"segment": s.key, **s.figures.shown()} for s in b.segments]
                for b in self.breakdowns
            },
        }


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def build_report(send: Send) -> SendReport:
    """The report of one send, from a handful of grouped queries."""
    counts: dict[tuple[str, str], Counter] = defaultdict(Counter)
    for language, region, measure, number in _grouped_rows(send.id):
        key = (language or UNKNOWN, region if region in REGIONS else UNKNOWN)
        counts[key][measure] += number
    totals = Counter()
    for counter in counts.values():
        totals.update(counter)
    return SendReport(
        send_id=send.id,
        issue_id=send.issue_id,
        status=send.status,
        started_at=send.started_at,
        finished_at=send.finished_at,
        totals=_figures(totals),
        failure_reasons=failure_counts(send.id),
        breakdowns=(
            _breakdown("language", counts, 0, list(CODES)),
            _breakdown("region", counts, 1, list(REGIONS)),
        ),
    )


def _figures(counter: Counter) -> Figures:
    return Figures(**{name: counter.get(name, 0) for name in MEASURES})


def _breakdown(dimension: str, counts: dict, index: int, order: list[str]) -> Breakdown:
    merged: dict[str, Counter] = defaultdict(Counter)
    for key, counter in counts.items():
        merged[key[index]].update(counter)
    ranked = sorted(merged, key=lambda k: order.index(k) if k in order else len(order))
    return Breakdown(dimension, tuple(Segment(k, _figures(merged[k])) for k in ranked))


def _grouped_rows(send_id: int) -> Iterator[tuple[str | None, str | None, str, int]]:
    """(language, region, measure, count) rows: deliveries, bounces, complaints, unsubscribes."""
    measure = case(
        (Delivery.status == DeliveryStatus.SENT, "delivered"),
        (Delivery.status == DeliveryStatus.FAILED, "failed"),
        (Delivery.status == DeliveryStatus.SKIPPED, "skipped"),
        else_="pending",
    )
    by_status = (
        select(Delivery.language, Subscriber.region, measure, func.count())
        .select_from(Delivery)
        .outerjoin(Subscriber, Subscriber.id == Delivery.subscriber_id)
        .where(Delivery.send_id == send_id)
        .group_by(Delivery.language, Subscriber.region, measure)
    )
    for language, region, name, number in db.session.execute(by_status):
        yield language, region, "recipients", number
        if name != "pending":
            yield language, region, name, number
    yield from db.session.execute(_events_query(send_id))
    yield from db.session.execute(_unsubscribes_query(send_id))


def _events_query(send_id: int):
    # Reports about a delivery the relay accepted: a refusal while sending is "failed" (its
    # hard-bounce event, source smtp-reply, is about a failed delivery and stays out).
    kind = case((BounceEvent.kind == "complaint", "complaints"), else_="bounced_later")
    return (
        select(Delivery.language, Subscriber.region, kind, func.count(func.distinct(Delivery.id)))
        .select_from(BounceEvent)
        .join(Delivery, Delivery.id == BounceEvent.delivery_id)
        .outerjoin(Subscriber, Subscriber.id == Delivery.subscriber_id)
        .where(
            Delivery.send_id == send_id,
            Delivery.status == DeliveryStatus.SENT,
            BounceEvent.kind.in_((*BOUNCE_KINDS, "complaint")),
        )
        .group_by(Delivery.language, Subscriber.region, kind)
    )


def _unsubscribes_query(send_id: int):
    # An erased reader keeps their consent events (subscriber_id null): counted, with the
    # language the event recorded and no region. Readers, not events: one who came back and
    # left through the same send's link again counts once.
    language = func.coalesce(Delivery.language, ConsentEvent.language)
    readers = func.count(func.distinct(ConsentEvent.subject_uid))
    return (
        select(language, Subscriber.region, literal("unsubscribes"), readers)
        .select_from(ConsentEvent)
        .outerjoin(
            Delivery,
            and_(
                Delivery.send_id == ConsentEvent.send_id,
                Delivery.subscriber_id == ConsentEvent.subscriber_id,
            ),
        )
        .outerjoin(Subscriber, Subscriber.id == ConsentEvent.subscriber_id)
        .where(ConsentEvent.send_id == send_id, ConsentEvent.kind == "unsubscribe")
        .group_by(language, Subscriber.region)
    )


class ReasonMemo:
    """failure_reason, judged once per wording: replies differ mostly by the address they
    quote (0.5 ms a judgement: 20,000 refusals took 10 s), so the address is masked first
    (it is no evidence of why) and each masked wording is judged once."""

    LIMIT = 10_000  #: wordings remembered; past that each is judged afresh

    def __init__(self) -> None:
        self.seen: dict[str, str] = {}

    def __call__(self, reply: str | None) -> str:
        key = redact(reply) if reply else ""
        reason = self.seen.get(key)
        if reason is None:
            reason = failure_reason(key)
            if len(self.seen) < self.LIMIT:
                self.seen[key] = reason
        return reason


def failure_counts(send_id: int) -> dict[str, int]:
    """Failed deliveries per reason: replies grouped in SQL, each wording judged once."""
    counts = dict.fromkeys(FAILURE_REASONS, 0)
    replies = (
        select(Delivery.last_reply, func.count())
        .where(Delivery.send_id == send_id, Delivery.status == DeliveryStatus.FAILED)
        .group_by(Delivery.last_reply)
        .execution_options(yield_per=500)
    )
    reason_of = ReasonMemo()
    for reply, number in db.session.execute(replies):
        counts[reason_of(reply)] += number
    return counts


@dataclass(frozen=True)
class FailedRecipient:
    """One failed delivery, for admins: whom, and what the server said."""

    email: str
    language: str
    region: str | None
    reason: str
    reply: str | None
    attempts: int


def _failed_query(send_id: int):
    return (
        select(
            Subscriber.email,
            Delivery.language,
            Subscriber.region,
            Delivery.last_reply,
            Delivery.attempts,
        )
        .join(Subscriber, Subscriber.id == Delivery.subscriber_id)
        .where(Delivery.send_id == send_id, Delivery.status == DeliveryStatus.FAILED)
        .order_by(Delivery.id)
    )


def failed_total(send_id: int) -> int:
    """How many deliveries of the send failed (for paging the list)."""
    query = select(func.count()).where(
        Delivery.send_id == send_id, Delivery.status == DeliveryStatus.FAILED
    )
    return db.session.scalar(query) or 0


def failed_recipients(send_id: int, limit: int, offset: int = 0) -> list[FailedRecipient]:
    """A page of the send's failed deliveries with their addresses (admins only)."""
    rows = db.session.execute(_failed_query(send_id).limit(limit).offset(offset))
    reason_of = ReasonMemo()
    return [_failed(row, reason_of) for row in rows]


def _failed(row, reason_of: ReasonMemo) -> FailedRecipient:
    email, language, region, reply, attempts = row
    return FailedRecipient(email, language, region, reason_of(reply), reply, attempts)


def report_rows(report: SendReport, fewer_words: str) -> Iterator[list[str]]:
    """The report as (section, segment, measure, value) rows; breakdowns (and the totals of
    a send to fewer than SMALL_COUNT readers) under the small-number rule."""
    for name, value in asdict(report.totals).items():
        shown = str(value) if report.totals_exact else shown_count_text(value, fewer_words)
        yield ["total", "", name, shown]
    for reason, number in report.failure_reasons.items():
        shown = str(number) if report.totals_exact else shown_count_text(number, fewer_words)
        yield ["failed_reason", reason, "failed", shown]
    for breakdown in report.breakdowns:
        for segment in breakdown.segments:
            for name, value in asdict(segment.figures).items():
                yield [breakdown.dimension, segment.key, name, shown_count_text(value, fewer_words)]


def iter_failed(send_id: int) -> Iterator[FailedRecipient]:
    """Every failed delivery of the send, streamed (admins only: it has addresses)."""
    query = _failed_query(send_id).execution_options(yield_per=500)
    reason_of = ReasonMemo()
    for row in db.session.execute(query):
        yield _failed(row, reason_of)
