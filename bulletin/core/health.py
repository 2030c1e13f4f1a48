"""Delivery health: hard-bounce and complaint rates, for one send and for recent weeks.

The one home of the rates and their limits: the send report, the insights page, the
dashboard and the alerts (core/alerts.py) all read them here.

A send's delivered count is its deliveries the mail server accepted (status sent); its
attempts add those refused for good (failed). Hard bounces are `hard` bounce events that
name one of its deliveries, whether refused while sending (5.1.x) or reported later by a
DSN; complaints are `complaint` events that name one of its deliveries.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, func, select

from bulletin.extensions import db
from bulletin.models import BounceEvent, Delivery, DeliveryStatus, Send, SendStatus, utcnow

#: Above this share of delivered messages, complaints put a send's reputation at risk.
COMPLAINT_LIMIT = 0.001
#: Above this share of attempted messages, hard bounces say the list needs cleaning.
HARD_BOUNCE_LIMIT = 0.02
#: The window of the "recent" rates.
RECENT_DAYS = 30


@dataclass(frozen=True)
class Health:
    """Counts and rates for a set of deliveries."""

    delivered: int
    attempted: int
    hard_bounces: int
    complaints: int

    @property
    def complaint_rate(self) -> float:
        """Complaints per delivered message (0 when nothing was delivered)."""
        return self.complaints / self.delivered if self.delivered else 0.0

    @property
    def hard_bounce_rate(self) -> float:
        """Hard bounces per attempted message (0 when nothing was attempted)."""
        return self.hard_bounces / self.attempted if self.attempted else 0.0

    @property
    def complaints_high(self) -> bool:
        return self.complaint_rate > COMPLAINT_LIMIT

    @property
    def hard_bounces_high(self) -> bool:
        return self.hard_bounce_rate > HARD_BOUNCE_LIMIT


def _events_by_kind(*where) -> dict[str, int]:
    # Distinct deliveries: a reader who complains twice about one message counts once.
    query = (
        select(BounceEvent.kind, func.count(func.distinct(BounceEvent.delivery_id)))
        .join(Delivery, Delivery.id == BounceEvent.delivery_id)
        .where(BounceEvent.kind.in_(("hard", "complaint")), *where)
        .group_by(BounceEvent.kind)
    )
    return dict(db.session.execute(query).all())


def send_health(send: Send) -> Health:
    """A send's delivered and attempted counts, hard bounces and complaints.

    A finished send's counts were stored when it ended; its reports are looked for only
    from its start on (the bounce_event index on created_at), so this stays cheap at a
    million deliveries (the dashboard calls it)."""
    if send.status == SendStatus.DONE:
        sent, failed = send.sent_count, send.failed_count
    else:
        sent, failed = db.session.execute(
            select(
                func.count(case((Delivery.status == DeliveryStatus.SENT, 1))),
                func.count(case((Delivery.status == DeliveryStatus.FAILED, 1))),
            ).where(Delivery.send_id == send.id)
        ).one()
    since = send.started_at or send.created_at
    events = _events_by_kind(Delivery.send_id == send.id, BounceEvent.created_at >= since)
    return Health(sent, sent + failed, events.get("hard", 0), events.get("complaint", 0))


def recent_health(days: int = RECENT_DAYS, now: datetime | None = None) -> Health:
    """The same figures for bulk mail of the last `days` days: messages by when they were
    sent, refusals and reports by when they came (a refused message has no sent_at)."""
    since = (now or utcnow()) - timedelta(days=days)
    sent = db.session.scalar(select(func.count()).where(Delivery.sent_at >= since)) or 0
    refused_hard = db.session.scalar(
        select(func.count(func.distinct(BounceEvent.delivery_id)))
        .join(Delivery, Delivery.id == BounceEvent.delivery_id)
        .where(
            BounceEvent.kind == "hard",
            BounceEvent.created_at >= since,
            Delivery.status == DeliveryStatus.FAILED,
        )
    )
    events = _events_by_kind(BounceEvent.created_at >= since)
    return Health(
        sent, sent + (refused_hard or 0), events.get("hard", 0), events.get("complaint", 0)
    )


def last_finished_send() -> Send | None:
    """The send that finished last, if any."""
    return db.session.scalar(
        select(Send)
        .where(Send.status == SendStatus.DONE, Send.finished_at.is_not(None))
        .order_by(Send.finished_at.desc(), Send.id.desc())
        .limit(1)
    )
