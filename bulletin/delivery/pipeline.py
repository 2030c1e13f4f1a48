"""What is sent to whom, and what happened: the send store. No SMTP in here.

Every function works on the session of the calling thread and commits its own short
transaction, because several sender threads and workers share the tables.

A claim is fenced: every later write to a claimed delivery (its result, its hand-back)
says which worker claimed it and which lease it got (`claimed_until`, unique per claim,
so it doubles as the claim's token). A worker that stalled past its lease and answers
late finds no row to change once another worker has claimed it again.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, insert, literal, select, text, update

from bulletin.core import webhooks
from bulletin.core.issues import close_send_archive
from bulletin.core.sends import (
    delivery_counts,
    delivery_language,
    due_sends,
    send_audience_select,
    unsent_status,
)
from bulletin.core.suppressions import Report, hard_bounce, is_hard_bounce
from bulletin.extensions import db
from bulletin.mail.pseudonyms import key_hasher
from bulletin.mail.settings import DeliverySettings
from bulletin.models import (
    Delivery,
    DeliveryStatus,
    Issue,
    Send,
    SendStatus,
    Subscriber,
    SubscriberStatus,
    Suppression,
    Topic,
    subscriber_topic,
    utcnow,
)

log = logging.getLogger(__name__)
#: BounceEvent.source of a refusal our own SMTP relay gave while sending.
SMTP_REPLY = "smtp-reply"


def start_due_sends(settings: DeliverySettings, now: datetime | None = None) -> list[int]:
    """Start the scheduled sends that are due; mark those past the grace period missed."""
    now = now or utcnow()
    started: list[int] = []
    while (send_id := _claim_one_due_send(settings, now)) is not None:
        started.append(send_id)
    if started:
        analyse_deliveries()
    return started


def _claim_one_due_send(settings: DeliverySettings, now: datetime) -> int | None:
    # One send per transaction: the row lock (SKIP LOCKED) keeps two workers apart, and
    # materialising inside it means nobody sees a "sending" send without its deliveries.
    due = (
        select(Send)
        .where(*due_sends(now, require_approval=settings.require_approval))
        .order_by(Send.scheduled_at)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    send = db.session.scalar(due)
    if send is None:
        db.session.commit()
        return None
    if send.scheduled_at < now - timedelta(hours=settings.grace_hours):
        send.status = SendStatus.MISSED
        log.warning(
            "send %s missed its time (%s): an editor must start it",
            send.id,
            send.scheduled_at.isoformat(),
        )
    else:
        send.status, send.started_at = SendStatus.SENDING, now
        send.recipient_count = materialise(send, now)
        webhooks.emit("send.started", webhooks.send_data(send), now=now)
        log.info("send %s started: %d recipient(s)", send.id, send.recipient_count)
    db.session.commit()
    return send.id


def materialise(send: Send, now: datetime | None = None) -> int:
    """One INSERT ... SELECT of the send's recipients; re-running it adds nothing."""
    issue = db.session.get(Issue, send.issue_id)
    already = select(Delivery.id).where(
        Delivery.send_id == send.id, Delivery.subscriber_id == Subscriber.id
    )
    due_at = literal(now or utcnow(), Delivery.next_attempt_at.type)
    rows = send_audience_select(
        send,
        literal(send.id),
        Subscriber.id,
        delivery_language(issue),
        literal(DeliveryStatus.QUEUED.value),
        literal(0),
        due_at,
    )
    # A first run (the usual case) skips the anti-join: the send's row lock keeps other
    # workers out and UNIQUE (send_id, subscriber_id) still guards against a double.
    first = (
        db.session.scalar(select(Delivery.id).where(Delivery.send_id == send.id).limit(1)) is None
    )
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
    claimed_until: datetime  #: the lease this claim got: the token its writes are fenced on
    region: str | None = None  #: for the merge fields, as are the topics
    #: the subscriber's active topics as (English, Welsh) names: a bilingual mail uses both
    topics: tuple[tuple[str, str], ...] = ()


@dataclass
class ClaimCursor:
    """Where one worker's next claim starts in each running send's queue: its key range.

    Claiming from the last id claimed makes a claim read about as many index entries as it
    claims, at the millionth message as at the first; scanning from the start of the queue
    each time read every delivery already sent (dead or not) and grew with the send. What
    goes back to the queue behind the cursor (hand-backs, retries, expired leases) is found
    by a rescan from the start: when a claim finds less than it asked for, and at least
    every RESCAN_SECONDS. Expired leases are recovered by a separate, rarer query.
    """

    after: dict[int, int] = field(default_factory=dict)  #: send id -> last id claimed
    rescan_at: float = 0.0  #: monotonic time of the next rescan from the start
    recover_at: float = 0.0  #: monotonic time of the next recovery of expired leases


