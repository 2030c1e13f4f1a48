"""The suppression list, and the one policy for hard bounces and complaints.

Every door that learns an address bounced for good or complained (the sender's own SMTP
replies, the bounce ingester, the provider webhooks) calls `hard_bounce` or `complaint`
here, so the rule lives once: a hard bounce cleans a pending or confirmed reader and
suppresses the address; a complaint unsubscribes the reader and suppresses the address;
both always leave a BounceEvent. The caller commits.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import select

from bulletin.core import webhooks
from bulletin.core.redaction import redact
from bulletin.extensions import db
from bulletin.mail.pseudonyms import hash_address
from bulletin.models import (
    BounceAction,
    BounceEvent,
    Subscriber,
    SubscriberStatus,
    Suppression,
    SuppressionReason,
)


def is_suppressed(address: str) -> bool:
    """Whether mail to this address is forbidden."""
    digest = hash_address(address)
    return db.session.scalar(select(Suppression.id).filter_by(address_hash=digest)) is not None


def suppress(address: str, reason: str, *, source: str, note: str | None = None) -> Suppression:
    """Add the address (hashed) to the list, or update the reason of its entry."""
    return suppress_hash(hash_address(address), reason, source=source, note=note)


def suppress_hash(digest: str, reason: str, *, source: str, note: str | None = None) -> Suppression:
    """Add an already-hashed address to the list (idempotent; the newest reason wins)."""
    entry = db.session.scalar(select(Suppression).filter_by(address_hash=digest))
    if entry is None:
        entry = Suppression(address_hash=digest, reason=reason, source=source, note=note)
        db.session.add(entry)
    else:
        entry.reason, entry.source, entry.note = reason, source, note
    db.session.flush()
    return entry


def lift(address: str) -> bool:
    """Remove the address from the list; True when there was an entry."""
    entry = db.session.scalar(select(Suppression).filter_by(address_hash=hash_address(address)))
    if entry is None:
        return False
    db.session.delete(entry)
    db.session.flush()
    return True


@dataclass(frozen=True)
class Report:
    """Whom a bounce or complaint is about, and what the remote side said."""

    subscriber: Subscriber | None
    address: str | None  #: the address to act on (the subscriber's, or a typed-in one)
    source: str  #: smtp / mbox / maildir / imap / ses / postmark ...
    delivery_id: int | None = None
    status: str | None = None  #: enhanced status code, e.g. 5.1.1
    diagnostic: str | None = None  #: the remote server's words; stored with addresses masked
    feedback_type: str | None = None


def bounce_event(kind: str, report: Report, action: str) -> BounceEvent:
    """Append the record of one decision (no address in it: only its hash)."""
    subscriber = report.subscriber
    event = BounceEvent(
        subscriber_id=subscriber.id if subscriber is not None else None,
        delivery_id=report.delivery_id,
        kind=kind,
        source=report.source,
        action=action,
        status=report.status,
        diagnostic=redact(report.diagnostic)[:1000] if report.diagnostic else None,
        feedback_type=report.feedback_type,
        recipient_hash=hash_address(report.address) if report.address else None,
    )
    db.session.add(event)
    db.session.flush()
    return event


def is_hard_bounce(code: int | None, enhanced_status: str | None) -> bool:
    """Whether an SMTP refusal says the mailbox does not exist (5xx with 5.1.x).

    Other 5xx (policy, 5.7.x) are not the reader's fault (BNC-05) and leave them alone."""
    return code is not None and code >= 500 and (enhanced_status or "").startswith("5.1.")


def hard_bounce(report: Report, event: BounceEvent | None = None) -> BounceEvent:
    """The hard-bounce policy: clean a pending or confirmed reader, suppress the address.

    `event` is the record to complete (a soft bounce that reached the limit); without it a
    new `hard` event is recorded."""
    event = event or bounce_event("hard", report, BounceAction.CLEANED)
    subscriber = report.subscriber
    if subscriber is not None and subscriber.status in (
        SubscriberStatus.CONFIRMED,
        SubscriberStatus.PENDING,
    ):
        subscriber.status = SubscriberStatus.CLEANED
        event.action = BounceAction.CLEANED
        webhooks.emit(
            "subscriber.cleaned", webhooks.subscriber_data(subscriber), subscriber_id=subscriber.id
        )
    else:  # already unsubscribed or cleaned, or an address with no subscriber row
        event.action = BounceAction.SUPPRESSED
    if report.address and not is_suppressed(report.address):
        suppress(
            report.address, SuppressionReason.BOUNCED, source=report.source, note=report.status
        )
    db.session.flush()
    return event


def complaint(report: Report) -> BounceEvent:
    """The complaint policy: unsubscribe the reader (with a consent event) and suppress."""
    # Imported here: core/subscribers suppresses through this module.
    from bulletin.core.subscribers import record_event, unsubscribe

    event = bounce_event("complaint", report, BounceAction.UNSUBSCRIBED)
    subscriber = report.subscriber
    if subscriber is not None:
        unsubscribe(subscriber, source=f"complaint:{report.source}")
        details = json.dumps({"feedback_type": report.feedback_type, "via": report.source})
        record_event(subscriber, "complaint", source=report.source, details=details)
    else:
        event.action = BounceAction.SUPPRESSED
    webhooks.emit(
        "complaint.received",
        {
            # An address with no reader row is not sent: the receiver has nothing to match.
            "subscriber": webhooks.subscriber_data(subscriber) if subscriber else None,
            "feedback_type": report.feedback_type,
            "source": report.source,
        },
        subscriber_id=subscriber.id if subscriber else None,
    )
    if report.address:
        suppress(
            report.address,
            SuppressionReason.COMPLAINT,
            source=report.source,
            note=report.feedback_type,
        )
    db.session.flush()
    return event
