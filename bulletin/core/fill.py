"""Filling an issue with what is coming up: which entries go in, and a report of what was
left out and why. The caller commits."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import or_, select

from bulletin.core.audit import record_audit
from bulletin.core.issues import add_entry
from bulletin.extensions import db
from bulletin.models import Issue, Opportunity, Workshop, utcnow

#: Why the fill left an entry out (the editor pages word them: editorial/labels.py).
FILL_REASONS = ("in-issue", "archived", "taken-place", "booking-closed", "closed", "after-window")
#: The usual fill window: workshops starting within this many weeks of the send date.
FILL_DEFAULT_WEEKS = 6
#: How far back the fill report looks for what has just taken place or closed.
FILL_LOOKBACK = timedelta(weeks=4)
#: At most this many workshops after the window are named in the report (the nearest).
FILL_AFTER_WINDOW_SHOWN = 10


@dataclass
class FillReport:
    """What a fill added, and what it left out and why (reason: one of FILL_REASONS)."""

    send_at: datetime
    until: datetime
    added: list[Workshop | Opportunity] = field(default_factory=list)
    left_out: list[tuple[Workshop | Opportunity, str]] = field(default_factory=list)

    @property
    def last_day(self) -> datetime:
        """A moment on the window's last day (`until` itself is the first moment after it)."""
        return self.until - timedelta(seconds=1)


def fill_window_end(send_at: datetime, weeks: int) -> datetime:
    """The usual end of the fill window: `weeks` after the send date."""
    return send_at + timedelta(weeks=weeks)


def _workshop_reason(w: Workshop, start: datetime, until: datetime, have: set) -> str | None:
    if ("workshop", w.id) in have:
        return "in-issue"
    if w.is_archived:
        return "archived"
    if w.starts_at < start:
        return "taken-place"
    if w.starts_at >= until:
        return "after-window"
    if w.booking_deadline_at is not None and w.booking_deadline_at <= start:
        return "booking-closed"
    return None


def _opportunity_reason(o: Opportunity, start: datetime, have: set) -> str | None:
    if ("opportunity", o.id) in have:
        return "in-issue"
    if o.is_archived:
        return "archived"
    if o.closes_at is not None and o.closes_at <= start:
        return "closed"
    return None


def _fill_candidates(start: datetime, until: datetime):
    """Workshops and opportunities the fill adds or reports on, in reading order."""
    recent = start - FILL_LOOKBACK
    near = select(Workshop).where(
        Workshop.starts_at >= recent,
        Workshop.starts_at < until,
        # an archived workshop that has taken place is nobody's surprise
        or_(Workshop.is_archived.is_(False), Workshop.starts_at >= start),
    )
    later = (
        select(Workshop)
        .where(Workshop.is_archived.is_(False), Workshop.starts_at >= until)
        .order_by(Workshop.starts_at)
        .limit(FILL_AFTER_WINDOW_SHOWN)
    )
    opportunities = select(Opportunity).where(
        or_(Opportunity.closes_at.is_(None), Opportunity.closes_at > recent),
        or_(
            Opportunity.is_archived.is_(False),
            Opportunity.closes_at.is_(None),
            Opportunity.closes_at > start,
        ),
    )
    yield from db.session.scalars(near.order_by(Workshop.starts_at, Workshop.id))
    yield from db.session.scalars(later)
    yield from db.session.scalars(
        opportunities.order_by(
            Opportunity.closes_at.is_(None), Opportunity.closes_at, Opportunity.id
        )
    )


def fill_issue(issue: Issue, *, until: datetime, send_at: datetime | None = None) -> FillReport:
    """Add every workshop starting between the send date and `until`, and every opportunity
    open on the send date; report what was left out and why."""
    start = send_at or utcnow()
    report = FillReport(start, until)
    have = {(i.kind, i.workshop_id or i.opportunity_id) for i in issue.items}
    for entry in list(_fill_candidates(start, until)):
        if isinstance(entry, Workshop):
            reason = _workshop_reason(entry, start, until, have)
        else:
            reason = _opportunity_reason(entry, start, have)
        if reason is None:
            add_entry(issue, entry, audit=False)
            report.added.append(entry)
        else:
            report.left_out.append((entry, reason))
    record_audit(
        "issue.fill",
        issue,
        detail={
            "until": until.isoformat(),
            "added": len(report.added),
            "left_out": len(report.left_out),
        },
    )
    return report