#: How often a worker's claim goes back to the start of the queue at the latest.
RESCAN_SECONDS = 30.0


def claim_batch(
    worker: str, settings: DeliverySettings, limit: int, cursor: ClaimCursor | None = None
) -> list[Recipient]:
    """Lease up to `limit` due deliveries of running sends; skip those no longer mailable.

    Without a cursor (tests, one-off calls) it recovers expired leases and scans each
    queue from its start, as a fresh worker does."""
    cursor = cursor or ClaimCursor()
    now, clock = utcnow(), time.monotonic()
    until = now + timedelta(seconds=settings.lease_seconds)
    if clock >= cursor.recover_at:
        cursor.recover_at = clock + max(1.0, settings.lease_seconds / 4)
        if recover_expired(now):
            cursor.after.clear()
        db.session.commit()  # its row locks are not held through the claim
    if clock >= cursor.rescan_at:
        cursor.rescan_at = clock + RESCAN_SECONDS
        cursor.after.clear()
    # The send's state is read once per batch, not joined into the claim.
    running = list(
        db.session.scalars(
            select(Send.id).where(Send.status == SendStatus.SENDING).order_by(Send.id)
        )
    )
    ids: list[int] = []
    for send_id in running:
        if len(ids) >= limit:
            break
        start = cursor.after.get(send_id, 0)
        got = _claim_range(send_id, start, worker, until, now, limit - len(ids))
        if len(ids) + len(got) < limit and start:  # the end of the range: look behind it
            got += _claim_range(send_id, 0, worker, until, now, limit - len(ids) - len(got))
        if got:
            cursor.after[send_id] = max(got)
        ids += got
    for send_id in set(cursor.after).difference(running):
        del cursor.after[send_id]
    db.session.commit()
    if not ids:
        return []
    return _mailable(ids, _load(ids), Lease(worker, until))


