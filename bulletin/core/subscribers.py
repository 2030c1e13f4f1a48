"""Verbs of the public door. Each flushes; the caller commits."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from sqlalchemy import String, bindparam, case, delete, insert, literal, select
from sqlalchemy.dialects import postgresql, sqlite

from bulletin.core import consent, webhooks
from bulletin.core.addresses import address_key
from bulletin.core.suppressions import is_suppressed, lift, suppress
from bulletin.extensions import db
from bulletin.mail import outbox
from bulletin.mail.pseudonyms import hash_ip
from bulletin.models import (
    ConsentEvent,
    Delivery,
    Send,
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
    send_id: int | None = None,
) -> ConsentEvent:
    """Append a consent event (the trail is never updated or deleted)."""
    event = ConsentEvent(
        subscriber_id=subscriber.id,
        subject_uid=subscriber.uid,
        language=subscriber.language,
        send_id=send_id,
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
    statements = _signup_statements(db.session.get_bind().dialect.name)
    now = utcnow()
    params = {
        "s_email": email,
        "s_key": address_key(email),
        "s_now": now,
        **{f"s_{column}": value for column, value in choices.columns().items()},
        "s_slugs": list(choices.topics),
        **{
            f"s_{field}": value
            for field, value in _event_fields(
                "signup", source=source, ip=ip, details=choices.as_json(), wording=True
            ).items()
        },
    }
    for statement in statements[:-1]:
        db.session.execute(statement, params)
    db.session.execute(
        statements[-1], {"s_key": params["s_key"], **outbox.typed_in_params(email, _typed_in_cap())}
    )
    db.session.expire_all()  # the rows changed under any Subscriber the session holds


@functools.cache
def _signup_statements(dialect: str) -> tuple:
    """subscribe's statements, built once per database kind and run with its parameters.

    In order: make the row pending with these choices unless it is confirmed (the upsert),
    replace its topics, record the signup event, and queue the mail. Each later statement
    selects the rows the upsert left pending, so it does nothing for a confirmed address; the
    mail goes either way (confirm or already-subscribed), within the per-address cap.
    """
    table = Subscriber.__table__  # Core statements: the ORM would take parameters for rows
    key = bindparam("s_key", type_=String)
    values = {
        "status": literal(SubscriberStatus.PENDING.value, String),
        **{
            column: bindparam(f"s_{column}", type_=table.c[column].type)
            for column in ("region", "language", "name")
        },
        "updated_at": bindparam("s_now", type_=table.c.updated_at.type),
    }
    email = bindparam("s_email", type_=String)
    # Insert the address as pending, or make its row (any spelling of the address) pending
    # with these choices unless it is confirmed: one statement either way. A row that is not
    # confirmed takes the spelling typed now: the confirmation mail goes there.
    upsert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)
    upsert = upsert.values(email=email, email_key=key, **values).on_conflict_do_update(
        index_elements=[table.c.email_key],
        set_={"email": email, **values},
        where=table.c.status != SubscriberStatus.CONFIRMED.value,
    )
    signing_up = select(Subscriber).where(
        Subscriber.email_key == key, Subscriber.status == SubscriberStatus.PENDING
    )
    links = subscriber_topic.c
    drop_topics = delete(subscriber_topic).where(
        links.subscriber_id.in_(signing_up.with_only_columns(Subscriber.id))
    )
    chosen = signing_up.with_only_columns(Subscriber.id, Topic.id).join(
        Topic, Topic.slug.in_(bindparam("s_slugs", expanding=True))
    )
    add_topics = insert(subscriber_topic).from_select([links.subscriber_id, links.topic_id], chosen)
    # record_event's signup row, set-based: nothing happens when `signing_up` finds no row.
    events = ConsentEvent.__table__
    event_columns = {
        "subscriber_id": Subscriber.id,
        "subject_uid": Subscriber.uid,
        "language": Subscriber.language,
        **{
            name: bindparam(f"s_{name}", type_=events.c[name].type)
            for name in ("kind", "wording_version", "source", "ip_hash", "details")
        },
        "created_at": bindparam("s_now", type_=events.c.created_at.type),
    }
    record = insert(events).from_select(
        list(event_columns), signing_up.with_only_columns(*event_columns.values())
    )
    kind = case(
        (Subscriber.status == SubscriberStatus.CONFIRMED, "already-subscribed"), else_="confirm"
    )
    mail = outbox.typed_in_insert(select(Subscriber).where(Subscriber.email_key == key), kind)
    return upsert, drop_topics, add_topics, record, mail


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
    webhooks.emit(
        "subscriber.confirmed",
        webhooks.subscriber_data(subscriber, choices=True),
        subscriber_id=subscriber.id,
    )
    return True


def update_preferences(
    subscriber: Subscriber, choices: Choices, *, ip: str | None, source: str = "web:/manage"
) -> None:
    """Change topics, region, language or name (the manage page, or the API)."""
    apply_choices(subscriber, choices)
    record_event(subscriber, "preferences", source=source, ip=ip, details=choices.as_json())
    db.session.flush()


@dataclass(frozen=True)
class Evidence:
    """Consent a person gave elsewhere (a paper form, an event): when, where, to which wording."""

    given_at: datetime
    source: str
    wording_version: str


class NotAdded(Exception):
    """add_with_consent refused: `reason` is "exists" or "suppressed"."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def add_with_consent(
    email: str, choices: Choices, evidence: Evidence, *, source: str, ip: str | None = None
) -> Subscriber:
    """Add a confirmed subscriber on consent given elsewhere, recorded in the trail with its
    evidence (kind "consent-evidence"). NotAdded("exists") when the address is already a
    subscriber in any state; NotAdded("suppressed") when it is on the suppression list (it
    unsubscribed, complained, bounced or was erased): such a person signs up again themselves.
    """
    if find_by_email(email) is not None:
        raise NotAdded("exists")
    if is_suppressed(email):
        raise NotAdded("suppressed")
    subscriber = Subscriber(
        email=email,
        status=SubscriberStatus.CONFIRMED,
        confirmed_at=evidence.given_at,
        **choices.columns(),
    )
    db.session.add(subscriber)
    apply_choices(subscriber, choices)
    db.session.flush()
    details = json.loads(choices.as_json())
    details.update(consent_date=evidence.given_at.isoformat(), consent_source=evidence.source)
    event = record_event(
        subscriber,
        "consent-evidence",
        source=source,
        ip=ip,
        details=json.dumps(details, sort_keys=True),
    )
    event.wording_version = evidence.wording_version
    db.session.flush()
    return subscriber


