"""What is sent to whom, and what happened: the send store. No SMTP in here.

Every function works on the session of the calling thread and commits its own short
transaction, because several sender threads and workers share the tables.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, func, insert, literal, not_, or_, select, update

from bulletin.core.addresses import address_key
from bulletin.mail.pseudonyms import key_hasher

from bulletin.extensions import db
from bulletin.models import (
    Delivery,
    DeliveryStatus,
    Issue,
    Send,
    SendStatus,
    Subscriber,
    SubscriberStatus,
    Suppression,
    utcnow,
)
from bulletin.core.sends import audience_select, delivery_counts, delivery_language
from bulletin.mail.settings import DeliverySettings

log = logging.getLogger(__name__)


def start_due_sends(settings: DeliverySettings, now: datetime | None = None) -> list[int]:
    """Start the scheduled sends that are due; mark those past the grace period missed."""
    now = now or utcnow()
    started: list[int] = []
    while (send_id := _claim_one_due_send(settings, now)) is not None:
        started.append(send_id)
    return started


def _claim_one_due_send(settings: DeliverySettings, now: datetime) -> int | None:
    # One send per transaction: the row lock (SKIP LOCKED) keeps two workers apart, and
    # materialising inside it means nobody sees a "sending" send without its deliveries.
    due = (select(Send).where(Send.status == SendStatus.SCHEDULED, Send.scheduled_at <= now)
           .order_by(Send.scheduled_at).limit(1).with_for_update(skip_locked=True))
    send = db.session.scalar(due)
    if send is None:
        db.session.commit()
        return None
    if send.scheduled_at < now - timedelta(hours=settings.grace_hours):
        send.status = SendStatus.MISSED
        log.warning("send %s missed its time (%s): an editor must start it", send.id,
                    send.scheduled_at.isoformat())
    else:
        send.status, send.started_at = SendStatus.SENDING, now
        send.recipient_count = materialise(send, now)
        log.info("send %s started: %d recipient(s)", send.id, send.recipient_count)
    db.session.commit()
    return send.id


def materialise(send: Send, now: datetime | None = None) -> int:
    """One INSERT ... SELECT of the send's recipients; re-running it adds nothing."""
    issue = db.session.get(Issue, send.issue_id)
    already = select(Delivery.id).where(Delivery.send_id == send.id,
                                         Delivery.subscriber_id == Subscriber.id)
    due_at = literal(now or utcnow(), Delivery.next_attempt_at.type)
    rows = audience_select(
        send.audience_filter, literal(send.id), Subscriber.id, delivery_language(issue),
        literal(DeliveryStatus.QUEUED.value), literal(0), due_at,
    )
    # A first run (the usual case) skips the anti-join: the send's row lock keeps other
    # workers out and UNIQUE (send_id, subscriber_id) still guards against a double.
    first = db.session.scalar(select(Delivery.id).where(Delivery.send_id == send.id)
                              .limit(1)) is None
    if not first:
        rows = rows.where(~already.exists())
    columns = ["send_id", "subscriber_id", "language", "status", "attempts", "next_attempt_at"]
    inserted = db.session.execute(insert(Delivery).from_select(columns, rows)).rowcount
    if first and inserted >= 0:  # counting a million fresh rows again took a second
        return inserted
    return db.session.scalar(select(func.count()).where(Delivery.send_id == send.id)) or 0


@dataclass(frozen=True)
class Recipient:
    """A claimed delivery with what is needed to personalise and address its message."""

    delivery_id: int
    send_id: int
    language: str
    uid: str
    email: str
    name: str | None


def claim_batch(worker: str, settings: DeliverySettings, limit: int) -> list[Recipient]:
    """Lease up to `limit` due deliveries of running sends; skip those no longer mailable."""
    now = utcnow()
    due = (select(Delivery.id).join(Send, Send.id == Delivery.send_id)
           .where(Send.status == SendStatus.SENDING, or_(
               and_(Delivery.status == DeliveryStatus.QUEUED, Delivery.next_attempt_at <= now),
               and_(Delivery.status == DeliveryStatus.SENDING, Delivery.claimed_until < now)))
           .order_by(Delivery.id).limit(limit).with_for_update(of=Delivery, skip_locked=True))
    claim = (update(Delivery).where(Delivery.id.in_(due.scalar_subquery()))
             .values(status=DeliveryStatus.SENDING, claimed_by=worker,
                     claimed_until=now + timedelta(seconds=settings.lease_seconds))
             .returning(Delivery.id).execution_options(synchronize_session=False))
    ids = list(db.session.scalars(claim))
    db.session.commit()
    if not ids:
        return []
    return _mailable(ids, _load(ids))


def _load(ids: list[int]) -> list[tuple]:
    query = (select(Delivery.id, Delivery.send_id, Delivery.language, Subscriber.uid,
                    Subscriber.email, Subscriber.name, Subscriber.status, Subscriber.email_key)
             .join(Subscriber, Subscriber.id == Delivery.subscriber_id)
             .where(Delivery.id.in_(ids)).order_by(Delivery.id))
    return db.session.execute(query).all()


