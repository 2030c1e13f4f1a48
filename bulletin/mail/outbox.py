"""Enqueue a transactional mail in the caller's transaction; the worker delivers it."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from flask import current_app
from sqlalchemy import (
    ColumnElement,
    Insert,
    Integer,
    Select,
    String,
    bindparam,
    func,
    insert,
    literal,
    select,
)

from bulletin.extensions import db
from bulletin.mail.messages import MailSettings, build_transactional
from bulletin.mail.pseudonyms import hash_address
from bulletin.mail.rendering import RenderedEmail
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


def enqueue_to_staff(addresses: Iterable[str], rendered: RenderedEmail, *, kind: str) -> int:
    """Queue one rendered mail (admins' alerts, editors' notices) to each address, built by
    the one builder; returns how many."""
    settings = MailSettings.from_config(current_app.config)
    count = 0
    for address in addresses:
        row = enqueue_raw(address, b"", kind=kind)
        db.session.flush()  # the row's id goes into the Message-ID and VERP sender
        row.message = build_transactional(rendered, settings, outbox_id=row.id, to=address).message
        count += 1
    return count


def enqueue_typed_in(
    recipients: Select, kind: str | ColumnElement[str], *, address: str, limit: int
) -> None:
    """Queue a form-triggered mail to the subscriber `recipients` selects, unless `address`
    already had `limit` of them in 24 hours.

    One INSERT ... SELECT whether a row goes in or not: the database decides, so the time the
    request takes does not tell whether the address is subscribed or over its cap (SEC-04).
    """
    db.session.execute(typed_in_insert(recipients, kind), typed_in_params(address, limit))


def typed_in_insert(recipients: Select, kind: str | ColumnElement[str]) -> Insert:
    """enqueue_typed_in's statement, to build once and run with typed_in_params each time
    (`recipients` may hold bound parameters of its own, named apart from these)."""
    now = bindparam("typed_in_now", type_=OutboxMessage.created_at.type)
    hashed = bindparam("typed_in_hash", type_=String)
    sent_lately = select(func.count(OutboxMessage.id)).where(
        OutboxMessage.recipient_hash == hashed,
        OutboxMessage.kind.in_(TYPED_IN_KINDS),
        OutboxMessage.created_at
        >= bindparam("typed_in_since", type_=OutboxMessage.created_at.type),
    )
    columns = {
        "kind": literal(kind, String) if isinstance(kind, str) else kind,
        "subscriber_id": Subscriber.id,
        "recipient_hash": hashed,
        "language": Subscriber.language,
        "status": literal(OutboxStatus.PENDING.value, String),
        "attempts": literal(0, Integer),
        "next_attempt_at": now,
        "created_at": now,
    }
    rows = recipients.with_only_columns(*columns.values()).where(
        sent_lately.scalar_subquery() < bindparam("typed_in_limit", type_=Integer)
    )
    # The table, not the class: an ORM-enabled INSERT would take the parameters for rows.
    return insert(OutboxMessage.__table__).from_select(list(columns), rows)


def typed_in_params(address: str, limit: int) -> dict:
    """The parameters of typed_in_insert for a mail typed in for `address`."""
    now = utcnow()
    return {
        "typed_in_hash": hash_address(address),
        "typed_in_now": now,
        "typed_in_since": now - timedelta(hours=24),
        "typed_in_limit": limit,
    }


def waiting(now=None) -> tuple[int, float]:
    """(how many mails wait to be sent, the oldest one's age in seconds; 0 when none)."""
    count, oldest = db.session.execute(
        select(func.count(), func.min(OutboxMessage.created_at)).where(
            OutboxMessage.status == OutboxStatus.PENDING
        )
    ).one()
    age = max(0.0, ((now or utcnow()) - oldest).total_seconds()) if oldest else 0.0
    return count or 0, age
