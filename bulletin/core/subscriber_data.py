"""Subject access: everything held about one subscriber, as plain JSON-ready data."""

from __future__ import annotations

from sqlalchemy import select

from bulletin.extensions import db
from bulletin.models import OutboxMessage, Subscriber
from bulletin.privacy.exporter import consent_trail


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None


def export_subscriber(subscriber: Subscriber) -> dict:
    """Profile, topics, consent trail and mails: the data a subject access request returns."""
    events = consent_trail(subscriber.uid)
    mails = db.session.scalars(
        select(OutboxMessage).filter_by(subscriber_id=subscriber.id).order_by(OutboxMessage.id)
    )
    data = {
        "profile": {
            "email": subscriber.email,
            "name": subscriber.name,
            "status": subscriber.status,
            "language": subscriber.language,
            "region": subscriber.region,
            "created_at": _iso(subscriber.created_at),
            "confirmed_at": _iso(subscriber.confirmed_at),
            "unsubscribed_at": _iso(subscriber.unsubscribed_at),
        },
        "topics": [t.slug for t in subscriber.topics],
        "consent_events": [
            {"kind": e.kind, "at": _iso(e.created_at), "source": e.source,
             "wording_version": e.wording_version, "language": e.language,
             "details": e.details}
            for e in events
        ],
        "service_emails": [
            {"kind": m.kind, "status": m.status, "created_at": _iso(m.created_at),
             "sent_at": _iso(m.sent_at)}
            for m in mails
        ],
    }
    for extend in _extensions():
        extend(subscriber, data)
    return data


def _extensions():
    """The other parts' records of a subscriber: fn(subscriber, data) -> None each.

    Imported here, not at module level: those modules import the models this one uses."""
    from bulletin.core.bounces import export_bounces
    from bulletin.core.sends import export_deliveries

    return (export_deliveries, export_bounces)