def _mailable(ids: list[int], rows: list[tuple]) -> list[Recipient]:
    # Send-time check (MBX-05): the status catches unsubscribes and cleaning since the send
    # started; the hashed suppression list catches entries made by other paths (complaints,
    # bounces recorded by hash, erasure of a duplicate, an admin's manual entry). A claimed
    # id with no row lost its subscriber to an erasure as the send started (no FK).
    hash_of = key_hasher()
    hashes = {row.id: hash_of(row.email_key) for row in rows}
    suppressed = set(db.session.scalars(select(Suppression.address_hash).where(
        Suppression.address_hash.in_(set(hashes.values())))))
    keep, skip = [], []
    for row in rows:
        if row.status != SubscriberStatus.CONFIRMED or hashes[row.id] in suppressed:
            skip.append(row.id)
        else:
            keep.append(Recipient(row.id, row.send_id, row.language, row.uid, row.email,
                                  row.name))
    gone = set(ids).difference(row.id for row in rows)
    if gone:
        _finish(sorted(gone), DeliveryStatus.SKIPPED, "subscriber erased before sending")
    if skip:
        _finish(skip, DeliveryStatus.SKIPPED, "unsubscribed or suppressed before sending")
    if gone or skip:
        db.session.commit()
    return keep


def _finish(ids: list[int], status: str, reply: str | None, sent_at: datetime | None = None,
            bump: bool = False) -> None:
    values = dict(status=status, last_reply=reply, claimed_by=None, claimed_until=None)
    if sent_at is not None:
        values["sent_at"] = sent_at
    if bump:
        values["attempts"] = Delivery.attempts + 1
    db.session.execute(update(Delivery).where(Delivery.id.in_(ids)).values(**values)
                       .execution_options(synchronize_session=False))


def release(ids: list[int]) -> None:
    """Hand claimed deliveries back to the queue unsent (the server is down, or we stop)."""
    if ids:
        db.session.execute(update(Delivery).where(
            Delivery.id.in_(ids), Delivery.status == DeliveryStatus.SENDING)
            .values(status=DeliveryStatus.QUEUED, claimed_by=None, claimed_until=None)
            .execution_options(synchronize_session=False))
    db.session.commit()


def finish_sends() -> list[int]:
    """Mark running sends whose deliveries are all final as done; publish their issues."""
    open_rows = select(Delivery.id).where(Delivery.send_id == Send.id,
                                          Delivery.status.in_(("queued", "sending")))
    ids = list(db.session.scalars(select(Send.id).where(
        Send.status.in_((SendStatus.SENDING, SendStatus.PAUSED)), not_(open_rows.exists()))))
    for send_id in ids:
        _close_send(db.session.get(Send, send_id))
    db.session.commit()
    return ids


def _close_send(send: Send) -> None:
    counts = delivery_counts(send.id)
    send.sent_count = counts.get(DeliveryStatus.SENT, 0)
    send.failed_count = counts.get(DeliveryStatus.FAILED, 0)
    send.skipped_count = counts.get(DeliveryStatus.SKIPPED, 0)
    send.status, send.finished_at = SendStatus.DONE, utcnow()
    if send.issue.published_at is None:
        send.issue.published_at = send.finished_at
    log.info("send %s done: %d sent, %d failed, %d skipped", send.id, send.sent_count,
             send.failed_count, send.skipped_count)


def sent_in_last_hour() -> int:
    """Bulk messages sent by every worker in the last hour (for SEND_RATE_PER_HOUR)."""
    since = utcnow() - timedelta(hours=1)
    return db.session.scalar(select(func.count()).where(Delivery.sent_at >= since)) or 0


@dataclass(frozen=True)
class Outcome:
    """What the server said about one delivery (connection failures are never outcomes)."""

    delivery_id: int
    email: str
    ok: bool
    code: int | None = None
    reply: str = ""
    enhanced_status: str | None = None


def record_results(outcomes: list[Outcome], settings: DeliverySettings) -> None:
    """Record a batch: one UPDATE for the sent ones, retries and failures row by row."""
    now = utcnow()
    sent = [o.delivery_id for o in outcomes if o.ok]
    if sent:
        _finish(sent, DeliveryStatus.SENT, None, sent_at=now, bump=True)
    others = [o for o in outcomes if not o.ok]
    if others:
        attempts = dict(db.session.execute(select(Delivery.id, Delivery.attempts).where(
            Delivery.id.in_([o.delivery_id for o in others]))).all())
        for outcome in others:
            _record_refusal(outcome, attempts.get(outcome.delivery_id, 0) + 1, settings, now)
    db.session.commit()


def _record_refusal(outcome: Outcome, attempts: int, settings: DeliverySettings,
                    now: datetime) -> None:
    reply = f"{outcome.code or ''} {outcome.reply}".strip()[:500]
    permanent = outcome.code is not None and outcome.code >= 500
    if not permanent and attempts < settings.max_attempts:
        delay = min(settings.retry_seconds * 2 ** (attempts - 1), 3600.0)
        values = dict(status=DeliveryStatus.QUEUED, next_attempt_at=now + timedelta(seconds=delay))
    else:
        values = dict(status=DeliveryStatus.FAILED)
    db.session.execute(update(Delivery).where(Delivery.id == outcome.delivery_id).values(
        attempts=attempts, last_reply=reply, claimed_by=None, claimed_until=None, **values)
        .execution_options(synchronize_session=False))
    if permanent and (outcome.enhanced_status or "").startswith("5.1."):
        _clean(outcome.email, reply)


def _clean(email: str, reply: str) -> None:
    # 5.1.x: the mailbox does not exist. Other 5xx (policy, 5.7.x) are not the reader's
    # fault (BNC-05) and leave the subscriber alone.
    from bulletin.suppressions import suppress

    suppress(email, "bounced", source="smtp", note=reply[:200])
    db.session.execute(update(Subscriber).where(
        Subscriber.email_key == address_key(email), Subscriber.status == SubscriberStatus.CONFIRMED)
        .values(status=SubscriberStatus.CLEANED, updated_at=utcnow())
        .execution_options(synchronize_session=False))
