"""Verbs of the public door. Each flushes; the caller commits."""

from __future__ import annotations

import json
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import Select, case, delete, insert, literal, select
from sqlalchemy.dialects import postgresql, sqlite

from bulletin.core import consent
from bulletin.core.addresses import address_key
from bulletin.core.suppressions import lift, suppress
from bulletin.extensions import db
from bulletin.mail import outbox
from bulletin.mail.pseudonyms import hash_ip
from bulletin.models import (
    ConsentEvent,
    Delivery,
    Subscriber,
    SubscriberStatus,
    Topic,
    subscriber_topic,
    utcnow,
)


@dataclass(frozen=True)
class Choices:
    """What a person chose on the sign-up or manage form (never their address)."""

    topics: list[str]
    region: str
    language: str
    name: str | None = None

    def as_json(self) -> str:
        return json.dumps(
            {
                "topics": self.topics,
                "region": self.region,
                "language": self.language,
                "name_given": bool(self.name),
            },
            sort_keys=True,
        )

    def columns(self) -> dict[str, str | None]:
        """The subscriber's columns these choices set (topics aside)."""
        return {"region": self.region, "language": self.language, "name": self.name or None}


def find_by_email(email: str) -> Subscriber | None:
    """The subscriber with this address, however it is spelt (core.addresses)."""
    return db.session.scalar(select(Subscriber).filter_by(email_key=address_key(email)))


def find_by_uid(uid: str) -> Subscriber | None:
    """The subscriber a token names, if it still exists (or the one it was merged into)."""
    found = db.session.scalar(select(Subscriber).filter_by(uid=uid))
    if found is None:
        # Tokens in mail sent to a copy that migration 3f6a2d8c1b7e merged away.
        found = db.session.scalar(
            select(Subscriber)
            .join(ConsentEvent, ConsentEvent.subscriber_id == Subscriber.id)
            .where(ConsentEvent.subject_uid == uid, ConsentEvent.kind == "merged")
            .limit(1)
        )
    return found


def record_event(
    subscriber: Subscriber,
    kind: str,
    *,
    source: str,
    ip: str | None = None,
    details: str | None = None,
    wording: bool = False,
) -> ConsentEvent:
    """Append a consent event (the trail is never updated or deleted)."""
    event = ConsentEvent(
        subscriber_id=subscriber.id,
        subject_uid=subscriber.uid,
        language=subscriber.language,
        **_event_fields(kind, source=source, ip=ip, details=details, wording=wording),
    )
    db.session.add(event)
    return event


def _event_fields(
    kind: str, *, source: str, ip: str | None, details: str | None, wording: bool
) -> dict[str, str | None]:
    # What an event records besides whose it is: shared by record_event and _record_signup.
    return {
        "kind": kind,
        "wording_version": consent.VERSION if wording else None,
        "source": source,
        "ip_hash": hash_ip(ip),
        "details": details,
    }


def subscribe(email: str, choices: Choices, *, source: str, ip: str | None) -> None:
    """Record a sign-up and queue the right mail; the page is the same whatever happened.

    The same statements run for a new, pending, confirmed or unsubscribed address, each
    guarded in SQL by the row's status, so that not even the response time tells a stranger
    whether someone is subscribed (SEC-04). A confirmed reader's choices are left alone (they
    change only through the manage link) and get an "already subscribed" mail; anyone else
    becomes pending with these choices, a signup event and a confirmation mail.
    """
    consent.ensure_wording()
    key = address_key(email)
    db.session.execute(_upsert_pending(email, key, choices))
    # After the upsert, every state but confirmed is pending: these rows are the sign-up.
    signing_up = select(Subscriber).where(
        Subscriber.email_key == key, Subscriber.status == SubscriberStatus.PENDING
    )
    _replace_topics(signing_up, choices.topics)
    _record_signup(signing_up, choices, source=source, ip=ip)
    kind = case(
        (Subscriber.status == SubscriberStatus.CONFIRMED, "already-subscribed"), else_="confirm"
    )
    outbox.enqueue_typed_in(
        select(Subscriber).where(Subscriber.email_key == key),
        kind,
        address=email,
        limit=_typed_in_cap(),
    )
    db.session.expire_all()  # the rows changed under any Subscriber the session holds


def _upsert_pending(email: str, key: str, choices: Choices):
    # Insert the address as pending, or make its row (any spelling of the address) pending
    # with these choices unless it is confirmed: one statement either way. A row that is not
    # confirmed takes the spelling typed now: the confirmation mail goes there.
    values = {"status": SubscriberStatus.PENDING.value, **choices.columns(), "updated_at": utcnow()}
    dialect = db.session.get_bind().dialect.name
    upsert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(Subscriber)
    return upsert.values(email=email, email_key=key, **values).on_conflict_do_update(
        index_elements=[Subscriber.email_key],
        set_={"email": email, **values},
        where=Subscriber.status != SubscriberStatus.CONFIRMED,
    )


def _replace_topics(signing_up: Select, slugs: list[str]) -> None:
    # apply_choices' topics, set-based: nothing happens when `signing_up` finds no row.
    links = subscriber_topic.c
    db.session.execute(
        delete(subscriber_topic).where(
            links.subscriber_id.in_(signing_up.with_only_columns(Subscriber.id))
        )
    )
    chosen = signing_up.with_only_columns(Subscriber.id, Topic.id).join(
        Topic, Topic.slug.in_(slugs)
    )
    db.session.execute(
        insert(subscriber_topic).from_select([links.subscriber_id, links.topic_id], chosen)
    )


def _record_signup(signing_up: Select, choices: Choices, *, source: str, ip: str | None) -> None:
    # record_event's signup row, set-based: nothing happens when `signing_up` finds no row.
    fields = _event_fields("signup", source=source, ip=ip, details=choices.as_json(), wording=True)
    columns = {
        "subscriber_id": Subscriber.id,
        "subject_uid": Subscriber.uid,
        "language": Subscriber.language,
        **{
            name: literal(value, ConsentEvent.__table__.c[name].type)
            for name, value in fields.items()
        },
        "created_at": literal(utcnow(), ConsentEvent.created_at.type),
    }
    db.session.execute(
        insert(ConsentEvent).from_select(
            list(columns), signing_up.with_only_columns(*columns.values())
        )
    )


def _typed_in_cap() -> int:
    return current_app.config["CONFIRMATIONS_PER_ADDRESS_PER_DAY"]


def apply_choices(subscriber: Subscriber, choices: Choices) -> None:
    """Set topics, region, language and name from a form."""
    topics = db.session.scalars(select(Topic).where(Topic.slug.in_(choices.topics))).all()
    subscriber.topics = list(topics)
    for column, value in choices.columns().items():
        setattr(subscriber, column, value)


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
    # One statement whether or not the address is a current subscriber (see subscribe).
    confirmed = select(Subscriber).where(
        Subscriber.email_key == address_key(email), Subscriber.status == SubscriberStatus.CONFIRMED
    )
    outbox.enqueue_typed_in(confirmed, "manage-link", address=email, limit=_typed_in_cap())
