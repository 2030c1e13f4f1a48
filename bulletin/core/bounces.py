"""Admin verbs and queries for the suppression list and bounce records. The caller commits."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from sqlalchemy import func, select

from bulletin.core.audit import record_audit
from bulletin.core.suppressions import lift, suppress
from bulletin.extensions import db
from bulletin.mail.pseudonyms import hash_address
from bulletin.models import BounceAction, BounceEvent, Subscriber, SubscriberStatus, Suppression

CSV_COLUMNS = ["address_hash", "reason", "source", "created_at"]


def find_entry(address: str) -> Suppression | None:
    """The suppression entry of an address (exact, case-insensitive), if any."""
    return db.session.scalar(select(Suppression).filter_by(address_hash=hash_address(address)))


def add_entry(address: str, reason: str, note: str | None) -> Suppression:
    """Put an address on the list by hand; audit-logged without the address."""
    entry = suppress(address, reason, source="admin", note=note or None)
    record_audit("suppression.add", entry, detail={"reason": reason})
    return entry


def remove_entry(address: str, why: str) -> bool:
    """Take an address off the list; audit-logged with the admin's reason."""
    entry = find_entry(address)
    if entry is None:
        return False
    record_audit("suppression.remove", entry, detail={"was": entry.reason, "why": why})
    return lift(address)


def lift_subscriber(subscriber: Subscriber, why: str) -> bool:
    """Lift a subscriber's suppression; a cleaned subscriber is mailable again."""
    entry = find_entry(subscriber.email)
    if entry is None and subscriber.status != SubscriberStatus.CLEANED:
        return False
    detail = {"was": entry.reason if entry else None, "status": subscriber.status, "why": why}
    if entry is not None:
        lift(subscriber.email)
    if subscriber.status == SubscriberStatus.CLEANED:
        # Only a bounce cleans; an unsubscribe or complaint stays withdrawn consent.
        subscriber.status = SubscriberStatus.CONFIRMED
    record_audit("suppression.lift", subscriber, detail=detail)
    db.session.flush()
    return True


def reason_counts() -> list[tuple[str, int]]:
    """How many entries the list holds per reason."""
    return db.session.execute(
        select(Suppression.reason, func.count())
        .group_by(Suppression.reason)
        .order_by(Suppression.reason)
    ).all()


def suppressions_csv() -> Iterator[str]:
    """The list as CSV: hashes and reasons, never an address."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    query = select(Suppression).order_by(Suppression.id).execution_options(yield_per=500)
    for entry in db.session.scalars(query):
        writer.writerow(
            [entry.address_hash, entry.reason, entry.source or "", entry.created_at.isoformat()]
        )
        if buffer.tell() > 65536:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def bounce_history(subscriber_id: int, limit: int = 100) -> list[BounceEvent]:
    """A subscriber's bounce, complaint and unsubscribe-mail records, newest first."""
    return list(
        db.session.scalars(
            select(BounceEvent)
            .filter_by(subscriber_id=subscriber_id)
            .order_by(BounceEvent.id.desc())
            .limit(limit)
        )
    )


def sender_alerts(limit: int = 100) -> list[BounceEvent]:
    """Rejections that are our fault (policy, reputation, authentication), newest first."""
    return list(
        db.session.scalars(
            select(BounceEvent)
            .filter_by(is_sender_fault=True)
            .order_by(BounceEvent.id.desc())
            .limit(limit)
        )
    )


def unproven_reports(limit: int = 100, address: str | None = None) -> list[BounceEvent]:
    """Reports that carried no proof we sent that message to that reader, newest first;
    with `address`, those that named it (matched by its hash: no address is stored)."""
    query = select(BounceEvent).filter_by(action=BounceAction.UNPROVEN)
    if address is not None:
        query = query.filter_by(recipient_hash=hash_address(address))
    return list(db.session.scalars(query.order_by(BounceEvent.id.desc()).limit(limit)))


def export_bounces(subscriber: Subscriber) -> list[dict]:
    """Subject access: the subscriber's bounce records, oldest first."""
    return [
        {
            "at": event.created_at.isoformat(),
            "kind": event.kind,
            "status": event.status,
            "diagnostic": event.diagnostic,
            "feedback_type": event.feedback_type,
            "source": event.source,
            "action": event.action,
        }
        for event in reversed(bounce_history(subscriber.id, limit=10_000))
    ]