def _claim_range(
    send_id: int, after: int, worker: str, until: datetime, now: datetime, limit: int
) -> list[int]:
    # An index-ordered scan of ix_delivery_due from `after` that stops at LIMIT: its cost
    # is the batch plus the rows other workers hold, whatever the size of the queue.
    # From the start, no bound on the id: a scan of the primary key from 0 would read the
    # deliveries of every earlier send.
    due = (
        select(Delivery.id)
        .where(
            Delivery.send_id == send_id,
            Delivery.status == DeliveryStatus.QUEUED,
            Delivery.next_attempt_at <= now,
        )
        .order_by(Delivery.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    if after:
        due = due.where(Delivery.id > after)
    claim = (
        update(Delivery)
        .where(Delivery.id.in_(due.scalar_subquery()))
        .values(status=DeliveryStatus.SENDING, claimed_by=worker, claimed_until=until)
        .returning(Delivery.id)
        .execution_options(synchronize_session=False)
    )
    return list(db.session.scalars(claim))


def recover_expired(now: datetime | None = None) -> int:
    """Put deliveries whose lease ran out (their worker died or stalled) back in the queue
    (those of a cancelled send are cancelled: unsent_status).

    Clearing the claim fences off the worker that held it: its late result or hand-back
    finds no row to change. Returns how many went back (the caller commits)."""
    now = now or utcnow()
    stale = (
        update(Delivery)
        .where(Delivery.status == DeliveryStatus.SENDING, Delivery.claimed_until < now)
        .values(status=unsent_status(), claimed_by=None, claimed_until=None)
        .returning(Delivery.id)
        .execution_options(synchronize_session=False)
    )
    ids = list(db.session.scalars(stale))
    if ids:
        log.warning(
            "%d delivery lease(s) ran out unrecorded: back in the queue (ids %s)",
            len(ids),
            sorted(ids)[:50],
        )
    return len(ids)


def analyse_deliveries() -> None:
    """Refresh the planner's statistics after a send's deliveries are materialised.

    Without it PostgreSQL planned the claim with statistics from before the INSERT (a
    table of a few rows) until autovacuum came round, minutes later."""
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text("ANALYZE delivery"))
        db.session.commit()


def _load(ids: list[int]) -> list[tuple]:
    query = (
        select(
            Delivery.id,
            Delivery.send_id,
            Delivery.language,
            Subscriber.uid,
            Subscriber.email,
            Subscriber.name,
            Subscriber.status,
            Subscriber.email_key,
            Subscriber.region,
            Delivery.subscriber_id,
        )
        .join(Subscriber, Subscriber.id == Delivery.subscriber_id)
        .where(Delivery.id.in_(ids))
        .order_by(Delivery.id)
    )
    return db.session.execute(query).all()


@dataclass(frozen=True)
class Lease:
    """Who holds a claim and until when: what every write to a claimed row is fenced on."""

    worker: str
    until: datetime

    def fence(self, statement):
        """The UPDATE limited to rows this claim still holds."""
        return statement.where(
            Delivery.status == DeliveryStatus.SENDING,
            Delivery.claimed_by == self.worker,
            Delivery.claimed_until == self.until,
        )


def _mailable(ids: list[int], rows: list[tuple], lease: Lease) -> list[Recipient]:
    # Send-time check (MBX-05): the status catches unsubscribes and cleaning since the send
    # started; the hashed suppression list catches entries made by other paths (complaints,
    # bounces recorded by hash, erasure of a duplicate, an admin's manual entry). A claimed
    # id with no row lost its subscriber to an erasure as the send started (no FK).
    hash_of = key_hasher()
    hashes = {row.id: hash_of(row.email_key) for row in rows}
    suppressed = set(
        db.session.scalars(
            select(Suppression.address_hash).where(
                Suppression.address_hash.in_(set(hashes.values()))
            )
        )
    )
    mailable = [
        row
        for row in rows
        if row.status == SubscriberStatus.CONFIRMED and hashes[row.id] not in suppressed
    ]
    skip = sorted({row.id for row in rows}.difference(row.id for row in mailable))
    topics = _topic_names([row.subscriber_id for row in mailable])
    keep = [
        Recipient(
            row.id,
            row.send_id,
            row.language,
            row.uid,
            row.email,
            row.name,
            lease.until,
            row.region,
            tuple(topics.get(row.subscriber_id, ())),
        )
        for row in mailable
    ]
    gone = set(ids).difference(row.id for row in rows)
    if gone:
        _finish(sorted(gone), lease, DeliveryStatus.SKIPPED, "subscriber erased before sending")
    if skip:
        _finish(skip, lease, DeliveryStatus.SKIPPED, "unsubscribed or suppressed before sending")
    if gone or skip:
        db.session.commit()
    return keep


def _topic_names(subscriber_ids: list[int]) -> dict[int, list[tuple[str, str]]]:
    # The merge field "topics": one query per batch, each subscriber's (English, Welsh)
    # names in topic order.
    if not subscriber_ids:
        return {}
    query = (
        select(subscriber_topic.c.subscriber_id, Topic.name_en, Topic.name_cy)
        .join(Topic, Topic.id == subscriber_topic.c.topic_id)
        .where(subscriber_topic.c.subscriber_id.in_(subscriber_ids), Topic.is_active)
        .order_by(subscriber_topic.c.subscriber_id, Topic.position, Topic.id)
    )
    names: dict[int, list[tuple[str, str]]] = {}
    for subscriber_id, english, welsh in db.session.execute(query):
        names.setdefault(subscriber_id, []).append((english, welsh))
    return names


def _finish(
    ids: list[int],
    lease: Lease,
    status: str,
    reply: str | None,
    sent_at: datetime | None = None,
    bump: bool = False,
) -> int:
    values = dict(status=status, last_reply=reply, claimed_by=None, claimed_until=None)
    if sent_at is not None:
        values["sent_at"] = sent_at
    if bump:
        values["attempts"] = Delivery.attempts + 1
    return db.session.execute(
        lease.fence(update(Delivery).where(Delivery.id.in_(ids)))
        .values(**values)
        .execution_options(synchronize_session=False)
    ).rowcount


def release(ids: list[int], lease: Lease, *, commit: bool = True) -> int:
    """Hand claimed deliveries back unsent (the server is down, we stop, or the send was
    paused or cancelled): to the queue, or cancelled with their send (unsent_status); only
    those the lease still holds. Returns how many went back."""
    released = 0
    if ids:
        released = db.session.execute(
            lease.fence(update(Delivery).where(Delivery.id.in_(ids)))
            .values(status=unsent_status(), claimed_by=None, claimed_until=None)
            .execution_options(synchronize_session=False)
        ).rowcount
    if released < len(ids):
        log.warning(
            "%d hand-back(s) by %s not written: the lease passed to another worker",
            len(ids) - released,
            lease.worker,
        )
    if commit:
        db.session.commit()
    return released


def finish_sends() -> list[int]:
    """Mark running sends whose deliveries are all final as done; publish their issues."""
    running = db.session.scalars(
        select(Send.id).where(Send.status.in_((SendStatus.SENDING, SendStatus.PAUSED)))
    )
    ids = [send_id for send_id in running if not _has_open_deliveries(send_id)]
    for send_id in ids:
        _close_send(db.session.get(Send, send_id))
    db.session.commit()
    return ids


def _has_open_deliveries(send_id: int) -> bool:
    # Looked for from the end of the send: the queue is worked in id order, so while it
    # runs an open row is the first one read. EXISTS read forwards, through every delivery
    # already sent (146 ms per tick per worker at the end of a million, unvacuumed).
    last_open = (
        select(Delivery.id)
        .where(Delivery.send_id == send_id, Delivery.status.in_(("queued", "sending")))
        .order_by(Delivery.id.desc())
        .limit(1)
    )
    return db.session.scalar(last_open) is not None


def _close_send(send: Send) -> None:
    counts = delivery_counts(send.id)
    send.sent_count = counts.get(DeliveryStatus.SENT, 0)
    send.failed_count = counts.get(DeliveryStatus.FAILED, 0)
    send.skipped_count = counts.get(DeliveryStatus.SKIPPED, 0)
    send.status, send.finished_at = SendStatus.DONE, utcnow()
    close_send_archive(send.issue, publish=send.publish, finished_at=send.finished_at)
    webhooks.emit("send.finished", webhooks.send_data(send))
    log.info(
        "send %s done: %d sent, %d failed, %d skipped",
        send.id,
        send.sent_count,
        send.failed_count,
        send.skipped_count,
    )


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
    claimed_until: datetime | None = None  #: the lease of the claim it was sent under


def record_results(
    outcomes: list[Outcome], settings: DeliverySettings, worker: str, *, commit: bool = True
) -> int:
    """Record a batch for the claims `worker` still holds: one UPDATE per lease for the sent
    ones, retries and failures row by row. Returns how many were recorded."""
    now = utcnow()
    recorded, short = 0, []
    for until, ids in _by_lease(o for o in outcomes if o.ok).items():
        done = _finish(ids, Lease(worker, until), DeliveryStatus.SENT, None, sent_at=now, bump=True)
        recorded += done
        short += ids if done < len(ids) else []
    others = [o for o in outcomes if not o.ok]
    if others:
        rows = {
            row.id: row
            for row in db.session.execute(
                select(Delivery.id, Delivery.attempts, Delivery.subscriber_id).where(
                    Delivery.id.in_([o.delivery_id for o in others])
                )
            ).all()
        }
        for outcome in others:
            row = rows.get(outcome.delivery_id)
            done = row is not None and _record_refusal(
                outcome, row, Lease(worker, outcome.claimed_until), settings, now
            )
            recorded += done
            short += [] if done else [outcome.delivery_id]
    if recorded < len(outcomes):
        log.warning(
            "%d result(s) not recorded: their lease passed to another worker or the "
            "row is gone (among delivery ids %s)",
            len(outcomes) - recorded,
            short[:50],
        )
    if commit:
        db.session.commit()
    return recorded


def _by_lease(outcomes) -> dict[datetime, list[int]]:
    groups: dict[datetime, list[int]] = {}
    for outcome in outcomes:
        groups.setdefault(outcome.claimed_until, []).append(outcome.delivery_id)
    return groups


def _record_refusal(
    outcome: Outcome, row, lease: Lease, settings: DeliverySettings, now: datetime
) -> int:
    attempts = row.attempts + 1
    reply = f"{outcome.code or ''} {outcome.reply}".strip()[:500]
    permanent = outcome.code is not None and outcome.code >= 500
    if not permanent and attempts < settings.max_attempts:
        delay = min(settings.retry_seconds * 2 ** (attempts - 1), 3600.0)
        values = dict(status=unsent_status(), next_attempt_at=now + timedelta(seconds=delay))
    else:
        values = dict(status=DeliveryStatus.FAILED)
    changed = db.session.execute(
        lease.fence(update(Delivery).where(Delivery.id == outcome.delivery_id))
        .values(attempts=attempts, last_reply=reply, claimed_by=None, claimed_until=None, **values)
        .execution_options(synchronize_session=False)
    ).rowcount
    if changed and is_hard_bounce(outcome.code, outcome.enhanced_status):
        # The one hard-bounce policy (core.suppressions), as for an ingested DSN.
        hard_bounce(
            Report(
                subscriber=db.session.get(Subscriber, row.subscriber_id),
                address=outcome.email,
                source=SMTP_REPLY,
                delivery_id=outcome.delivery_id,
                status=outcome.enhanced_status,
                diagnostic=reply,
            )
        )
    return changed
