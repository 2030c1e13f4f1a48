"""Storage limitation: what is kept, for how long, and the purge that enforces it."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import delete, func, insert, select, update

from bulletin.core import webhooks
from bulletin.core.sends import delivery_counts
from bulletin.extensions import db
from bulletin.models import (
    BounceAction,
    BounceEvent,
    ConsentEvent,
    Delivery,
    DeliveryStatus,
    InboundMessage,
    OutboxMessage,
    OutboxStatus,
    Send,
    SendStatus,
    Subscriber,
    SubscriberStatus,
    Suppression,
    SuppressionReason,
    subscriber_topic,
    utcnow,
)

BATCH = 500
#: Outbox rows that will never be sent again.
FINISHED_OUTBOX = (OutboxStatus.SENT, OutboxStatus.FAILED, OutboxStatus.SKIPPED)
#: Sends whose deliveries no longer change.
FINISHED_SENDS = (SendStatus.DONE, SendStatus.CANCELLED, SendStatus.MISSED)


@dataclass(frozen=True)
class Policy:
    """How many days each kind of record is kept."""

    pending_days: int
    delivery_days: int
    unproven_days: int = 30

    @classmethod
    def from_config(cls, config) -> Policy:
        """The policy set by PENDING_, DELIVERY_ and UNPROVEN_REPORT_RETENTION_DAYS."""
        return cls(
            int(config["PENDING_RETENTION_DAYS"]),
            int(config["DELIVERY_RETENTION_DAYS"]),
            int(config["UNPROVEN_REPORT_RETENTION_DAYS"]),
        )


@dataclass
class PurgeReport:
    """What a purge removed (or, in a dry run, would remove)."""

    pending_subscribers: int = 0
    deliveries: int = 0
    sends_reduced: int = 0
    outbox_messages: int = 0
    erased_leftovers: int = 0
    unproven_reports: int = 0
    webhook_deliveries: int = 0
    dry_run: bool = False
    cutoffs: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict:
        """Plain data for logs, the audit log and the command's output."""
        return asdict(self)


def purge(policy: Policy, *, now: datetime | None = None, dry_run: bool = False) -> PurgeReport:
    """Apply every retention rule; flushes, and the caller commits (or rolls back a dry run)."""
    now = now or utcnow()
    pending_cutoff = now - timedelta(days=policy.pending_days)
    delivery_cutoff = now - timedelta(days=policy.delivery_days)
    unproven_cutoff = now - timedelta(days=policy.unproven_days)
    report = PurgeReport(
        dry_run=dry_run,
        cutoffs={
            "pending": pending_cutoff.isoformat(),
            "delivery": delivery_cutoff.isoformat(),
            "unproven": unproven_cutoff.isoformat(),
        },
    )
    report.pending_subscribers = purge_pending(pending_cutoff, now=now, dry_run=dry_run)
    report.sends_reduced, report.deliveries = reduce_deliveries(delivery_cutoff, dry_run=dry_run)
    report.outbox_messages = purge_outbox(delivery_cutoff, dry_run=dry_run)
    report.erased_leftovers = purge_erased_leftovers(dry_run=dry_run)
    report.unproven_reports = purge_unproven_reports(unproven_cutoff, dry_run=dry_run)
    webhook_cutoff = now - timedelta(days=webhooks.LOG_DAYS)
    report.webhook_deliveries = webhooks.purge_log(webhook_cutoff, dry_run=dry_run)
    return report


def stale_pending_ids(cutoff: datetime) -> list[int]:
    """Pending subscribers who signed up before the cutoff and not again since."""
    recent_signup = (
        select(ConsentEvent.id)
        .where(ConsentEvent.subject_uid == Subscriber.uid, ConsentEvent.created_at >= cutoff)
        .exists()
    )
    query = (
        select(Subscriber.id)
        .where(
            Subscriber.status == SubscriberStatus.PENDING,
            Subscriber.created_at < cutoff,
            ~recent_signup,
        )
        .order_by(Subscriber.id)
    )
    return list(db.session.scalars(query))


def purge_pending(cutoff: datetime, *, now: datetime, dry_run: bool = False) -> int:
    """Erase unconfirmed sign-ups older than the cutoff, with their mail; the trail stays."""
    ids = stale_pending_ids(cutoff)
    if dry_run:
        return len(ids)
    for start in range(0, len(ids), BATCH):
        _erase_pending_batch(ids[start : start + BATCH], now)
    return len(ids)


