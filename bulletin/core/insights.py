"""The audience over time and today: weekly sign-ups, confirmations and unsubscribes from
the consent trail, and today's subscribers by topic, region and language.

The trail outlives erased subscribers, so past weeks do not shrink when someone is
erased. Weeks start on Monday at midnight in London; the last one is the current week.
Every count is one grouped query; no subscriber or event is loaded.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import case, func, select

from bulletin.extensions import db
from bulletin.i18n import LONDON, READER_CHOICES
from bulletin.models import (
    REGIONS,
    ConsentEvent,
    Subscriber,
    SubscriberStatus,
    Topic,
    subscriber_topic,
    utcnow,
)

#: The consent events each weekly figure counts (a complaint also records an unsubscribe).
WEEKLY_KINDS = {"signups": "signup", "confirmations": "confirm", "unsubscribes": "unsubscribe"}
#: How many weeks the insights page may show.
WEEK_CHOICES = (8, 12, 26)
DEFAULT_WEEKS = 12


@dataclass(frozen=True)
class Week:
    """One week's figures for the whole list."""

    starts_on: date  #: the Monday, in London
    signups: int
    confirmations: int
    unsubscribes: int

    @property
    def net(self) -> int:
        """Net growth of the mailable list: confirmations less unsubscribes."""
        return self.confirmations - self.unsubscribes


def week_starts(weeks: int, now: datetime | None = None) -> list[datetime]:
    """The UTC instants at which each of the last `weeks` London weeks began, oldest first."""
    today = (now or utcnow()).astimezone(LONDON).date()
    monday = today - timedelta(days=today.weekday())
    days = [monday - timedelta(weeks=back) for back in range(weeks - 1, -1, -1)]
    return [datetime.combine(day, time(), tzinfo=LONDON).astimezone(UTC) for day in days]


def weekly_growth(weeks: int = DEFAULT_WEEKS, now: datetime | None = None) -> list[Week]:
    """Sign-ups, confirmations and unsubscribes in each of the last `weeks` weeks."""
    starts = week_starts(weeks, now)
    created = ConsentEvent.created_at
    bucket = case(*[(created < starts[i + 1], i) for i in range(weeks - 1)], else_=weeks - 1).label(
        "week"
    )
    rows = db.session.execute(
        select(ConsentEvent.kind, bucket, func.count())
        .where(ConsentEvent.kind.in_(WEEKLY_KINDS.values()), created >= starts[0])
        .group_by(ConsentEvent.kind, bucket)
    ).all()
    counts = {(kind, week): count for kind, week, count in rows}
    return [
        Week(
            starts_on=start.astimezone(LONDON).date(),
            **{name: counts.get((kind, i), 0) for name, kind in WEEKLY_KINDS.items()},
        )
        for i, start in enumerate(starts)
    ]


def _confirmed():
    return Subscriber.status == SubscriberStatus.CONFIRMED


def confirmed_total() -> int:
    """How many people get the bulletin now."""
    return db.session.scalar(select(func.count()).where(_confirmed())) or 0


def audience_by_topic() -> list[tuple[Topic, int]]:
    """Confirmed subscribers per topic (every topic, in the editors' order, zeros kept)."""
    counts = dict(
        db.session.execute(
            select(subscriber_topic.c.topic_id, func.count())
            .join(Subscriber, Subscriber.id == subscriber_topic.c.subscriber_id)
            .where(_confirmed())
            .group_by(subscriber_topic.c.topic_id)
        ).all()
    )
    topics = db.session.scalars(select(Topic).order_by(Topic.position, Topic.id))
    return [(topic, counts.get(topic.id, 0)) for topic in topics]


def audience_by_region() -> list[tuple[str | None, int]]:
    """Confirmed subscribers per region code (None: no region given), every region listed."""
    counts = dict(
        db.session.execute(
            select(Subscriber.region, func.count()).where(_confirmed()).group_by(Subscriber.region)
        ).all()
    )
    known = [(code, counts.pop(code, 0)) for code in REGIONS]
    unknown = sum(counts.values())  # no region, or a code no longer offered
    return known + [(None, unknown)]


def audience_by_language() -> list[tuple[str, int]]:
    """Confirmed subscribers per language choice: Welsh, English, both (READER_CHOICES)."""
    counts = dict(
        db.session.execute(
            select(Subscriber.language, func.count())
            .where(_confirmed())
            .group_by(Subscriber.language)
        ).all()
    )
    return [(choice, counts.get(choice, 0)) for choice in READER_CHOICES]
