"""Enqueue a transactional mail in the caller's transaction; the worker delivers it."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import ColumnElement, Integer, Select, String, func, insert, literal, select

from bulletin.extensions import db
from bulletin.mail.pseudonyms import hash_address
from bulletin.models import OutboxMessage, OutboxStatus, Subscriber, utcnow

#: Mails sent to an address because someone typed it into a form: capped per address.
TYPED_IN_KINDS = ("confirm", "already-subscribed", "manage-link")


def enqueue(subscriber: Subscriber, kind: str) -> OutboxMessage:
    """Queue a transactional mail to a subscriber, in their language."""
    message = OutboxMessage(
        kind=kind,
        subscriber=subscriber,
        recipient_hash=hash_address(subscriber.email),
        language=subscriber.language,
    )
    db.session.add(message)
    return message


def enqueue_raw(to_address: str, message: bytes, *, kind: str = "test") -> OutboxMessage:
    """Queue a pre-rendered message to a typed-in address (an editor's test send)."""
    row = OutboxMessage(
        kind=kind,
        to_address=to_address,
        message=message,
        recipient_hash=hash_address(to_address),
    )
    db.session.add(row)
    return row


def enqueue_typed_in(
    recipients: Select, kind: str | ColumnElement[str], *, address: str, limit: int
) -> None:
    """Queue a form-triggered mail to the subscriber `recipients` selects, unless `address`
    already had `limit` of them in 24 hours.

    One INSERT ... SELECT whether a row goes in or not: the database decides, so the time the
    request takes does not tell whether the address is subscribed or over its cap (SEC-04).
    """
    hashed = hash_address(address)
    now = utcnow()
    sent_lately = select(func.count(OutboxMessage.id)).where(
        OutboxMessage.recipient_hash == hashed,
        OutboxMessage.kind.in_(TYPED_IN_KINDS),
        OutboxMessage.created_at >= now - timedelta(hours=24),
    )
    columns = {
        "kind": literal(kind, String) if isinstance(kind, str) else kind,
        "subscriber_id": Subscriber.id,
        "recipient_hash": literal(hashed, String),
        "language": Subscriber.language,
        "status": literal(OutboxStatus.PENDING.value, String),
        "attempts": literal(0, Integer),
        "next_attempt_at": literal(now, OutboxMessage.next_attempt_at.type),
        "created_at": literal(now, OutboxMessage.created_at.type),
    }
    rows = recipients.with_only_columns(*columns.values()).where(
        sent_lately.scalar_subquery() < limit
    )
    db.session.execute(insert(OutboxMessage).from_select(list(columns), rows))
