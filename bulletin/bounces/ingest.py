"""The bounce policy: apply a classification to the database, once per inbound message.

Every way in (SMTP, mbox/Maildir/IMAP, webhooks) ends here. Each verb flushes; the caller
commits, so the ledger row, the event and the subscriber change land together or not at all.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import Message
from email.parser import BytesHeaderParser

from flask import current_app
from sqlalchemy import and_, func, not_, select
from sqlalchemy.exc import IntegrityError

from bulletin.bounces.classify import Classification, classify_message
from bulletin.bounces.classify.envelope import TOKEN_RE, envelope_tokens
from bulletin.bounces.targets import Target, find_target, from_unsubscribe_token
from bulletin.core.subscribers import unsubscribe
from bulletin.core.suppressions import Report, bounce_event, complaint, hard_bounce
from bulletin.extensions import db
from bulletin.models import (
    BounceAction,
    BounceEvent,
    Delivery,
    DeliveryStatus,
    InboundMessage,
    utcnow,
)

log = logging.getLogger(__name__)

#: Feedback types that are not a reader asking to stop: not-spam is a retraction, and an
#: auth-failure report (RFC 6591) is about our signatures.
NOT_A_COMPLAINT = {"not-spam"}
SENDER_FEEDBACK = {"auth-failure", "dkim", "spf"}


@dataclass(frozen=True)
class Policy:
    """How many soft bounces, within how long, clean an address."""

    soft_limit: int = 3
    soft_window: timedelta = timedelta(days=30)

    @classmethod
    def from_config(cls, config) -> Policy:
        """Read BOUNCE_SOFT_LIMIT and BOUNCE_SOFT_WINDOW_DAYS."""
        return cls(
            int(config["BOUNCE_SOFT_LIMIT"]), timedelta(days=int(config["BOUNCE_SOFT_WINDOW_DAYS"]))
        )


def message_key(raw: bytes) -> str:
    """Ledger key of a message: its Message-ID and a digest of its content (line ends aside)."""
    content = raw.replace(b"\r\n", b"\n")
    message_id = _headers(raw).get("Message-ID", "") or ""
    digest = hashlib.sha256(content).hexdigest()
    return hashlib.sha256(f"{message_id.strip()}\0{digest}".encode()).hexdigest()


def notification_key(provider: str, notification_id: str) -> str:
    """Ledger key of a webhook notification (SNS MessageId, Postmark record id)."""
    return hashlib.sha256(f"{provider}\0{notification_id}".encode()).hexdigest()


def claim_once(key: str, source: str) -> InboundMessage | None:
    """Insert the ledger row, or None when this message was already processed.

    Call it first in a fresh transaction: a concurrent duplicate rolls the whole one back
    (no savepoint: pysqlite commits on releasing an outermost SAVEPOINT).
    """
    if db.session.scalar(select(InboundMessage.id).filter_by(key=key)) is not None:
        return None
    row = InboundMessage(key=key, source=source)
    db.session.add(row)
    try:
        db.session.flush()
    except IntegrityError:  # a concurrent process took it first
        db.session.rollback()
        return None
    return row


def ingest_raw(
    raw: bytes,
    *,
    source: str,
    recipients: Iterable[str] = (),
    classification: Classification | None = None,
) -> BounceEvent | None:
    """Process one inbound mail once; None when it was already processed.

    Doors that take mail from strangers pass the classification made beforehand by
    pool.classify_isolated (out of process, time-limited, and before any row is locked).
    """
    ledger = claim_once(message_key(raw), source)
    if ledger is None:
        return None
    token = mailto_token(raw, recipients)
    if token is not None:
        event = apply_mailto(token, source=source)
    else:
        event = apply_classification(classification or classify_message(raw), source=source)
    ledger.bounce_event_id = event.id
    db.session.flush()
    return event


def mailto_token(raw: bytes, recipients: Iterable[str] = ()) -> str | None:
    """The token of unsubscribe+TOKEN@BOUNCE_DOMAIN in the envelope or the top-level headers."""
    domain = (current_app.config.get("BOUNCE_DOMAIN") or "").lower()
    for address in recipients:
        match = TOKEN_RE.search(address + " ")
        if match and match.group(1).lower() == "unsubscribe" and _at(address, domain):
            return match.group(2)
    for kind, token in envelope_tokens(_headers(raw), None, []):
        if kind == "unsubscribe":
            return token
    return None


def apply_mailto(token: str, *, source: str) -> BounceEvent:
    """Mail to the List-Unsubscribe mailto: unsubscribes the subscriber its token names."""
    target = from_unsubscribe_token(token)
    if target is None or target.subscriber is None:
        log.info("mailto unsubscribe with an invalid or spent token (%s)", source)
        action = BounceAction.UNPROVEN if target is None else BounceAction.UNMATCHED
        return _event("unsubscribe", Target(), source, action)
    changed = unsubscribe(target.subscriber, source="mailto")
    action = BounceAction.UNSUBSCRIBED if changed else BounceAction.NONE
    return _event("unsubscribe", target, source, action)


def apply_classification(
    result: Classification, *, source: str, policy: Policy | None = None, vouched: bool = False
) -> BounceEvent:
    """Decide what a classified report means for its subscriber, do it and record it.

    Only a report that proves we sent that message to that reader changes the reader
    (targets.find_target); `vouched` is for authenticated provider webhooks."""
    policy = policy or Policy.from_config(current_app.config)
    target = find_target(result, vouched=vouched)
    if result.is_sender_fault or result.feedback_type in SENDER_FEEDBACK:
        return _alert(result, target, source)  # changes no reader, proof or not
    if target.email is None and _would_act(result):
        return _unmatched(result, target, source)
    if result.kind == "hard":
        return hard_bounce(_report(target, source, result))
    if result.kind == "soft":
        return _soft(result, target, source, policy)
    if result.kind == "complaint" and result.feedback_type not in NOT_A_COMPLAINT:
        return complaint(_report(target, source, result))
    action = BounceAction.RESET if result.kind == "delivered" else BounceAction.NONE
    return _event(result.kind, target, source, action, result)


def _would_act(result: Classification) -> bool:
    """Whether the report, once matched, changes a reader or their soft-bounce count."""
    if result.kind == "complaint":
        return result.feedback_type not in NOT_A_COMPLAINT
    return result.kind in ("hard", "soft", "delivered")


def _unmatched(result: Classification, target: Target, source: str) -> BounceEvent:
    if target.how != "none":  # our signature verified, but its delivery or reader is gone
        return _event(result.kind, target, source, BounceAction.UNMATCHED, result)
    log.info(
        "a %s report via %s carries no proof that we sent that message to that reader: "
        "recorded, nobody changed",
        result.kind,
        source,
    )
    return _event(result.kind, target, source, BounceAction.UNPROVEN, result)


def _alert(result: Classification, target: Target, source: str) -> BounceEvent:
    event = _event(result.kind, target, source, BounceAction.ALERT, result)
    event.is_sender_fault = True
    log.warning(
        "sender-side rejection (%s via %s, status %s): check the sending domain's "
        "reputation and authentication: %s",
        result.kind,
        source,
        result.status,
        event.diagnostic,
    )
    return event


def _soft(result: Classification, target: Target, source: str, policy: Policy) -> BounceEvent:
    event = _event("soft", target, source, BounceAction.COUNTED, result)
    if target.subscriber is None:
        return event
    if soft_count(target.subscriber.id, target.delivery_id, policy) >= policy.soft_limit:
        hard_bounce(_report(target, source, result), event)
    return event


def soft_count(
    subscriber_id: int, delivery_id: int | None, policy: Policy, now: datetime | None = None
) -> int:
    """Soft bounces (one per delivery) in the window and since the last sign of delivery."""
    since = (now or utcnow()) - policy.soft_window
    success = last_success(subscriber_id, delivery_id)
    if success is not None and success > since:
        since = success
    per_delivery = func.coalesce(BounceEvent.delivery_id, -BounceEvent.id)
    return (
        db.session.scalar(
            select(func.count(func.distinct(per_delivery))).where(
                BounceEvent.subscriber_id == subscriber_id,
                BounceEvent.kind == "soft",
                BounceEvent.created_at > since,
            )
        )
        or 0
    )


def last_success(subscriber_id: int, current_delivery: int | None) -> datetime | None:
    """When a message last reached the reader: a delivered report, or a sent unbounced delivery."""
    delivered = db.session.scalar(
        select(func.max(BounceEvent.created_at)).where(
            BounceEvent.subscriber_id == subscriber_id, BounceEvent.kind == "delivered"
        )
    )
    bounced = select(BounceEvent.id).where(
        BounceEvent.delivery_id == Delivery.id, BounceEvent.kind.in_(("hard", "soft"))
    )
    sent = db.session.scalar(
        select(func.max(Delivery.sent_at)).where(
            and_(
                Delivery.subscriber_id == subscriber_id,
                Delivery.status == DeliveryStatus.SENT,
                Delivery.id != (current_delivery or 0),
                not_(bounced.exists()),
            )
        )
    )
    return max((t for t in (delivered, sent) if t is not None), default=None)


def _report(target: Target, source: str, result: Classification | None = None) -> Report:
    """The policy's view of a report: whom it is about (by proof) and what it said."""
    address = target.email or (result.recipient if result else None)
    return Report(
        subscriber=target.subscriber,
        address=address,
        source=source,
        delivery_id=target.delivery_id,
        status=result.status if result else None,
        diagnostic=result.diagnostic if result else None,
        feedback_type=result.feedback_type if result else None,
    )


def _event(
    kind: str, target: Target, source: str, action: str, result: Classification | None = None
) -> BounceEvent:
    return bounce_event(kind, _report(target, source, result), action)


def _at(address: str, domain: str) -> bool:
    return bool(domain) and address.strip().strip("<>").lower().endswith("@" + domain)


def _headers(raw: bytes) -> Message:
    return BytesHeaderParser().parsebytes(raw[:65536])