def _erase_pending_batch(ids: list[int], now: datetime) -> None:
    rows = db.session.execute(
        select(Subscriber.id, Subscriber.uid, Subscriber.language).where(Subscriber.id.in_(ids))
    ).all()
    if not rows:
        return
    db.session.execute(
        insert(ConsentEvent),
        [
            {
                "subscriber_id": None,
                "subject_uid": uid,
                "kind": "erasure",
                "language": language,
                "source": "retention:unconfirmed",
                "created_at": now,
                "details": json.dumps({"reason": "not confirmed in time"}),
            }
            for _id, uid, language in rows
        ],
    )
    db.session.execute(
        update(ConsentEvent).where(ConsentEvent.subscriber_id.in_(ids)).values(subscriber_id=None)
    )
    db.session.execute(delete(OutboxMessage).where(OutboxMessage.subscriber_id.in_(ids)))
    db.session.execute(delete(Delivery).where(Delivery.subscriber_id.in_(ids)))
    db.session.execute(delete(subscriber_topic).where(subscriber_topic.c.subscriber_id.in_(ids)))
    db.session.execute(delete(Subscriber).where(Subscriber.id.in_(ids)))
    db.session.expire_all()


def _finished_sends(cutoff: datetime):
    ended = func.coalesce(Send.finished_at, Send.started_at, Send.scheduled_at, Send.created_at)
    has_rows = select(Delivery.id).where(Delivery.send_id == Send.id).exists()
    return select(Send.id).where(Send.status.in_(FINISHED_SENDS), ended < cutoff, has_rows)


def reduce_deliveries(cutoff: datetime, *, dry_run: bool = False) -> tuple[int, int]:
    """Finished sends older than the cutoff keep their counts and lose their delivery rows.

    Their click counts (click_link) stay too: they are counts per link, with nothing of a
    reader in them, kept as long as the send's own counts, and the /r/ links in old mail
    find their targets there."""
    send_ids = list(db.session.scalars(_finished_sends(cutoff).order_by(Send.id)))
    removed = 0
    for send_id in send_ids:
        counts = delivery_counts(send_id)
        removed += sum(counts.values())
        if dry_run:
            continue
        send = db.session.get(Send, send_id)
        send.recipient_count = max(send.recipient_count, sum(counts.values()))
        send.sent_count = max(send.sent_count, counts.get(DeliveryStatus.SENT, 0))
        send.failed_count = max(send.failed_count, counts.get(DeliveryStatus.FAILED, 0))
        send.skipped_count = max(send.skipped_count, counts.get(DeliveryStatus.SKIPPED, 0))
        db.session.execute(delete(Delivery).where(Delivery.send_id == send_id))
        db.session.flush()
    return len(send_ids), removed


def purge_outbox(cutoff: datetime, *, dry_run: bool = False) -> int:
    """Delete transactional mail that finished (sent, failed, skipped) before the cutoff."""
    where = (OutboxMessage.status.in_(FINISHED_OUTBOX), OutboxMessage.created_at < cutoff)
    if dry_run:
        return db.session.scalar(select(func.count(OutboxMessage.id)).where(*where)) or 0
    return db.session.execute(delete(OutboxMessage).where(*where)).rowcount or 0


def purge_erased_leftovers(*, dry_run: bool = False) -> int:
    """Typed-in mail (e.g. a test send) still addressed to an erased person goes too."""
    erased = select(Suppression.address_hash).where(Suppression.reason == SuppressionReason.ERASED)
    where = (
        OutboxMessage.recipient_hash.in_(erased),
        OutboxMessage.subscriber_id.is_(None),
        OutboxMessage.status != OutboxStatus.PENDING,
    )
    if dry_run:
        return db.session.scalar(select(func.count(OutboxMessage.id)).where(*where)) or 0
    return db.session.execute(delete(OutboxMessage).where(*where)).rowcount or 0


def purge_unproven_reports(cutoff: datetime, *, dry_run: bool = False) -> int:
    """Reports that proved nothing (anyone can send them) go after the cutoff, ledger rows too.

    They changed nobody and are kept only so admins can see forgery attempts; without a limit
    a stranger could grow the table for ever.
    """
    old = select(BounceEvent.id).where(
        BounceEvent.action == BounceAction.UNPROVEN, BounceEvent.created_at < cutoff
    )
    if dry_run:
        return db.session.scalar(select(func.count()).select_from(old.subquery())) or 0
    db.session.execute(delete(InboundMessage).where(InboundMessage.bounce_event_id.in_(old)))
    return db.session.execute(delete(BounceEvent).where(BounceEvent.id.in_(old))).rowcount or 0