def unsubscribe(
    subscriber: Subscriber, *, source: str, ip: str | None = None, send_id: int | None = None
) -> bool:
    """Stop all bulk mail to this subscriber at once; False if already unsubscribed.

    `send_id`: the send whose unsubscribe link was used (its report counts the event)."""
    if subscriber.status in (SubscriberStatus.UNSUBSCRIBED, SubscriberStatus.CLEANED):
        return False
    subscriber.status = SubscriberStatus.UNSUBSCRIBED
    subscriber.unsubscribed_at = utcnow()
    if send_id is not None and db.session.get(Send, send_id) is None:
        send_id = None  # a signed link of a send since deleted: the unsubscribe still counts
    record_event(subscriber, "unsubscribe", source=source, ip=ip, send_id=send_id)
    suppress(subscriber.email, "unsubscribed", source=source)
    db.session.flush()
    webhooks.emit(
        "subscriber.unsubscribed", webhooks.subscriber_data(subscriber), subscriber_id=subscriber.id
    )
    return True


def erase(subscriber: Subscriber, *, source: str, ip: str | None = None) -> None:
    """Delete the person's data; only a hashed suppression entry and address-free trail stay."""
    suppress(subscriber.email, "erased", source=source)
    record_event(subscriber, "erasure", source=source, ip=ip)
    db.session.flush()
    db.session.execute(delete(Delivery).where(Delivery.subscriber_id == subscriber.id))
    webhooks.forget_subscriber(subscriber.id)
    db.session.delete(subscriber)
    db.session.flush()


def request_manage_link(email: str) -> None:
    """Mail a fresh manage link to a current subscriber; silently nothing otherwise."""
    # One statement whether or not the address is a current subscriber (see subscribe).
    confirmed = select(Subscriber).where(
        Subscriber.email_key == address_key(email), Subscriber.status == SubscriberStatus.CONFIRMED
    )
    outbox.enqueue_typed_in(confirmed, "manage-link", address=email, limit=_typed_in_cap())
