"""Whom an inbound report is about: VERP token first, then our Message-ID, then the address."""

from __future__ import annotations

import re
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import func, select

from .. import tokens
from ..delivery.settings import default_list_id
from ..extensions import db
from ..mime import domain_of
from ..models import Delivery, OutboxMessage, Subscriber
from ..subscriptions.operations import find_by_uid
from .classify import Classification

#: Bulk Message-IDs are <SEND.DELIVERY.NONCE@mail-domain> (bulletin/delivery/bulk.py).
BULK_MESSAGE_ID = re.compile(r"^<(\d+)\.(\d+)\.[^@<>\s]+@([^<>\s]+)>$")


@dataclass(frozen=True)
class Target:
    """The subscriber (and delivery) a report names, or a bare address we mailed."""

    subscriber: Subscriber | None = None
    delivery_id: int | None = None
    #: A typed-in address (an editor's test send) named by an outbox token.
    address: str | None = None
    how: str = "none"  #: token / message-id / address / none

    @property
    def email(self) -> str | None:
        """The address to act on."""
        return self.subscriber.email if self.subscriber is not None else self.address


def mail_domain() -> str:
    """The domain of MAIL_FROM: our Message-IDs end with it."""
    return domain_of(current_app.config["MAIL_FROM"]).lower()


def list_id() -> str:
    """Our List-Id identifier (LIST_ID, else bulletin.<domain>)."""
    return default_list_id(current_app.config).lower()


def find_target(result: Classification) -> Target:
    """Resolve a classification to a subscriber: token, Message-ID, then recipient address."""
    for kind, token in result.envelope_tokens:
        target = from_bounce_token(token) if kind == "bounces" else from_unsubscribe_token(token)
        if target is not None:
            return target
    target = from_message_id(result.original_message_id)
    if target is not None:
        return target
    if result.original_list_id and result.original_list_id.lower() != list_id():
        return Target()  # a report about some other list's mail, not ours
    subscriber = find_by_address(result.recipient)
    return Target(subscriber, how="address") if subscriber is not None else Target()


def from_bounce_token(token: str) -> Target | None:
    """The delivery ("d<id>") or outbox message ("o<id>") a VERP token names."""
    try:
        ref = tokens.read_bounce_token(token)
    except tokens.BadToken:
        return None
    kind, number = ref[:1], ref[1:]
    if not number.isdigit():
        return None
    if kind == "d":
        delivery = db.session.get(Delivery, int(number))
        if delivery is not None:
            return Target(db.session.get(Subscriber, delivery.subscriber_id), delivery.id,
                          how="token")
    if kind == "o":
        row = db.session.get(OutboxMessage, int(number))
        if row is not None and (row.subscriber is not None or row.to_address):
            return Target(row.subscriber, None, None if row.subscriber else row.to_address,
                          how="token")
    return None


def from_unsubscribe_token(token: str) -> Target | None:
    """The subscriber named by the token of an unsubscribe+TOKEN@ (mailto) address."""
    try:
        uid = tokens.read_mailto_token(token)
    except tokens.BadToken:
        return None
    subscriber = find_by_uid(uid)
    return Target(subscriber, how="token") if subscriber is not None else None


def from_message_id(message_id: str | None) -> Target | None:
    """The delivery named by one of our bulk Message-IDs."""
    match = BULK_MESSAGE_ID.match((message_id or "").strip())
    if match is None or match.group(3).lower() != mail_domain():
        return None
    delivery = db.session.get(Delivery, int(match.group(2)))
    if delivery is None or delivery.send_id != int(match.group(1)):
        return None
    return Target(db.session.get(Subscriber, delivery.subscriber_id), delivery.id,
                  how="message-id")


def find_by_address(address: str | None) -> Subscriber | None:
    """The subscriber with this address (exact, then ignoring case)."""
    if not address or "@" not in address:
        return None
    exact = db.session.scalar(select(Subscriber).filter_by(email=address))
    if exact is not None:
        return exact
    matches = db.session.scalars(select(Subscriber).where(
        func.lower(Subscriber.email) == address.lower()).limit(2)).all()
    return matches[0] if len(matches) == 1 else None
