"""Verbs of the public door. Each flushes; the caller commits."""

from __future__ import annotations

import json
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import delete, select

from .. import outbox
from ..extensions import db
from ..models import ConsentEvent, Delivery, Subscriber, SubscriberStatus, Topic, utcnow
from ..pseudonyms import hash_ip
from ..suppressions import lift, suppress
from . import consent


@dataclass(frozen=True)
class Choices:
    """What a person chose on the sign-up or manage form (never their address)."""

    topics: list[str]
    region: str
    language: str
    name: str | None = None

    def as_json(self) -> str:
        return json.dumps(
            {"topics": self.topics, "region": self.region, "language": self.language,
             "name_given": bool(self.name)},
            sort_keys=True,
        )


def find_by_email(email: str) -> Subscriber | None:
    """The subscriber with this normalised address, if any."""
    return db.session.scalar(select(Subscriber).filter_by(email=email))


def find_by_uid(uid: str) -> Subscriber | None:
    """The subscriber a token names, if it still exists."""
    return db.session.scalar(select(Subscriber).filter_by(uid=uid))


def record_event(subscriber: Subscriber, kind: str, *, source: str, ip: str | None = None,
                 details: str | None = None, wording: bool = False) -> ConsentEvent:
    """Append a consent event (the trail is never updated or deleted)."""
    event = ConsentEvent(
        subscriber_id=subscriber.id,
        subject_uid=subscriber.uid,
        kind=kind,
        wording_version=consent.VERSION if wording else None,
        language=subscriber.language,
        source=source,
        ip_hash=hash_ip(ip),
        details=details,
    )
    db.session.add(event)
    return event


def subscribe(email: str, choices: Choices, *, source: str, ip: str | None) -> None:
    """Record a sign-up and queue the right mail; the page is the same whatever happened."""
    consent.ensure_wording()
    subscriber = find_by_email(email)
    if subscriber is not None and subscriber.status == SubscriberStatus.CONFIRMED:
        # Changing a confirmed reader's choices needs their manage link, not a typed address.
        _queue_capped(subscriber, "already-subscribed")
        return
    if subscriber is None:
        subscriber = Subscriber(email=email)
        db.session.add(subscriber)
    subscriber.status = SubscriberStatus.PENDING
    apply_choices(subscriber, choices)
    db.session.flush()
    record_event(subscriber, "signup", source=source, ip=ip, details=choices.as_json(),
                 wording=True)
    _queue_capped(subscriber, "confirm")
    db.session.flush()


def _queue_capped(subscriber: Subscriber, kind: str) -> None:
    limit = current_app.config["CONFIRMATIONS_PER_ADDRESS_PER_DAY"]
    if outbox.typed_in_mails_last_day(subscriber.email) < limit:
        outbox.enqueue(subscriber, kind)


def apply_choices(subscriber: Subscriber, choices: Choices) -> None:
    """Set topics, region, language and name from a form."""
    topics = db.session.scalars(select(Topic).where(Topic.slug.in_(choices.topics))).all()
    subscriber.topics = list(topics)
    subscriber.region = choices.region
    subscriber.language = choices.language
    subscriber.name = choices.name or None


def confirm(subscriber: Subscriber, *, ip: str | None) -> bool:
    """Confirm a pending sign-up; False when there was nothing to confirm (idempotent)."""
    if subscriber.status != SubscriberStatus.PENDING:
        return False
    subscriber.status = SubscriberStatus.CONFIRMED
    subscriber.confirmed_at = utcnow()
    subscriber.unsubscribed_at = None
    # The person proved the address works and asked again: an old suppression no longer holds.
    lift(subscriber.email)
    record_event(subscriber, "confirm", source="web:/confirm", ip=ip, wording=True)
    outbox.enqueue(subscriber, "welcome")
    db.session.flush()
    return True


def update_preferences(subscriber: Subscriber, choices: Choices, *, ip: str | None) -> None:
    """Change topics, region, language or name from the manage page."""
    apply_choices(subscriber, choices)
    record_event(subscriber, "preferences", source="web:/manage", ip=ip, details=choices.as_json())
    db.session.flush()


def unsubscribe(subscriber: Subscriber, *, source: str, ip: str | None = None) -> bool:
    """Stop all bulk mail to this subscriber at once; False if already unsubscribed."""
    if subscriber.status in (SubscriberStatus.UNSUBSCRIBED, SubscriberStatus.CLEANED):
        return False
    subscriber.status = SubscriberStatus.UNSUBSCRIBED
    subscriber.unsubscribed_at = utcnow()
    record_event(subscriber, "unsubscribe", source=source, ip=ip)
    suppress(subscriber.email, "unsubscribed", source=source)
    db.session.flush()
    return True


def erase(subscriber: Subscriber, *, source: str, ip: str | None = None) -> None:
    """Delete the person's data; only a hashed suppression entry and address-free trail stay."""
    suppress(subscriber.email, "erased", source=source)
    record_event(subscriber, "erasure", source=source, ip=ip)
    db.session.flush()
    db.session.execute(delete(Delivery).where(Delivery.subscriber_id == subscriber.id))
    db.session.delete(subscriber)
    db.session.flush()


def request_manage_link(email: str) -> None:
    """Mail a fresh manage link to a current subscriber; silently nothing otherwise."""
    subscriber = find_by_email(email)
    if subscriber is not None and subscriber.status == SubscriberStatus.CONFIRMED:
        _queue_capped(subscriber, "manage-link")
        db.session.flush()
