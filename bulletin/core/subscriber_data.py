"""Subject access, the subscriber's own records: profile, topics, consent trail, service mails.

Each function is one part of the export; bulletin/core/subject_access.py lists them all.
"""

from __future__ import annotations

from sqlalchemy import select

from bulletin.core.consent import consent_trail
from bulletin.extensions import db
from bulletin.models import OutboxMessage, Subscriber


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None


def export_profile(subscriber: Subscriber) -> dict:
    """The subscriber row: address, name, status, language, region and its dates."""
    return {
        "email": subscriber.email,
        "name": subscriber.name,
        "status": subscriber.status,
        "language": subscriber.language,
        "region": subscriber.region,
        "created_at": _iso(subscriber.created_at),
        "confirmed_at": _iso(subscriber.confirmed_at),
        "unsubscribed_at": _iso(subscriber.unsubscribed_at),
    }


def export_topics(subscriber: Subscriber) -> list[str]:
    """The slugs of the topics the subscriber chose."""
    return [t.slug for t in subscriber.topics]


def export_consent_events(subscriber: Subscriber) -> list[dict]:
    """The consent trail, oldest first."""
    return [
        {
            "kind": e.kind,
            "at": _iso(e.created_at),
            "source": e.source,
            "wording_version": e.wording_version,
            "language": e.language,
            "details": e.details,
        }
        for e in consent_trail(subscriber.uid)
    ]


def export_service_emails(subscriber: Subscriber) -> list[dict]:
    """Confirmations, welcomes and other service mails, oldest first."""
    mails = db.session.scalars(
        select(OutboxMessage).filter_by(subscriber_id=subscriber.id).order_by(OutboxMessage.id)
    )
    return [
        {
            "kind": m.kind,
            "status": m.status,
            "created_at": _iso(m.created_at),
            "sent_at": _iso(m.sent_at),
        }
        for m in mails
    ]
