"""Enqueue a transactional mail in the caller's transaction; the worker delivers it."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from .extensions import db
from .models import OutboxMessage, Subscriber, utcnow
from .pseudonyms import hash_address

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


def typed_in_mails_last_day(address: str) -> int:
    """How many form-triggered mails this address was sent (or queued) in 24 hours."""
    since = utcnow() - timedelta(hours=24)
    query = select(func.count(OutboxMessage.id)).where(
        OutboxMessage.recipient_hash == hash_address(address),
        OutboxMessage.kind.in_(TYPED_IN_KINDS),
        OutboxMessage.created_at >= since,
    )
    return db.session.scalar(query) or 0
